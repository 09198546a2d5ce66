// What dream and distill runs share. A token budget per helper run: the tokens of every model call a feature's hidden
// agent makes are summed as they finish, and a run past the budget is cancelled (nothing half-written follows, because
// both write only after a run's result is in). And a "running" record of a process that is gone reads as interrupted.
import type { FeatureContext } from "./feature.ts";

export function watchBudget(context: Pick<FeatureContext, "sessions" | "helpers" | "reporter">, feature: string, budgetTokens: number): void {
  const spent = new Map<string, number>();
  context.sessions.on(feature, "assistant.finished", (event) => {
    if (context.sessions.helperOf(event.sessionId)?.feature !== feature) return;
    const t = event.tokens;
    const total = (spent.get(event.sessionId) ?? 0) + t.input + t.output + t.reasoning + t.cacheRead + t.cacheWrite;
    spent.set(event.sessionId, total);
    if (spent.size > 100) spent.delete(spent.keys().next().value!);
    if (total <= budgetTokens) return;
    if (context.helpers.cancel(event.sessionId, `over its budget of ${budgetTokens} tokens (${feature}.budgetTokens)`)) {
      context.reporter.log("warn", `${feature}: a run used ${total} tokens, over ${feature}.budgetTokens (${budgetTokens}); it was stopped`);
    }
  });
}

/** A record left "running" by an OpenCode that is gone says so instead of running forever. */
export function settledRecord<R extends { status: string; pid?: number; message: string }>(record: R | undefined): R | undefined {
  if (!record || record.status !== "running" || record.pid === undefined || pidAlive(record.pid)) return record;
  return { ...record, status: "failed", message: "Interrupted: OpenCode stopped during the run. Memory files are as before the run or as after it, never half-written." };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

