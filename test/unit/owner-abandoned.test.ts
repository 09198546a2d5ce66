// Runs owned by a process that is gone: a helper run whose OpenCode died mid-run is shown as abandoned (not running)
// by `continuum agents`, and the spend of the model calls it made before is in the ledger (`continuum stats`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { capture, withIsolatedDirs } from "./helpers/cli.ts";
import { openLedger } from "../../plugins/core/ledger.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";

const call = (input: number, output: number) => ({ input, output, reasoning: 0, cacheRead: 0, cacheWrite: 0 });

test("a helper run of a dead OpenCode is abandoned when listed, with the spend of the calls it made", async () => {
  await withIsolatedDirs(async (root) => {
    const project = join(root, "proj");
    mkdirSync(project);
    const projectId = resolveProjectIdentity(project).id;
    // A pid that surely belongs to no process any more: one that just exited.
    const deadPid = spawnSync("true").pid!;
    const { db } = await openStore(packPaths(join(root, "data", "opencode-continuum")).database);
    const dead = openLedger(db, deadPid);
    dead.startRun({
      runId: "run_dead",
      projectId,
      parentSessionId: "ses_1",
      childSessionId: "ses_child",
      feature: "dream",
      agent: "dream",
      startedAt: Date.now() - 5000,
    });
    dead.addRunSpend("run_dead", call(1200, 80), 0.01);
    dead.addRunSpend("run_dead", call(1500, 40), 0.02);
    const live = openLedger(db, process.pid);
    live.startRun({
      runId: "run_live",
      projectId,
      parentSessionId: "ses_1",
      childSessionId: "ses_child2",
      feature: "checkpoint",
      agent: "writer",
      startedAt: Date.now(),
    });
    db.close();

    const listed = await capture(["agents", "--project", project, "--json"]);
    assert.equal(listed.code, 0, listed.err);
    const runs = (
      JSON.parse(listed.out) as { runs: { runId: string; state: string; tokens: number; detail: string | null }[] }
    ).runs;
    const abandoned = runs.find((r) => r.runId === "run_dead")!;
    assert.equal(abandoned.state, "abandoned");
    assert.equal(abandoned.tokens, 1200 + 80 + 1500 + 40, "the spend made before the process died is kept");
    assert.match(abandoned.detail ?? "", new RegExp(`pid ${deadPid}\\) ended while it ran`));
    assert.equal(runs.find((r) => r.runId === "run_live")!.state, "running", "a live owner's run is left alone");
    const stats = JSON.parse((await capture(["stats", "--project", project, "--json"])).out) as {
      features: Record<string, { runs: number; inputTokens: number; outputTokens: number }>;
    };
    assert.deepEqual([stats.features.dream?.inputTokens, stats.features.dream?.outputTokens], [2700, 120]);
  });
});
