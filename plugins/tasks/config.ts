// The tasks section of continuum.jsonc: the task gate. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const tasksConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    gate: z.boolean().default(true).describe("Ask the agent to settle open tasks when it stops."),
    maxGatePushes: z.number().int().min(0).max(10).default(3),
  })
  .strict();
