// The agents section of continuum.jsonc: how many hidden helper agents run at once. Assembled by
// core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const agentsConfigSchema = z
  .object({
    maxConcurrent: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(6)
      .describe(
        "Most hidden helper agents (writers, judges, …) the pack runs at once in one OpenCode process; at least max.candidates + 1, so a Max turn's candidates and its judge need not wait for each other.",
      ),
  })
  .strict();
