// The run/record helper dream and distill share: a run's state reaches only the tools of its own feature's child
// sessions and only while it runs; its spend lands in the record; a run that throws ends as a failed record that
// reads back; the command words and the cost line are the same for both features.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { createHelperRun, parseRunArgs } from "../../plugins/core/helper-run.ts";
import { costLine, runRecordShape, type RunRecord } from "../../plugins/core/run-records.ts";

const schema = z.object({ ...runRecordShape, status: z.enum(["running", "failed", "done"]) });
type Rec = z.infer<typeof schema>;

function record(): Rec {
  return {
    status: "running",
    dryRun: false,
    focus: "",
    reason: "test",
    startedAt: "2026-01-01T00:00:00.000Z",
    message: "",
    tokens: { input: 0, output: 0, total: 0 },
    cost: 0,
    estimated: false,
  };
}

test("a run's state is reachable only from its own feature's child session while it runs; spend and ids land in the record", async () => {
  const dir = mkdtempSync(join(tmpdir(), "helper-run-"));
  try {
    const seen: { inRun?: unknown; otherFeature?: unknown; main?: unknown; model?: unknown } = {};
    let runs: ReturnType<typeof createHelperRun<{ n: number }, Rec>>;
    const context = {
      sessions: {
        helperOf: (id: string) =>
          id === "child" ? { feature: "twin" } : id === "other" ? { feature: "goal" } : undefined,
        peek: () => ({ lastTurn: { model: { providerID: "p", modelID: "from-session" } } }),
      },
      reporter: {
        log() {},
        child() {
          return this;
        },
      },
      helpers: {
        async run(request: { onStarted(runId: string, child: string): void; model: unknown }) {
          request.onStarted("run-1", "child");
          seen.inRun = runs.activeFor({ sessionID: "child" } as never);
          seen.otherFeature = runs.activeFor({ sessionID: "other" } as never);
          seen.main = runs.activeFor({ sessionID: "main" } as never);
          seen.model = request.model;
          const tokens = { input: 10, output: 5, reasoning: 1, cacheRead: 4, cacheWrite: 0 };
          return {
            ok: true,
            value: "v",
            runId: "run-1",
            childSessionId: "child",
            attempts: 1,
            usage: { tokens, cost: 0.5, durationMs: 1, requests: 1, estimated: false },
          };
        },
      },
    };
    runs = createHelperRun<{ n: number }, Rec>(context as never, {
      feature: "twin",
      dir,
      schema,
      model: undefined,
      now: () => new Date("2026-01-02T00:00:00Z"),
    });
    const rec = record();
    const outcome = await runs.run(
      rec,
      { n: 1 },
      { agent: "twin", parentSessionId: "main", title: "t", prompt: "p", timeoutMs: 1000 },
    );
    assert.equal(outcome.ok, true);
    assert.deepEqual(seen, {
      inRun: { n: 1 },
      otherFeature: undefined,
      main: undefined,
      model: { providerID: "p", modelID: "from-session" },
    });
    assert.equal(runs.running(), false);
    assert.equal(runs.activeFor({ sessionID: "child" } as never), undefined);
    assert.deepEqual(
      { runId: rec.runId, child: rec.childSessionId, tokens: rec.tokens, cost: rec.cost },
      { runId: "run-1", child: "child", tokens: { input: 14, output: 6, total: 20 }, cost: 0.5 },
    );
    assert.equal(runs.last()?.status, "running", "the running record was saved as soon as the child existed");
    rec.status = "done";
    runs.finish(rec);
    assert.deepEqual(runs.last(), { ...rec, finishedAt: "2026-01-02T00:00:00.000Z" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run that throws ends as a failed record, saved and read back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "helper-run-"));
  try {
    const context = {
      sessions: { helperOf: () => undefined, peek: () => undefined },
      reporter: {
        log() {},
        child() {
          return this;
        },
      },
      helpers: {},
    };
    const runs = createHelperRun<object, Rec>(context as never, {
      feature: "twin",
      dir,
      schema,
      model: "prov/model",
      now: () => new Date("2026-01-02T00:00:00Z"),
    });
    const done = await runs.launch(
      record(),
      Promise.reject(new Error("boom")),
      (error) => `Twin failed: ${(error as Error).message}.`,
    );
    assert.equal(done.status, "failed");
    assert.equal(runs.last()?.message, "Twin failed: boom.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("command words: verbs alone, --dry-run anywhere, unknown options refused, focus capped", () => {
  const usage = "/twin [--dry-run] [focus] or /twin status";
  assert.deepEqual(parseRunArgs("status", ["status"], usage), { kind: "status" });
  assert.deepEqual(parseRunArgs("status now", ["status"], usage), { kind: "run", dryRun: false, focus: "status now" });
  assert.deepEqual(parseRunArgs(" tests --dryrun ", ["status"], usage), { kind: "run", dryRun: true, focus: "tests" });
  assert.deepEqual(parseRunArgs("--force x", ["status"], usage), {
    kind: "error",
    message: `unknown option --force; use ${usage}`,
  });
  const long = parseRunArgs("x".repeat(600), ["status"], usage);
  assert.equal(long.kind === "run" && long.focus.length, 500);
});

test("cost line: no model call, cost with run id, and a run cut off before it reported", () => {
  const base: RunRecord = { ...record(), status: "done" };
  assert.equal(costLine(base), "Cost: no model call.");
  const spent = { ...base, runId: "r1", tokens: { input: 1200, output: 34, total: 1234 }, cost: 0.01, estimated: true };
  assert.equal(costLine(spent), "Cost: 1,234 tokens (1,200 in, 34 out), estimated, cost $0.0100; run r1.");
  assert.match(costLine({ ...base, runId: "r2", status: "failed" }), /^Cost: not read back .* run r2 /);
});
