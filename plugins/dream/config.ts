// The dream section of continuum.jsonc: memory consolidation runs. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const dreamConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe("/dream on demand; automatic runs only with auto."),
    auto: z.boolean().default(false),
    intervalDays: z.number().int().min(1).max(365).default(7),
    windowDays: z.number().int().min(1).max(365).default(7),
    maxLines: z.number().int().min(20).max(5000).default(200),
    maxBytes: z.number().int().min(1024).max(1048576).default(10240),
    maxDeleteFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe(
        "Most of the existing entries one dream may change: forget, merge (every entry of a merge) or replace.",
      ),
    budgetTokens: z.number().int().min(1000).default(200000),
    timeoutMs: z.number().int().min(5000).default(600000),
    model: z.string().optional(),
  })
  .strict();
