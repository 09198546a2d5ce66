// The distill section of continuum.jsonc: skill mining runs. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

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
