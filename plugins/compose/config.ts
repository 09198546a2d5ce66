// The compose section of continuum.jsonc: specs, reviews and the verification gate. Assembled by
// core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const composeConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    specDir: z.string().min(1).default("docs/compose").describe("Where compose writes specs, relative to the project."),
    reviewRounds: z.number().int().min(0).max(5).default(2),
    checkCommands: z
      .array(z.string().trim().min(1).max(200))
      .max(50)
      .default([])
      .describe(
        "Extra commands that count as the project's checks for the compose agent's verification (a command line starting with one of them), e.g. ./ci.sh.",
      ),
  })
  .strict();
