// The memory section of continuum.jsonc: what is injected, recalled and kept. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const memoryConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    location: z
      .enum(["data", "repo"])
      .default("data")
      .describe(
        '"data": project memory under the pack data dir; "repo": in .opencode/memory/ so a team shares it through git.',
      ),
    injectBudgetTokens: z
      .number()
      .int()
      .min(0)
      .max(50000)
      .default(4000)
      .describe("Token budget of the memory block in the system prompt."),
    recallBudgetTokens: z.number().int().min(0).max(10000).default(800).describe("Token budget of per-message recall."),
    sectionBudgetTokens: z
      .number()
      .int()
      .min(200)
      .max(20000)
      .default(2000)
      .describe("A MEMORY.md section past this moves to memory-<topic>.md."),
    history: z.boolean().default(true).describe("Index every message part of main sessions for word-for-word recall."),
    historyRetentionDays: z.number().int().min(1).max(3650).default(30),
    versionsKept: z.number().int().min(1).max(200).default(20).describe("Previous versions kept per memory file."),
  })
  .strict();
