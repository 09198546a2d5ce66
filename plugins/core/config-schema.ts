// The one schema of continuum.jsonc. Every key has a default, so an empty file (or none) is a valid config.
// Feature sections live here so the JSON Schema for editors and the README's config reference come from one place.
import { z } from "zod";

const fractionOrTokens = z
  .number()
  .positive()
  .describe("A fraction of the usable context window (0 < x <= 1) or an absolute token count (> 1).");

const modelOverride = z
  .object({
    thresholds: z.array(fractionOrTokens).max(10).optional(),
    rebuildAt: fractionOrTokens.optional(),
    rebuildCapTokens: z.number().int().min(4000).optional(),
  })
  .strict();

export const memoryConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    location: z
      .enum(["data", "repo"])
      .default("data")
      .describe('"data": project memory under the pack data dir; "repo": in .opencode/memory/ so a team shares it through git.'),
    injectBudgetTokens: z.number().int().min(0).max(50000).default(4000).describe("Token budget of the memory block in the system prompt."),
    recallBudgetTokens: z.number().int().min(0).max(10000).default(800).describe("Token budget of per-message recall."),
    sectionBudgetTokens: z.number().int().min(200).max(20000).default(2000).describe("A MEMORY.md section past this moves to memory-<topic>.md."),
    history: z.boolean().default(true).describe("Index every message part of main sessions for word-for-word recall."),
    historyRetentionDays: z.number().int().min(1).max(3650).default(30),
    versionsKept: z.number().int().min(1).max(200).default(20).describe("Previous versions kept per memory file."),
  })
  .strict();

export const checkpointConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    thresholds: z.array(fractionOrTokens).max(10).default([0.2, 0.45, 0.7]),
    rebuildAt: fractionOrTokens.default(0.85),
    rebuildCapTokens: z.number().int().min(4000).default(65000).describe("Hard cap of a rebuilt request, in tokens."),
    minWindowForCheckpoints: z.number().int().min(0).default(25000).describe("Below this window only the rebuild runs."),
    writerTimeoutMs: z.number().int().min(1000).default(180000),
    writerModel: z.string().optional().describe('"provider/model" for the checkpoint writer; default: the session\'s model.'),
    models: z.record(z.string(), modelOverride).default({}).describe('Per-model overrides, keyed "provider/model".'),
    tailMinTokens: z.number().int().min(0).default(10000).describe("A rebuild keeps at least this many tokens of recent messages verbatim (the cap wins)."),
    tailMinTextMessages: z.number().int().min(1).default(5).describe("… and at least this many messages with text."),
    writerWaitMs: z.number().int().min(0).max(30000).default(3000).describe("How long a rebuild waits for a running checkpoint writer before using the older checkpoint."),
  })
  .strict();

export const tasksConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    gate: z.boolean().default(true).describe("Ask the agent to settle open tasks when it stops."),
    maxGatePushes: z.number().int().min(0).max(10).default(3),
  })
  .strict();

export const goalConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    maxContinuations: z.number().int().min(1).max(200).default(12),
    judgeTimeoutMs: z.number().int().min(1000).default(180000),
    judgeModel: z.string().optional().describe('"provider/model" for the goal judge; default: the session\'s model.'),
  })
  .strict();

export const maxConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    candidates: z.number().int().min(2).max(8).default(5),
  })
  .strict();

export const dreamConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
  })
  .strict();

export const agentsConfigSchema = z
  .object({
    maxConcurrent: z.number().int().min(1).max(32).default(4).describe("Most hidden helper agents (writers, judges, …) the pack runs at once in one OpenCode process."),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    enabled: z.boolean().default(true).describe("Master switch for the whole pack."),
    hookTimeoutMs: z.number().int().min(100).max(120000).default(10000).describe("A hook of the pack taking longer is abandoned so the session goes on."),
    agents: agentsConfigSchema.default(agentsConfigSchema.parse({})),
    memory: memoryConfigSchema.default(memoryConfigSchema.parse({})),
    checkpoint: checkpointConfigSchema.default(checkpointConfigSchema.parse({})),
    tasks: tasksConfigSchema.default(tasksConfigSchema.parse({})),
    goal: goalConfigSchema.default(goalConfigSchema.parse({})),
    max: maxConfigSchema.default(maxConfigSchema.parse({})),
    dream: dreamConfigSchema.default(dreamConfigSchema.parse({})),
  })
  .strict();

export type ContinuumConfig = z.output<typeof configSchema>;
export type FeatureName = "memory" | "checkpoint" | "tasks" | "goal" | "max" | "dream" | "agents";
export const FEATURE_NAMES: readonly FeatureName[] = ["memory", "checkpoint", "tasks", "goal", "max", "dream"];

export const defaultConfig = (): ContinuumConfig => configSchema.parse({});
