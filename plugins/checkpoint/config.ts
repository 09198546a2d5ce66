// The checkpoint section of continuum.jsonc: when checkpoints are written and the request rebuilt. Assembled by
// core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

const fractionOrTokens = z
  .number()
  .positive()
  .describe("A fraction of the usable context window (0 < x <= 1) or an absolute token count (> 1).");

const modelOverride = z
  .object({
    thresholds: z.array(fractionOrTokens).max(10).optional(),
    rebuildAt: fractionOrTokens.optional(),
    rebuildCapTokens: z.number().int().min(4000).optional(),
  })
  .strict();

export const checkpointConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    thresholds: z.array(fractionOrTokens).max(10).default([0.2, 0.45, 0.7]),
    rebuildAt: fractionOrTokens.default(0.85),
    rebuildCapTokens: z.number().int().min(4000).default(65000).describe("Hard cap of a rebuilt request, in tokens."),
    minWindowForCheckpoints: z
      .number()
      .int()
      .min(0)
      .default(25000)
      .describe("Below this window only the rebuild runs."),
    writerTimeoutMs: z.number().int().min(1000).default(180000),
    writerModel: z
      .string()
      .optional()
      .describe('"provider/model" for the checkpoint writer; default: the session\'s model.'),
    models: z.record(z.string(), modelOverride).default({}).describe('Per-model overrides, keyed "provider/model".'),
    tailMinTokens: z
      .number()
      .int()
      .min(0)
      .default(10000)
      .describe("A rebuild keeps at least this many tokens of recent messages verbatim (the cap wins)."),
    tailMinTextMessages: z.number().int().min(1).default(5).describe("… and at least this many messages with text."),
    writerWaitMs: z
      .number()
      .int()
      .min(0)
      .max(30000)
      .default(3000)
      .describe("How long a rebuild waits for a running checkpoint writer before using the older checkpoint."),
  })
  .strict();
