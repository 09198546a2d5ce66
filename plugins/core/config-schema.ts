// The one schema of continuum.jsonc. Every key has a default, so an empty file (or none) is a valid config.
// Each feature's section lives in its folder (<feature>/config.ts, zod only); core assembles them here so the JSON
// Schema for editors and the README's config reference still come from one place.
import { z } from "zod";
import { agentsConfigSchema } from "../agents/config.ts";
import { checkpointConfigSchema } from "../checkpoint/config.ts";
import { composeConfigSchema } from "../compose/config.ts";
import { distillConfigSchema } from "../distill/config.ts";
import { dreamConfigSchema } from "../dream/config.ts";
import { goalConfigSchema } from "../goal/config.ts";
import { maxConfigSchema } from "../max/config.ts";
import { memoryConfigSchema } from "../memory/config.ts";
import { subagentsConfigSchema } from "../subagents/config.ts";
import { tasksConfigSchema } from "../tasks/config.ts";
import { workflowConfigSchema } from "../workflow/config.ts";

export const sandboxConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Run helpers' shells and the project's checks in the OS sandbox (bubblewrap on Linux, Seatbelt on macOS). false: helpers in worktrees get no shell.",
      ),
    network: z
      .boolean()
      .default(false)
      .describe("Let sandboxed shells and checks reach the network (package installs, remote services)."),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    enabled: z.boolean().default(true).describe("Master switch for the whole pack."),
    hookTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120000)
      .default(10000)
      .describe("A hook of the pack taking longer is abandoned so the session goes on."),
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
    subagents: subagentsConfigSchema.default(subagentsConfigSchema.parse({})),
    sandbox: sandboxConfigSchema.default(sandboxConfigSchema.parse({})),
  })
  .strict();

export type ContinuumConfig = z.output<typeof configSchema>;
export type FeatureName =
  | "memory"
  | "checkpoint"
  | "tasks"
  | "goal"
  | "max"
  | "dream"
  | "distill"
  | "workflow"
  | "compose"
  | "subagents"
  | "agents";
export const FEATURE_NAMES: readonly FeatureName[] = [
  "memory",
  "checkpoint",
  "tasks",
  "goal",
  "max",
  "dream",
  "distill",
  "workflow",
  "compose",
  "subagents",
];

export const defaultConfig = (): ContinuumConfig => configSchema.parse({});
