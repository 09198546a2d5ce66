// The per-run token budget of dream and distill: calls of the feature's helper sessions are summed as they finish,
// and the run is cancelled once past the budget; other sessions' calls are not counted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { settledRecord, watchBudget } from "../../plugins/core/helper-budget.ts";

test("a helper run past its budget is cancelled once; other features' and main sessions' calls do not count", async () => {
  const handlers: ((event: any) => void)[] = [];
  const cancelled: string[] = [];
  const context = {
    sessions: {
      on: (_feature: string, _type: string, handler: (event: any) => void) => void handlers.push(handler),
      helperOf: (id: string) => (id.startsWith("dream-") ? { feature: "dream", agent: "dream" } : id.startsWith("goal-") ? { feature: "goal", agent: "goal-judge" } : undefined),
    },
    helpers: { cancel: (id: string) => (cancelled.push(id), true) },
    reporter: { log() {} },
  };
  watchBudget(context as never, "dream", 1000);
  const finished = (sessionId: string, input: number, output = 0) =>
    handlers.forEach((h) => h({ type: "assistant.finished", sessionId, tokens: { input, output, reasoning: 0, cacheRead: 0, cacheWrite: 0 } }));
  finished("main", 5000);
  finished("goal-1", 5000);
  finished("dream-1", 600, 100);
  assert.deepEqual(cancelled, []);
  finished("dream-1", 300, 1);
  assert.deepEqual(cancelled, ["dream-1"]);
  finished("dream-2", 999);
  assert.deepEqual(cancelled, ["dream-1"], "each run has its own budget");
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
