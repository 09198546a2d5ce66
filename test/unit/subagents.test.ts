// Subagents of OpenCode's `task` tool: the task part that links a child (and nothing else), the lifecycle that
// counts each message once and ends once however often a child goes idle, the brief fitted to its budget and
// byte-stable, the ledger line kept apart from the worker's, and the rebuild's "still running" section.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLedger, recordWorkerCalls, type Ledger } from "../../plugins/core/ledger.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { createSessionLayer, type SessionLayer } from "../../plugins/core/sessions.ts";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";
import { formatStats } from "../../plugins/core/spend-report.ts";
import { buildBrief, fairShares } from "../../plugins/subagents/brief.ts";
import { childOfRunId, readTaskPart, runIdOf } from "../../plugins/subagents/tracker.ts";
import { trackSubagents } from "../../plugins/subagents/lifecycle.ts";
import { assembleDump } from "../../plugins/checkpoint/rebuild.ts";
import { subagentLines } from "../../plugins/checkpoint/rebuild-run.ts";

const taskPart = (status: string, extra: Record<string, unknown> = {}) => ({
  type: "tool",
  tool: "task",
  callID: "call_1",
  sessionID: "ses_parent",
  state: {
    status,
    input: { subagent_type: "general", description: "survey   the\nlogs", prompt: "look" },
    ...(status === "pending" ? {} : { metadata: { sessionId: "ses_child", parentSessionId: "ses_parent" } }),
    ...extra,
  },
});

test("a running task part with the child's session id links it; other parts and a pending one do not", () => {
  assert.deepEqual(readTaskPart(taskPart("running")), {
    parentId: "ses_parent",
    childId: "ses_child",
    callId: "call_1",
    agent: "general",
    description: "survey the logs",
    ended: undefined,
  });
  assert.equal(readTaskPart(taskPart("pending")), undefined);
  assert.equal(readTaskPart({ ...taskPart("running"), tool: "bash" }), undefined);
  assert.equal(readTaskPart({ ...taskPart("running"), type: "text" }), undefined);
  assert.equal(readTaskPart("not a part"), undefined);
  // A part naming its own session as the child is not a link (it would make a session its own subagent).
  const self = taskPart("running");
  (self.state as { metadata: { sessionId: string } }).metadata.sessionId = "ses_parent";
  assert.equal(readTaskPart(self), undefined);
  assert.equal(readTaskPart(taskPart("completed"))?.ended, "done");
  assert.equal(readTaskPart(taskPart("error", { error: "Task cancelled" }))?.ended, "cancelled");
  assert.equal(readTaskPart(taskPart("error", { error: "boom" }))?.ended, "failed");
});

test("run ids name their child session; a resumed call gets a run of its own", () => {
  assert.equal(runIdOf("ses_abc"), "sub-ses_abc");
  assert.equal(runIdOf("ses_abc", 2), "sub-ses_abc-2");
  assert.equal(childOfRunId("sub-ses_abc-2"), "ses_abc");
  assert.equal(childOfRunId("sub-ses_abc"), "ses_abc");
  assert.equal(childOfRunId("ses_abc"), "ses_abc");
});

const checkpoint = (sections: Record<string, string>) => ({ sections, writtenAt: Date.UTC(2026, 11, 7, 21, 0) });

test("the brief: directives, intent and decisions of the checkpoint, framed with its time, byte-stable", () => {
  const source = checkpoint({
    active_intent: "Migrate the billing service to Postgres.",
    directives: '"never touch the prod database"',
    decisions: "Use pgx, not database/sql.",
    knowledge: "not part of the brief",
  });
  const brief = buildBrief(source, 600)!;
  assert.match(
    brief.text,
    /^Brief from the session that started you \(from its checkpoint of 2026-12-07T21:00:00.000Z\)/,
  );
  assert.ok(brief.text.indexOf("never touch the prod") < brief.text.indexOf("Migrate the billing"), "directives first");
  assert.match(brief.text, /Use pgx/);
  assert.doesNotMatch(brief.text, /not part of the brief/);
  assert.equal(brief.tokens, estimateTokens(brief.text));
  assert.equal(buildBrief(source, 600)!.text, brief.text, "same checkpoint, same bytes");
  assert.equal(buildBrief(undefined, 600), undefined, "no checkpoint, no brief");
  assert.equal(buildBrief(checkpoint({ knowledge: "x" }), 600), undefined, "nothing to brief");
  assert.equal(buildBrief(source, 0), undefined, "budget 0 is off");
});

test("the brief stays within its budget; long sections are cut, short ones kept whole", () => {
  const long = "word ".repeat(2000);
  for (const budget of [120, 300, 600, 1500]) {
    const brief = buildBrief(
      checkpoint({ directives: "keep the API stable", active_intent: long, decisions: long }),
      budget,
    );
    assert.ok(brief, `a brief at ${budget}`);
    assert.ok(brief.tokens <= budget, `${brief.tokens} <= ${budget}`);
    assert.match(brief.text, /keep the API stable/, "the short directive whole");
    assert.match(brief.text, /cut to fit the brief/);
  }
  assert.deepEqual(fairShares([10, 500, 500], 210), [10, 100, 100]);
  assert.deepEqual(fairShares([10, 20], 100), [10, 20]);
  assert.deepEqual(fairShares([500, 500], 101), [51, 50]);
});

interface Rig {
  sessions: SessionLayer;
  ledger: Ledger;
  aborted: string[];
  tracker: ReturnType<typeof trackSubagents>;
  close(): void;
}

async function rig(): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "continuum-subagents-"));
  const { db } = await openStore(join(dir, "continuum.db"));
  const ledger = openLedger(db);
  const sessions = createSessionLayer({ isolate: async (_f, _l, run) => void (await run()) });
  recordWorkerCalls(sessions, ledger, "p");
  const aborted: string[] = [];
  const context = {
    sessions,
    ledger,
    project: { id: "p" },
    config: defaultConfig(),
    reporter: { log: () => undefined },
    host: { abort: async (id: string) => void aborted.push(id) },
  } as unknown as FeatureContext;
  const tracker = trackSubagents(context);
  return {
    sessions,
    ledger,
    aborted,
    tracker,
    close() {
      tracker.dispose();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const tokens = (input: number, output: number) => ({ input, output, reasoning: 0, cacheRead: 0, cacheWrite: 0 });
const finished = (sessionId: string, messageId: string, input: number, output: number) => ({
  type: "assistant.finished" as const,
  sessionId,
  messageId,
  agent: sessionId === "ses_child" ? "general" : "build",
  summary: false,
  tokens: tokens(input, output),
  contextTokens: input + output,
  cost: 0,
});

test("a subagent's spend is its own ledger line under the worker, each message counted once; it ends once", async () => {
  const r = await rig();
  try {
    const { sessions } = r;
    await sessions.dispatch({ type: "session.created", sessionId: "ses_parent" });
    await sessions.dispatch(finished("ses_parent", "msg_p1", 1000, 10));
    await sessions.dispatch({ type: "session.created", sessionId: "ses_child", parentId: "ses_parent" });
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("running") });
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("running") });
    assert.deepEqual(
      r.tracker.active("ses_parent").map((a) => [a.sessionId, a.agent, a.description]),
      [["ses_child", "general", "survey the logs"]],
    );
    // OpenCode publishes each finished message twice.
    await sessions.dispatch(finished("ses_child", "msg_c1", 7000, 70));
    await sessions.dispatch(finished("ses_child", "msg_c1", 7000, 70));
    const live = r.ledger.runs({ projectId: "p", state: "running" });
    assert.deepEqual(
      live.map((x) => [x.runId, x.feature, x.sessionId, x.childSessionId, x.tokens]),
      [["sub-ses_child", "subagent", "ses_parent", "ses_child", 7070]],
    );
    assert.equal(r.tracker.active("ses_parent")[0]!.tokens, 7070);
    for (let i = 0; i < 3; i++)
      await sessions.dispatch({
        type: "part.updated",
        sessionId: "ses_parent",
        part: taskPart("error", { error: "Task cancelled" }),
      });
    assert.deepEqual(r.tracker.active("ses_parent"), []);
    const [run] = r.ledger.runs({ projectId: "p" });
    assert.equal(run!.outcome, "cancelled");
    assert.equal(run!.tokens, 7070);
    const stats = r.ledger.stats({ projectId: "p" });
    assert.deepEqual(stats.worker, { calls: 1, inputTokens: 1000, outputTokens: 10, cost: 0 });
    assert.deepEqual(stats.subagents, { runs: 1, calls: 1, inputTokens: 7000, outputTokens: 70, cost: 0 });
    assert.equal(stats.features.subagent, undefined, "not a pack feature: no overhead");
    assert.equal(stats.overheadRatio, 0);
    assert.match(formatStats(stats, "p"), /subagents \(task tool\): 1 runs · 1 calls · 7,000 in · 70 out/);
    assert.deepEqual(r.ledger.stats({ projectId: "p", sessionId: "ses_parent" }).subagents.inputTokens, 7000);
  } finally {
    r.close();
  }
});

test("a resume by task_id is a second run; cancel aborts only a running subagent; helpers are never linked", async () => {
  const r = await rig();
  try {
    const { sessions } = r;
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("running") });
    assert.equal(await r.tracker.cancel("sub-ses_child"), true);
    assert.deepEqual(r.aborted, ["ses_child"]);
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("completed") });
    assert.equal(await r.tracker.cancel("ses_child"), false, "an ended subagent is not cancelled");
    const resumed = { ...taskPart("running"), callID: "call_2" };
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: resumed });
    assert.deepEqual(
      r.ledger
        .runs({ projectId: "p" })
        .map((x) => [x.runId, x.state])
        .sort(),
      [
        ["sub-ses_child", "done"],
        ["sub-ses_child-2", "running"],
      ],
    );
    // A stale part of the first call changes nothing of the second.
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("error", { error: "x" }) });
    assert.equal(r.tracker.active("ses_parent").length, 1);
    await sessions.dispatch({ type: "session.deleted", sessionId: "ses_child" });
    assert.equal(r.ledger.runs({ projectId: "p", state: "running" }).length, 0, "a deleted child's run is closed");

    sessions.markHelper("ses_helper", "ses_parent", { feature: "checkpoint", agent: "continuum-checkpoint-writer" });
    const helperPart = taskPart("running");
    (helperPart.state as { metadata: { sessionId: string } }).metadata.sessionId = "ses_helper";
    await sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: helperPart });
    assert.equal(r.tracker.recordOf("ses_helper"), undefined);
    assert.equal(r.ledger.runs({ projectId: "p" }).length, 2);
  } finally {
    r.close();
  }
});

test("a subagent resumed after a restart gets the next run id: its earlier run stays in the ledger", async () => {
  const r = await rig();
  try {
    await r.sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("running") });
    await r.sessions.dispatch(finished("ses_child", "msg_c1", 7000, 70));
    await r.sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("completed") });
    // A new process: a fresh session layer and tracker over the same ledger.
    const sessions = createSessionLayer({ isolate: async (_f, _l, run) => void (await run()) });
    const again = trackSubagents({
      sessions,
      ledger: r.ledger,
      project: { id: "p" },
      config: defaultConfig(),
      reporter: { log: () => undefined },
      host: { abort: async () => undefined },
    } as unknown as FeatureContext);
    await sessions.dispatch({
      type: "part.updated",
      sessionId: "ses_parent",
      part: { ...taskPart("running"), callID: "call_9" },
    });
    assert.deepEqual(
      r.ledger
        .runs({ projectId: "p" })
        .map((x) => [x.runId, x.state, x.tokens])
        .sort(),
      [
        ["sub-ses_child", "done", 7070],
        ["sub-ses_child-2", "running", 0],
      ],
    );
    again.dispose();
  } finally {
    r.close();
  }
});

test("continuum agents cancel (another process) reaches a running subagent through the ledger", async () => {
  const r = await rig();
  try {
    await r.sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("running") });
    assert.equal(r.ledger.requestCancel("sub-ses_child"), true);
    const deadline = Date.now() + 5000;
    while (!r.aborted.length && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    assert.deepEqual(r.aborted, ["ses_child"], "aborted within the 2 s poll");
    await r.sessions.dispatch({ type: "part.updated", sessionId: "ses_parent", part: taskPart("completed") });
  } finally {
    r.close();
  }
});

test("the rebuild names the subagents still running, and has no such section when none runs", () => {
  const lines = subagentLines([
    {
      sessionId: "ses_c1",
      agent: "general",
      description: "survey logs",
      startedAt: Date.UTC(2026, 11, 7, 19, 42),
      tokens: 1200,
    },
  ]);
  assert.equal(
    lines,
    "- general «survey logs» (session ses_c1, started 2026-12-07T19:42Z, 1200 tokens so far): its answer comes back as the result of your task call; do not start it again.",
  );
  const sources = {
    taskLedger: "",
    allTasksSettled: false,
    hasTasks: false,
    checkpoint: undefined,
    userMessages: ["do it"],
    projectMemory: "",
    globalMemory: "",
    notes: "",
    memoryIndex: [],
    tailEnd: "user-waiting" as const,
  };
  const withSection = assembleDump({ ...sources, subagentsRunning: lines }, 8000);
  assert.match(withSection, /## Subagents still running \(started with the task tool\)\n- general «survey logs»/);
  assert.doesNotMatch(assembleDump(sources, 8000), /Subagents still running/);
});
