// The CLI's support code: engine ranges for the doctor, and a project purge that deletes exactly that project's
// rows in every table and keeps every other project's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parseVersion, satisfies } from "../../plugins/cli/environment.ts";
import { holdsNoData, purgeProjectRows } from "../../plugins/cli/purge.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { openGoalStore } from "../../plugins/goal/store.ts";
import { newGoal } from "../../plugins/goal/state-machine.ts";
import { openTaskStore } from "../../plugins/tasks/store.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";

test("engine ranges: the comparators package.json uses", () => {
  assert.ok(satisfies("1.18.33", ">=1.18.33 <2"));
  assert.ok(satisfies("1.19.0", ">=1.18.33 <2"));
  assert.ok(!satisfies("1.18.32", ">=1.18.33 <2"));
  assert.ok(!satisfies("2.0.0", ">=1.18.33 <2"));
  assert.ok(satisfies("20.6.0", ">=20.6"));
  assert.ok(!satisfies("20.5.9", ">=20.6"));
  assert.ok(!satisfies("garbage", ">=1"));
  assert.deepEqual(parseVersion("opencode v1.18.33-beta\n"), [1, 18, 33]);
  fc.assert(
    fc.property(fc.nat(50), fc.nat(50), fc.nat(50), (a, b, c) => {
      const v = `${a}.${b}.${c}`;
      return (
        satisfies(v, `>=${v}`) &&
        satisfies(v, `<=${v}`) &&
        !satisfies(v, `<${v}`) &&
        !satisfies(v, `>${v}`) &&
        satisfies(v, `=${v}`)
      );
    }),
  );
});

test("a project purge deletes its rows in every table, keeps another project's, and says when nothing is left", async () => {
  const root = mkdtempSync(join(tmpdir(), "continuum-purge-"));
  try {
    const paths = packPaths(root);
    const { db } = await openStore(paths.database);
    const goals = openGoalStore(db);
    const tasks = openTaskStore(db);
    const checkpoints = openCheckpointStore(db);
    for (const [project, session] of [
      ["p-gone", "ses_gone"],
      ["p-kept", "ses_kept"],
    ] as const) {
      const goal = goals.create(session, project, newGoal("tests pass"));
      goals.addVerdict(goal.id, {
        at: new Date().toISOString(),
        run: 1,
        outcome: "not met",
        reason: "r",
        evidence: [],
        missing: [],
        judgeSessionId: null,
        tokens: { input: 1, output: 1, total: 2 },
      });
      tasks.create(session, "a task");
      checkpoints.update(session, { rebuilds: 2 });
    }
    // A session known only by its folder (notes) still belongs to the project.
    mkdirSync(paths.project("p-gone").session("ses_folder"), { recursive: true });
    tasks.create("ses_folder", "a task of a session with notes only");
    const rows = purgeProjectRows(db, "p-gone", paths);
    assert.deepEqual(rows, { goal_verdicts: 1, goals: 1, tasks: 2, task_events: 2, checkpoint_sessions: 1 });
    assert.equal(goals.current("ses_kept")?.projectId, "p-kept");
    assert.equal(tasks.list("ses_kept").length, 1);
    assert.equal(goals.current("ses_gone"), undefined);
    assert.equal(holdsNoData(db), false);
    purgeProjectRows(db, "p-kept", paths);
    assert.equal(holdsNoData(db), true);
    db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
