// What dream and distill runs share. A token budget per helper run: the tokens of every model call a feature's hidden
// agent makes are summed as they finish, and a run past the budget is cancelled (nothing half-written follows, because
// both write only after a run's result is in). What a run cost. And a "running" record of a process that is gone reads as interrupted.
import type { FeatureContext } from "./feature.ts";
import type { HelperUsage } from "./helpers.ts";
import { processAlive } from "./process-alive.ts";
import { slot } from "./sessions.ts";
import { totalTokens } from "./tokens.ts";

/** Tokens a helper session has spent so far: on that session's own record (one run per child), dropped with it. */
export const budgetSlot = slot<{ spent: number }>("helper-budget", () => ({ spent: 0 }));

export function watchBudget(
  context: Pick<FeatureContext, "sessions" | "helpers" | "reporter">,
  feature: string,
  budgetTokens: number,
): void {
  context.sessions.on(feature, "assistant.finished", (event) => {
    if (context.sessions.helperOf(event.sessionId)?.feature !== feature) return;
    const spent = context.sessions.session(event.sessionId).get(budgetSlot);
    spent.spent += totalTokens(event.tokens);
    const total = spent.spent;
    if (total <= budgetTokens) return;
    if (
      context.helpers.cancel(event.sessionId, `over its budget of ${budgetTokens} tokens (${feature}.budgetTokens)`)
    ) {
      context.reporter.log(
        "warn",
        `${feature}: a run used ${total} tokens, over ${feature}.budgetTokens (${budgetTokens}); it was stopped`,
      );
    }
  });
}

/** A record left "running" by an OpenCode that is gone says so instead of running forever. */
export function settledRecord<R extends { status: string; pid?: number; message: string }>(
  record: R | undefined,
): R | undefined {
  if (!record || record.status !== "running" || record.pid === undefined || processAlive(record.pid)) return record;
  return {
    ...record,
    status: "failed",
    message:
      "Interrupted: OpenCode stopped during the run. Memory files are as before the run or as after it, never half-written.",
  };
}

/** What a finished helper run cost, as dream and distill records keep it (cache reads count as input). */
export function runSpend(outcome: { runId: string; childSessionId: string | undefined; usage: HelperUsage }) {
  const t = outcome.usage.tokens;
  const input = t.input + t.cacheRead + t.cacheWrite;
  const output = t.output + t.reasoning;
  return {
    runId: outcome.runId,
    childSessionId: outcome.childSessionId,
    tokens: { input, output, total: input + output },
    cost: outcome.usage.cost,
    estimated: outcome.usage.estimated,
  };
}
