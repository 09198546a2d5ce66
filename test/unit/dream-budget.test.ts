// The per-run token budget of dream and distill: calls of the feature's helper sessions are summed as they finish,
// and the run is cancelled once past the budget; other sessions' calls are not counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { settledRecord, watchBudget } from "../../plugins/core/helper-budget.ts";
import { createSessionLayer } from "../../plugins/core/sessions.ts";

test("a helper run past its budget is cancelled once; other features' and main sessions' calls do not count", async () => {
  const cancelled: string[] = [];
  // The real session layer: each helper session's spend is in a slot of its own record.
  const sessions = createSessionLayer({ isolate: async (_feature, _label, run) => run() });
  for (const id of ["dream-1", "dream-2"]) sessions.markHelper(id, "main", { feature: "dream", agent: "dream" });
  sessions.markHelper("goal-1", "main", { feature: "goal", agent: "goal-judge" });
  const context = { sessions, helpers: { cancel: (id: string) => (cancelled.push(id), true) }, reporter: { log() {} } };
  watchBudget(context as never, "dream", 1000);
  const finished = (sessionId: string, input: number, output = 0) =>
    sessions.dispatch({
      type: "assistant.finished",
      sessionId,
      messageId: "m",
      agent: "dream",
      summary: false,
      tokens: { input, output, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
      contextTokens: 0,
      cost: 0,
    });
  await finished("main", 5000);
  await finished("goal-1", 5000);
  await finished("dream-1", 600, 100);
  assert.deepEqual(cancelled, []);
  await finished("dream-1", 300, 1);
  assert.deepEqual(cancelled, ["dream-1"]);
  await finished("dream-2", 999);
  assert.deepEqual(cancelled, ["dream-1"], "each run has its own budget");
  await sessions.dispatch({ type: "session.deleted", sessionId: "dream-1" });
  assert.equal(sessions.peek("dream-1"), undefined, "the spend goes with the helper session");
});

test("a record left running by a process that is gone reads as interrupted; one of a live process stays running", () => {
  const base = { status: "running", message: "Dream running…" };
  assert.equal(settledRecord({ ...base, pid: process.pid })?.status, "running");
  const gone = settledRecord({ ...base, pid: 2 ** 22 + 12345 });
  assert.equal(gone?.status, "failed");
  assert.match(gone!.message, /Interrupted: OpenCode stopped during the run/);
  assert.equal(settledRecord(undefined), undefined);
  assert.equal(settledRecord({ status: "written", message: "x" })?.status, "written");
});
