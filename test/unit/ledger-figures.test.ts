// Figures that mean what they say: workflow runs counted as runs and their agent() calls as calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLedger } from "../../plugins/core/ledger.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { formatStats } from "../../plugins/core/spend-report.ts";
import { progressLine } from "../../plugins/workflow/format.ts";

test("continuum stats: two workflow runs of seven agent() calls are 2 runs (7 agent calls), not 7 runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "continuum-ledger-"));
  try {
    const { db } = await openStore(join(dir, "continuum.db"));
    const ledger = openLedger(db);
    const usage = {
      tokens: { input: 10, output: 1, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
      cost: 0,
      durationMs: 1,
      requests: 1,
      estimated: false,
    };
    const calls = [...Array(4).fill("wf_mk1a2b_0a1b2c3d"), ...Array(3).fill("wf_mk1a2c_9f8e7d6c")];
    for (const [i, runId] of calls.entries()) {
      ledger.startRun({
        runId: `run_${i}`,
        projectId: "p",
        parentSessionId: "ses_1",
        childSessionId: `ses_c${i}`,
        feature: "workflow",
        agent: "workflow-agent",
        reason: `workflow review ${runId} [scan]: file ${i}`,
        startedAt: i,
      });
      ledger.endRun(`run_${i}`, { outcome: "ok", usage });
    }
    ledger.startRun({
      runId: "run_g",
      projectId: "p",
      parentSessionId: "ses_1",
      childSessionId: "ses_g",
      feature: "goal",
      agent: "goal-judge",
      reason: "judge",
      startedAt: 9,
    });
    const stats = ledger.stats({ projectId: "p" });
    assert.equal(stats.features.workflow!.runs, 2);
    assert.equal(stats.features.workflow!.agentCalls, 7);
    assert.equal(stats.features.goal!.runs, 1);
    assert.match(formatStats(stats, "p"), /workflow\s+2 runs \(7 agent calls\) · 70 in/);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a workflow's progress line tells calls waiting for a helper slot from calls running", () => {
  const run = { agents: { started: 419, finished: 0, failed: 0, replayed: 0, running: 419 }, tokens: 0 } as Parameters<
    typeof progressLine
  >[0];
  assert.match(progressLine(run), /^agents 419 in flight, 0 done/);
  assert.match(progressLine(run, { running: 4, queued: 415 }), /^agents 4 running, 415 waiting for a slot, 0 done/);
});
