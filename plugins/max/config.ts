// The max section of continuum.jsonc: Max Mode candidates, judge and checks. Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const maxConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Max Mode acts only on /max and the max agent; false turns both off."),
    mode: z
      .enum(["plan", "patch"])
      .default("plan")
      .describe("plan: candidates write plans; patch: candidates build in their own git worktrees."),
    candidates: z.number().int().min(2).max(8).default(5),
    scouts: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(2)
      .describe("Candidates started first; when they agree the rest and the judge are skipped."),
    consensus: z.enum(["scouts", "off"]).default("scouts"),
    temperature: z.number().min(0).max(2).default(0.8),
    checks: z
      .array(z.string().min(1))
      .max(20)
      .optional()
      .describe("Shell commands run on each patch candidate; default: detected from the project."),
    checkTimeoutMs: z.number().int().min(1000).max(3600000).default(300000),
    candidateTimeoutMs: z.number().int().min(5000).default(600000),
    judgeModel: z.string().optional().describe('"provider/model" for the Max judge; default: the session\'s model.'),
    candidateModel: z
      .string()
      .optional()
      .describe('"provider/model" for the candidates; default: the session\'s model.'),
  })
  .strict();
