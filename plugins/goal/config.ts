// The goal section of continuum.jsonc: the /goal loop and its judge. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const goalConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    maxContinuations: z.number().int().min(1).max(200).default(12),
    judgeTimeoutMs: z.number().int().min(1000).default(180000),
    judgeModel: z.string().optional().describe('"provider/model" for the goal judge; default: the session\'s model.'),
  })
  .strict();
