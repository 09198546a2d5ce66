// The dream section of continuum.jsonc: memory consolidation runs. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const dreamConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe("/dream on demand; automatic runs with learn (default) and auto."),
    auto: z
      .boolean()
      .default(false)
      .describe("A full dream over every session's material at a new main session, every intervalDays (opt-in)."),
    learn: z
      .boolean()
      .default(true)
      .describe(
        "Automatic learning: directives and decisions kept verbatim in checkpoints become candidates (by code, no model call) and a dream consolidates them, at most every learnEveryHours and within learnDailyTokens. false turns all of it off.",
      ),
    learnEveryHours: z
      .number()
      .int()
      .min(1)
      .max(8760)
      .default(24)
      .describe("Hours between two automatic learning dreams."),
    learnDailyTokens: z
      .number()
      .int()
      .min(0)
      .default(60000)
      .describe("Tokens the automatic learning dreams may spend in 24 hours (the ledger); 0 stops them."),
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
