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
    enabled: z.boolean().default(true).describe("Max Mode acts only on /max and the max agent; false turns both off."),
    mode: z.enum(["plan", "patch"]).default("plan").describe("plan: candidates write plans; patch: candidates build in their own git worktrees."),
    candidates: z.number().int().min(2).max(8).default(5),
    scouts: z.number().int().min(1).max(8).default(2).describe("Candidates started first; when they agree the rest and the judge are skipped."),
    consensus: z.enum(["scouts", "off"]).default("scouts"),
    temperature: z.number().min(0).max(2).default(0.8),
    checks: z.array(z.string().min(1)).max(20).optional().describe("Shell commands run on each patch candidate; default: detected from the project."),
    checkTimeoutMs: z.number().int().min(1000).max(3600000).default(300000),
    candidateTimeoutMs: z.number().int().min(5000).default(600000),
    judgeModel: z.string().optional().describe('"provider/model" for the Max judge; default: the session\'s model.'),
    candidateModel: z.string().optional().describe('"provider/model" for the candidates; default: the session\'s model.'),
  })
  .strict();

export const dreamConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe("/dream on demand; automatic runs only with auto."),
    auto: z.boolean().default(false),
    intervalDays: z.number().int().min(1).max(365).default(7),
    windowDays: z.number().int().min(1).max(365).default(7),
    maxLines: z.number().int().min(20).max(5000).default(200),
    maxBytes: z.number().int().min(1024).max(1048576).default(10240),
    maxDeleteFraction: z.number().min(0).max(1).default(0.3).describe("Most of the existing entries one dream may change: forget, merge (every entry of a merge) or replace."),
    budgetTokens: z.number().int().min(1000).default(200000),
    timeoutMs: z.number().int().min(5000).default(600000),
    model: z.string().optional(),
  })
  .strict();

export const distillConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe("/distill on demand; automatic runs only with auto."),
    auto: z.boolean().default(false),
    intervalDays: z.number().int().min(1).max(365).default(30),
    windowDays: z.number().int().min(1).max(365).default(30),
    minSessions: z.number().int().min(1).max(100).default(2),
    budgetTokens: z.number().int().min(1000).default(200000),
    timeoutMs: z.number().int().min(5000).default(600000),
    model: z.string().optional(),
  })
  .strict();

export const workflowConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    memoryMiB: z.number().int().min(8).max(1024).default(64),
    deadlineMs: z.number().int().min(1000).default(3600000).describe("Wall-clock limit of one workflow run."),
    activeMs: z.number().int().min(100).default(30000).describe("Script CPU time allowed, time waiting on agents not counted."),
    sliceMs: z
      .number()
      .int()
      .min(50)
      .max(60000)
      .default(1000)
      .describe("Longest the script may compute without awaiting: scripts run on OpenCode's own thread, so this is the longest it can hold OpenCode up."),
    maxStackKiB: z.number().int().min(64).max(65536).default(1024),
    agentTimeoutMs: z.number().int().min(1000).default(900000),
  })
  .strict();

export const composeConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    specDir: z.string().min(1).default("docs/compose").describe("Where compose writes specs, relative to the project."),
    reviewRounds: z.number().int().min(0).max(5).default(2),
    checkCommands: z
      .array(z.string().trim().min(1).max(200))
      .max(50)
      .default([])
      .describe("Extra commands that count as the project's checks for the compose agent's verification (a command line starting with one of them), e.g. ./ci.sh."),
  })
  .strict();

export const agentsConfigSchema = z
  .object({
    maxConcurrent: z.number().int().min(1).max(32).default(6).describe("Most hidden helper agents (writers, judges, …) the pack runs at once in one OpenCode process; at least max.candidates + 1, so a Max turn's candidates and its judge need not wait for each other."),
  })
  .strict();

export const sandboxConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Run helpers' shells and the project's checks in the OS sandbox (bubblewrap on Linux, Seatbelt on macOS). false: helpers in worktrees get no shell."),
    network: z.boolean().default(false).describe("Let sandboxed shells and checks reach the network (package installs, remote services)."),
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
    distill: distillConfigSchema.default(distillConfigSchema.parse({})),
    workflow: workflowConfigSchema.default(workflowConfigSchema.parse({})),
    compose: composeConfigSchema.default(composeConfigSchema.parse({})),
    sandbox: sandboxConfigSchema.default(sandboxConfigSchema.parse({})),
  })
  .strict();

export type ContinuumConfig = z.output<typeof configSchema>;
export type FeatureName = "memory" | "checkpoint" | "tasks" | "goal" | "max" | "dream" | "distill" | "workflow" | "compose" | "agents";
export const FEATURE_NAMES: readonly FeatureName[] = ["memory", "checkpoint", "tasks", "goal", "max", "dream", "distill", "workflow", "compose"];

export const defaultConfig = (): ContinuumConfig => configSchema.parse({});
