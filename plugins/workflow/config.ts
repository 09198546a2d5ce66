// The workflow section of continuum.jsonc: the script sandbox limits. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const workflowConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    memoryMiB: z.number().int().min(8).max(1024).default(64),
    deadlineMs: z.number().int().min(1000).default(3600000).describe("Wall-clock limit of one workflow run."),
    activeMs: z
      .number()
      .int()
      .min(100)
      .default(30000)
      .describe("Script CPU time allowed, time waiting on agents not counted."),
    sliceMs: z
      .number()
      .int()
      .min(50)
      .max(60000)
      .default(1000)
      .describe(
        "Longest the script may compute without awaiting: scripts run on OpenCode's own thread, so this is the longest it can hold OpenCode up.",
      ),
    maxStackKiB: z.number().int().min(64).max(65536).default(1024),
    agentTimeoutMs: z.number().int().min(1000).default(900000),
  })
  .strict();
