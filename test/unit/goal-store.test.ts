import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { openGoalStore } from "../../plugins/goal/store.ts";
import { newGoal, step } from "../../plugins/goal/state-machine.ts";

const tokens = { input: 1200, output: 80, total: 1280 };

test("a goal, its loop state and its verdicts survive closing and reopening the database", async () => {
  const dir = mkdtempSync(join(tmpdir(), "goal-store-"));
  try {
    const path = join(dir, "continuum.db");
    let db = await openDatabase(path);
    let store = openGoalStore(db);
    const goal = store.create("ses_1", "proj", newGoal("tests pass"));
    const judging = step(
      goal.state,
      { type: "idle", facts: { endedBy: "normal", userTypedSince: false, openTasks: [], fingerprint: "f" } },
      { maxContinuations: 12, maxTaskDeferrals: 0 },
    ).state;
    store.save(goal.id, judging);
    store.addVerdict(goal.id, {
      at: "2026-01-01T00:00:00.000Z",
      run: 1,
      outcome: "not met",
      reason: "no tests run",
      evidence: [],
      missing: ["run tests"],
      judgeSessionId: "ses_j",
      tokens,
    });
    db.close();

    db = await openDatabase(path);
    store = openGoalStore(db);
    const again = store.current("ses_1");
    assert.ok(again);
    assert.equal(again.state.status, "judging");
    assert.equal(again.state.judgeRun, 1);
    assert.equal(again.state.condition, "tests pass");
    assert.deepEqual(store.verdicts(goal.id)[0]!.tokens, tokens);
    assert.deepEqual(store.verdicts(goal.id)[0]!.missing, ["run tests"]);
    assert.deepEqual(
      store.unfinished("proj").map((g) => g.id),
      [goal.id],
    );
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a second goal in the same session becomes current; ended goals are not unfinished", async () => {
  const db = await openDatabase(":memory:");
  const store = openGoalStore(db);
  const first = store.create("s", "p", newGoal("one"));
  store.save(first.id, { ...first.state, status: "cleared" });
  const second = store.create("s", "p", newGoal("two"));
  assert.equal(store.current("s")!.id, second.id);
  assert.deepEqual(
    store.unfinished("p").map((g) => g.state.condition),
    ["two"],
  );
  assert.equal(store.current("other"), undefined);
});

test("an unreadable stored state comes back paused with a note, never crashing", async () => {
  const db = await openDatabase(":memory:");
  const store = openGoalStore(db);
  const goal = store.create("s", "p", newGoal("x"));
  db.prepare("UPDATE goals SET state_json = ? WHERE id = ?").run("{not json", goal.id);
  const loaded = store.current("s")!;
  assert.equal(loaded.state.status, "paused");
  assert.match(loaded.state.note, /unreadable/);
});

test("the judge's owner process is recorded; only a live other process counts as running it", async () => {
  const { judgeRunsElsewhere, PROCESS_ID } = await import("../../plugins/goal/owner.ts");
  const { spawn } = await import("node:child_process");
  const { hostname } = await import("node:os");
  const db = await openDatabase(":memory:");
  const store = openGoalStore(db);
  const goal = store.create("s", "p", newGoal("x"));
  store.setJudgeOwner(goal.id, PROCESS_ID);
  assert.equal(store.current("s")!.judgeOwner, PROCESS_ID);
  assert.equal(judgeRunsElsewhere(PROCESS_ID), false, "our own run is not elsewhere");
  assert.equal(judgeRunsElsewhere(null), false);
  assert.equal(judgeRunsElsewhere("other-host:1"), false, "another machine cannot be checked: re-run");
  const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 10000)"]);
  try {
    assert.equal(judgeRunsElsewhere(`${hostname()}:${live.pid}`), true);
  } finally {
    live.kill();
  }
  await new Promise((r) => live.once("exit", r));
  assert.equal(judgeRunsElsewhere(`${hostname()}:${live.pid}`), false, "a dead process's judge is re-run");
});
