// The subagents section of continuum.jsonc: what a subagent started by OpenCode's `task` tool is given (memory block,
// brief from the session's checkpoint). Assembled by core/config-schema.ts.
// Imports nothing but zod: core reads this file, so it must not pull the feature's code in.
import { z } from "zod";

export const subagentsConfigSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Give subagents started by OpenCode's task tool a memory block and a brief, list them in /agents (cancellable) and record their spend apart.",
      ),
    memoryBudgetTokens: z
      .number()
      .int()
      .min(0)
      .max(20000)
      .default(1500)
      .describe("Size of the memory block a subagent gets (ranked by its task prompt); 0: none."),
    briefBudgetTokens: z
      .number()
      .int()
      .min(0)
      .max(5000)
      .default(600)
      .describe(
        "Size of the brief a subagent gets from the main session's latest checkpoint (intent, the user's directives, decisions); 0: none.",
      ),
  })
  .strict();
