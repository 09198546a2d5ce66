import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import {
  actionFor,
  enoughNewContent,
  resolveSchedule,
  tokensInUse,
  usableWindow,
  nextScheduled,
} from "../../plugins/checkpoint/meter.ts";
import {
  SECTIONS,
  checkVerbatimQuote,
  checkpointShapeProblems,
  composeSections,
  renderCheckpoint,
  validateWriterSections,
} from "../../plugins/checkpoint/sections.ts";
import {
  exactValues,
  fileUses,
  isPackText,
  liveResources,
  messagesSince,
  renderCompact,
  toolFailures,
  type HostMessage,
} from "../../plugins/checkpoint/transcript.ts";
import { userTexts } from "../../plugins/checkpoint/writer-input.ts";
import {
  applyCut,
  assembleDump,
  DUMP_MARKER,
  recentUserMessages,
  selectBoundary,
  shortenOldToolOutputs,
  tailEnd,
  waterFill,
} from "../../plugins/checkpoint/rebuild.ts";
import { buildWriterInput } from "../../plugins/checkpoint/writer-input.ts";
import { WriterQueue } from "../../plugins/checkpoint/writer.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { formatContextReport } from "../../plugins/checkpoint/report.ts";

const cfg = () => defaultConfig().checkpoint;
let seq = 0;
const msg = (role: string, parts: HostMessage["parts"], extra: Record<string, unknown> = {}): HostMessage => ({
  info: { id: `msg_${String(++seq).padStart(5, "0")}`, sessionID: "ses_1", role, time: { created: seq }, ...extra },
  parts,
});
const text = (t: string) => ({ type: "text", text: t, id: `prt_${++seq}` });
const toolPart = (
  tool: string,
  input: Record<string, unknown>,
  output: string,
  status = "completed",
  metadata: Record<string, unknown> = {},
) => ({
  type: "tool",
  tool,
  id: `prt_${++seq}`,
  state: { status, input, output, error: status === "error" ? output : undefined, metadata },
});

// ---- meter and schedule ------------------------------------------------------------------------------------

test("usable window follows OpenCode's compaction rule", () => {
  assert.equal(usableWindow({ context: 40000, output: 4000 }), 36000);
  assert.equal(usableWindow({ context: 200000, output: 64000 }), 168000, "output capped at 32000");
  assert.equal(usableWindow({ context: 200000, input: 150000, output: 8000 }), 142000, "input limit minus reserved");
  assert.equal(usableWindow({ context: 0, output: 0 }), 0);
  assert.equal(tokensInUse({ input: 100, output: 20, cache: { read: 30, write: 5 } }), 155);
  assert.equal(tokensInUse({ total: 999, input: 1, output: 1 }), 999);
});

test("schedule: fractions and absolute tokens, per-model overrides, rebuild below compaction, small windows rebuild only", () => {
  const s = resolveSchedule(cfg(), "fake/m", { context: 40000, output: 4000 });
  assert.deepEqual(s.thresholds, [7200, 16200, 25200]);
  assert.equal(s.rebuildAt, 30600);
  assert.equal(s.cap, 21600, "60% of usable below ~110K");
  const big = resolveSchedule(cfg(), "x/big", { context: 200000, output: 32000 });
  assert.equal(big.cap, 65000);
  const custom = { ...cfg(), models: { "x/y": { thresholds: [5000, 0.5], rebuildAt: 0.99 } } };
  const o = resolveSchedule(custom, "x/y", { context: 40000, output: 4000 });
  assert.deepEqual(o.thresholds, [5000, 18000]);
  assert.ok(o.rebuildAt < o.usable, "rebuild always below OpenCode's compaction point");
  const low = resolveSchedule({ ...cfg(), rebuildAt: 0.3 }, "x/big", { context: 200000, output: 32000 });
  assert.ok(low.cap <= low.rebuildAt * 0.8, "a rebuilt request never lands over the rebuild point");
  const small = resolveSchedule(cfg(), "s/s", { context: 16000, output: 2000 });
  assert.deepEqual(small.thresholds, []);
  assert.equal(small.rebuildAt, Math.round(0.85 * 14000));
});

test("actions: each threshold fires once, a jump over two fires one, the rebuild point wins", () => {
  const s = resolveSchedule(cfg(), "m", { context: 40000, output: 4000 });
  assert.deepEqual(actionFor(3000, s, -1), { kind: "none" });
  assert.deepEqual(actionFor(7300, s, -1), { kind: "checkpoint", threshold: 7200, index: 0 });
  assert.deepEqual(actionFor(8000, s, 0), { kind: "none" });
  assert.deepEqual(actionFor(26000, s, 0), { kind: "checkpoint", threshold: 25200, index: 2 });
  assert.deepEqual(actionFor(31000, s, 2), { kind: "rebuild" });
  assert.match(nextScheduled(8000, s, 0), /checkpoint at 16200 tokens \(45%\)/);
  assert.equal(enoughNewContent(900, 0, 28000), false, "a crossing on system prompt + tools alone waits");
  assert.equal(enoughNewContent(5000, 3000, 28000), true);
  assert.equal(enoughNewContent(5000, 4000, 100000), false, "5 % of the window");
  assert.match(nextScheduled(26000, s, 2), /rebuild at 30600/);
});

// ---- sections ----------------------------------------------------------------------------------------------

const goodSections = {
  active_intent: "Ship the importer.\n> Build the CSV importer, never edit db/schema.sql.",
  next_action: "Run the tests.",
  directives: "- never edit db/schema.sql",
  current_work: "Parser half done.",
  knowledge: "none",
  decisions: "Use streaming parse.",
  open_notes: "none",
};
const users = ["Build the CSV importer, never edit db/schema.sql."];

test("validation: 11 sections, missing ones and over-budget ones are named, §1 needs a real quote", () => {
  assert.equal(SECTIONS.length, 11);
  assert.equal(validateWriterSections(goodSections, { userMessages: users }).ok, true);
  const missing = validateWriterSections({ ...goodSections, next_action: undefined }, { userMessages: users });
  assert.equal(missing.ok, false);
  assert.match((missing as { problems: string[] }).problems.join(), /§2 Next concrete action \(next_action\)/);
  const long = validateWriterSections({ ...goodSections, open_notes: "word ".repeat(1000) }, { userMessages: users });
  assert.match(
    (long as { problems: string[] }).problems.join(),
    /§11 Open notes is \d+ tokens, over its budget of 600/,
  );
  const empty = validateWriterSections({ ...goodSections, knowledge: "  " }, { userMessages: users });
  assert.match((empty as { problems: string[] }).problems.join(), /§7 .* is empty/);
  assert.match(checkVerbatimQuote("no quote here", users)!, /must quote/);
  assert.match(checkVerbatimQuote("> Build a JSON importer", users)!, /not in any user message/);
  assert.equal(checkVerbatimQuote(">   Build the CSV   importer", users), undefined, "whitespace-insensitive");
  assert.equal(checkVerbatimQuote("> ok", ["ok"]), undefined, "a short message quoted whole");
});

test("compose + render: code-filled sections, exact values, stable markdown with all headings", () => {
  const facts = {
    taskTree: "- [~] T1 x (in_progress)",
    files: "- `a.ts` (edit ×2)",
    errors: "(no failed tool calls)",
    liveResources: "- cwd: `/p`",
    exactValues: ["postgres://u@h:5432/db"],
  };
  const sections = composeSections({ ...goodSections, errors: "root cause: bad path" }, facts);
  assert.match(sections.directives, /Exact values from the user \(verbatim\):\n- `postgres:\/\/u@h:5432\/db`/);
  assert.match(sections.errors, /Note: root cause: bad path/);
  const md = renderCheckpoint(
    { sessionId: "s", seq: 2, writtenAt: "2026-01-01T00:00:00.000Z", watermark: "msg_9" },
    sections,
  );
  assert.deepEqual(checkpointShapeProblems(md), []);
  assert.equal(
    md,
    renderCheckpoint({ sessionId: "s", seq: 2, writtenAt: "2026-01-01T00:00:00.000Z", watermark: "msg_9" }, sections),
    "byte-stable",
  );
  assert.deepEqual(checkpointShapeProblems(md.replace("## 5. Current work", "## Current")), [
    'missing section "## 5. Current work"',
  ]);
});

// ---- transcript facts --------------------------------------------------------------------------------------

test("facts: file counts, failures with their later fix, ports and background commands", () => {
  const messages = [
    msg("user", [text("go")]),
    msg("assistant", [
      toolPart("read", { filePath: "src/a.ts" }, "..."),
      toolPart("edit", { filePath: "src/a.ts" }, "", "error"),
      toolPart("edit", { filePath: "src/a.ts" }, "ok"),
      toolPart("write", { filePath: "src/b.ts" }, "ok"),
      toolPart("bash", { command: "npm test" }, "1 failing", "completed", { exit: 1 }),
      toolPart("bash", { command: "python -m http.server 8123 &" }, "Serving on 0.0.0.0:8123"),
      toolPart("bash", { command: "PORT=3000 npm run dev &" }, "listening on :3000"),
    ]),
  ];
  assert.deepEqual(
    fileUses(messages).map((u) => [u.path, u.read, u.edit, u.write]),
    [
      ["src/a.ts", 1, 1, 0],
      ["src/b.ts", 0, 0, 1],
    ],
  );
  const failures = toolFailures(messages);
  assert.equal(failures.length, 2);
  assert.equal(failures[0]!.fixedBy, "edit src/a.ts");
  assert.equal(failures[1]!.fixedBy, undefined);
  const live = liveResources(messages, "/p", "main");
  assert.deepEqual(live.ports, [3000, 8123]);
  assert.equal(live.background.length, 2);
});

test("exact values survive byte for byte: DSNs, backticked commands, paths, pins, host:port", () => {
  const values = exactValues([
    "Use postgres://app@db:5432/x and run `npm run build -- --prod`; never edit db/schema.sql; pin zod@4.1.8; ping localhost:8080. API_URL=https://a.b/c",
  ]);
  for (const v of [
    "postgres://app@db:5432/x",
    "npm run build -- --prod",
    "db/schema.sql",
    "zod@4.1.8",
    "localhost:8080",
    "API_URL=https://a.b/c",
  ]) {
    assert.ok(values.includes(v), `${v} in ${JSON.stringify(values)}`);
  }
});

test("compact rendering: tool outputs truncated, redaction applied, only messages after the watermark", () => {
  const a = msg("user", [text("first")]);
  const b = msg("assistant", [toolPart("bash", { command: "cat big" }, "x".repeat(20000))]);
  const c = msg("user", [text("second")]);
  assert.deepEqual(
    messagesSince([a, b, c], a.info.id).map((m) => m.info.id),
    [b.info.id, c.info.id],
  );
  assert.equal(messagesSince([a, b, c], "gone").length, 3);
  const out = renderCompact([b, c], {
    toolOutputTokens: 100,
    textTokens: 100,
    redact: (t) => t.replace("second", "[R]"),
  });
  assert.ok(estimateTokens(out) < 300);
  assert.match(out, /\[… truncated\]/);
  assert.match(out, /\[R\]/);
});

test("writer input stays within delta + previous checkpoint + 3,000 tokens", () => {
  const delta = Array.from({ length: 40 }, (_, i) =>
    msg(i % 2 ? "assistant" : "user", [text(`message ${i} `.repeat(50))]),
  );
  const previous = "# Checkpoint\n" + "previous state ".repeat(400);
  const facts = {
    taskTree: "- [ ] T1 a (open)\n".repeat(50),
    files: "- `f.ts` (read ×1)\n".repeat(200),
    errors: "x",
    liveResources: "y",
    exactValues: [],
  };
  const input = buildWriterInput({
    sessionId: "s",
    previous,
    delta,
    facts,
    firstRequest: "do it",
    redact: (t) => t,
    maxDeltaTokens: 40000,
  });
  const deltaTokens = estimateTokens(
    renderCompact(delta, { toolOutputTokens: 250, textTokens: 1500, redact: (t) => t }),
  );
  assert.ok(
    estimateTokens(input) <= deltaTokens + estimateTokens(previous) + 3000,
    `${estimateTokens(input)} ≤ ${deltaTokens} + ${estimateTokens(previous)} + 3000`,
  );
  const capped = buildWriterInput({
    sessionId: "s",
    previous,
    delta,
    facts,
    firstRequest: undefined,
    redact: (t) => t,
    maxDeltaTokens: 500,
  });
  assert.match(capped, /older messages left out/);
});

// ---- rebuild -----------------------------------------------------------------------------------------------

test("tail selection: minimums, cap, stale checkpoint, never the whole history", () => {
  const tokens = Array(20).fill(1000);
  const texts = Array(20).fill(true);
  assert.equal(
    selectBoundary(tokens, texts, { minTokens: 5000, minTextMessages: 5, maxTokens: 50000, coveredIndex: 19 }),
    15,
  );
  assert.equal(
    selectBoundary(tokens, texts, { minTokens: 5000, minTextMessages: 5, maxTokens: 50000, coveredIndex: 9 }),
    10,
    "stale checkpoint → longer tail",
  );
  assert.equal(
    selectBoundary(tokens, texts, { minTokens: 5000, minTextMessages: 5, maxTokens: 3500, coveredIndex: 9 }),
    17,
    "the cap wins",
  );
  assert.equal(
    selectBoundary([100, 100, 100], [true, true, true], {
      minTokens: 5000,
      minTextMessages: 5,
      maxTokens: 50000,
      coveredIndex: 2,
    }),
    0,
    "fits: nothing cut",
  );
  assert.equal(
    selectBoundary([100, 90000], [true, true], {
      minTokens: 5000,
      minTextMessages: 5,
      maxTokens: 3000,
      coveredIndex: 1,
    }),
    1,
    "newest message always kept",
  );
  const sparse = [true, true, true, false, false, false, false, false, false, true];
  assert.equal(
    selectBoundary(Array(10).fill(3000), sparse, {
      minTokens: 1000,
      minTextMessages: 3,
      maxTokens: 100000,
      coveredIndex: 9,
    }),
    1,
    "needs 3 text messages",
  );
});

test("old tool outputs in the tail are shortened, recent ones kept, originals untouched", () => {
  const parts = Array.from({ length: 6 }, (_, i) => toolPart("read", { filePath: `f${i}` }, "y".repeat(8000)));
  const messages = parts.map((p) => msg("assistant", [p]));
  const original = messages[0]!;
  shortenOldToolOutputs(messages, 0, 4, 300);
  assert.ok(String(messages[0]!.parts[0]!.state!.output).length < 2000);
  assert.ok(String(messages[1]!.parts[0]!.state!.output).length < 2000);
  assert.equal(String(messages[5]!.parts[0]!.state!.output).length, 8000);
  assert.equal(String(original.parts[0]!.state!.output).length, 8000, "the host's objects are not mutated");
});

test("framing follows how the tail ends; all tasks done says do not redo", () => {
  assert.equal(tailEnd([msg("user", [text("hi")])]), "user-waiting");
  assert.equal(
    tailEnd([msg("assistant", [text("let me look"), toolPart("read", { filePath: "a" }, "x")])]),
    "mid-tool-loop",
  );
  assert.equal(tailEnd([msg("assistant", [text("done")], { finish: "stop" })]), "assistant-answered");
  const base = {
    taskLedger: "t",
    hasTasks: true,
    allTasksSettled: false,
    checkpoint: "c",
    userMessages: [],
    projectMemory: "",
    globalMemory: "",
    notes: "",
    memoryIndex: [],
  };
  assert.match(assembleDump({ ...base, tailEnd: "mid-tool-loop" }, 5000), /middle of a tool loop/);
  assert.match(
    assembleDump({ ...base, allTasksSettled: true, tailEnd: "mid-tool-loop" }, 5000),
    /Do NOT redo finished work/,
  );
});

test("dump: order, verbatim user words newest first under caps, total under budget", () => {
  const userMessages = Array.from({ length: 20 }, (_, i) => `message ${i}: ${"detail ".repeat(300)}`);
  userMessages[0] = "never edit db/schema.sql; DSN postgres://app@db:5432/x";
  const sources = {
    taskLedger: "1 tasks\n- [~] T1 a (in_progress)",
    hasTasks: true,
    allTasksSettled: false,
    checkpoint: "# Checkpoint\n" + "state ".repeat(3000),
    userMessages,
    projectMemory: "## Rules\n- use pnpm",
    globalMemory: "prefers short answers",
    notes: "notes here",
    memoryIndex: ["/m/memory-db.md"],
    tailEnd: "user-waiting" as const,
  };
  for (const budget of [3000, 12000, 52000]) {
    const dump = assembleDump(sources, budget);
    assert.ok(estimateTokens(dump) <= budget + 50, `dump ${estimateTokens(dump)} ≤ budget ${budget}`);
    assert.ok(dump.startsWith(DUMP_MARKER));
    const order = [
      "## Task ledger",
      "## Checkpoint",
      "## The user's messages",
      "## Project memory",
      "## Global memory",
      "## Session notes",
      "## Other memory files",
    ].map((h) => dump.indexOf(h));
    assert.ok(
      order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]!)),
      `sections in order at budget ${budget}: ${order}`,
    );
    assert.ok(dump.includes("message 19:"), "the newest user message is kept");
  }
  assert.ok(assembleDump(sources, 52000).includes("never edit db/schema.sql; DSN postgres://app@db:5432/x"));
  const kept = recentUserMessages(["a", "b", "c".repeat(10000)], 100, 1000);
  assert.match(kept, /^> a\n\n> b\n\n> c+\n> \[… message cut\]$/);
  assert.deepEqual(waterFill([10, 1000, 1000], 1010), [10, 500, 500]);
});

test("applying a stored cut: one synthetic user message, tail intact, unknown boundary ignored", () => {
  const messages = [
    msg("user", [text("a")], { agent: "build" }),
    msg("assistant", [text("b")]),
    msg("user", [text("c")]),
    msg("assistant", [text("d")]),
  ];
  const copy = [...messages];
  assert.equal(applyCut(copy, { boundaryMessageId: messages[2]!.info.id, dump: "DUMP" }), 1);
  assert.equal(copy.length, 3);
  assert.equal(copy[0]!.info.role, "user");
  assert.equal(copy[0]!.info.agent, "build");
  assert.equal(copy[0]!.parts[0]!.text, "DUMP");
  assert.equal(copy[1], messages[2]);
  const other = [...messages];
  assert.equal(applyCut(other, { boundaryMessageId: "gone", dump: "D" }), -1);
  assert.equal(other.length, 4);
});

// ---- writer queue ------------------------------------------------------------------------------------------

/** A writer run the test finishes by hand. */
function manualRuns() {
  const started: string[] = [];
  const finish: (() => void)[] = [];
  const run = (main: string, reason: string) => {
    started.push(`${main} ${reason}`);
    return new Promise<void>((resolve) => finish.push(resolve));
  };
  return { run, started, finish };
}
const tick = () => new Promise((r) => setTimeout(r, 5));

test("writer queue: one writer per session, one-slot queue (newest request wins)", async () => {
  const runs = manualRuns();
  const queue = new WriterQueue(runs.run);
  assert.equal(queue.request("s", "20%"), "started");
  assert.equal(queue.request("s", "45%"), "queued");
  assert.equal(queue.request("s", "70%"), "queued");
  assert.equal(queue.status("s").pending, "70%");
  assert.equal(queue.request("other", "20%"), "started", "sessions do not wait for each other");
  runs.finish.shift()!();
  await tick();
  assert.deepEqual(runs.started, ["s 20%", "other 20%", "s 70%"]);
  runs.finish.shift()!();
  runs.finish.shift()!();
  await tick();
  assert.equal(queue.status("s").state, "idle");
});

test("writer queue: waitIdle resolves when the last writer ends, and never waits past its limit", async () => {
  const runs = manualRuns();
  const queue = new WriterQueue(runs.run);
  queue.request("s", "20%");
  const started = Date.now();
  assert.equal(await queue.waitIdle("s", 10), false);
  assert.ok(Date.now() - started < 300);
  const waiting = queue.waitIdle("s", 5000);
  runs.finish.shift()!();
  assert.equal(await waiting, true);
  assert.equal(await queue.waitIdle("s", 10), true);
});

// ---- store and report --------------------------------------------------------------------------------------

test("store: checkpoints numbered per session, latest elsewhere in the project, session state round trip", async () => {
  const db = await openDatabase(":memory:");
  const store = openCheckpointStore(db);
  const sections = composeSections(goodSections, {
    taskTree: "",
    files: "",
    errors: "",
    liveResources: "",
    exactValues: [],
  });
  const a1 = store.saveCheckpoint(
    { sessionId: "a", writtenAt: "2026-01-01T00:00:00Z", watermark: "m1", sections },
    "p",
    (s) => `md ${s}`,
  );
  const a2 = store.saveCheckpoint(
    { sessionId: "a", writtenAt: "2026-01-02T00:00:00Z", watermark: "m2", sections },
    "p",
    (s) => `md ${s}`,
  );
  assert.deepEqual([a1.seq, a2.seq, a2.markdown], [1, 2, "md 2"]);
  assert.equal(store.latest("a")!.watermark, "m2");
  assert.equal(store.latestElsewhere("p", "b")!.sessionId, "a");
  assert.equal(store.latestElsewhere("p", "a"), undefined);
  store.update("a", { firedIndex: 1, boundaryMessageId: "m5", boundaryDump: "D" });
  store.addWriterTokens("a", 100, 20);
  const state = store.state("a");
  assert.deepEqual(
    [state.firedIndex, state.boundaryMessageId, state.writerInputTokens, state.writerOutputTokens],
    [1, "m5", 100, 20],
  );
  const report = formatContextReport({
    state: {
      ...state,
      lastUsed: 9000,
      writerRuns: 2,
      writerFailures: 1,
      lastFailure: "timed out",
      lastFailureAt: "2026-01-02T00:00:00Z",
    },
    schedule: resolveSchedule(cfg(), "m", { context: 40000, output: 4000 }),
    checkpoint: {
      seq: 2,
      writtenAt: "2026-01-02T00:00:00Z",
      watermark: "m2",
      file: "/x/checkpoint.md",
      shapeProblems: [],
    },
    writer: { state: "idle" },
    now: new Date("2026-01-02T00:05:00Z"),
    estimate: { estimated: 1000, reported: 900 },
  });
  assert.match(report, /Context: 9,000 \/ 36,000 usable tokens \(25%\)/);
  assert.match(report, /20% ✓ \(7,200\), 45% ✓ \(16,200\), 70% · \(25,200\)/);
  assert.match(report, /Last checkpoint: #2, 5 min ago/);
  assert.match(report, /failures 1/);
  assert.match(report, /last failure .*timed out/);
  assert.match(report, /Writer tokens: 100 in · 20 out/);
  assert.match(report, /×0\.90/);
});

test("request estimator: cached part estimates, overhead learnt from reports, honest prediction check", async () => {
  const { RequestEstimator } = await import("../../plugins/checkpoint/estimate.ts");
  const estimator = new RequestEstimator();
  const messages = [
    msg("user", [text("hello ".repeat(100))]),
    msg("assistant", [toolPart("read", { filePath: "a" }, "x".repeat(4000))]),
  ];
  const first = estimator.messagesTokens(messages);
  assert.equal(estimator.messagesTokens(messages), first, "stable");
  estimator.noteRequest(first);
  estimator.noteReported(first + 5000);
  assert.equal(estimator.overheadOf(0), 5000);
  assert.equal(estimator.check(), undefined, "no prediction before an overhead was known");
  estimator.noteRequest(first);
  estimator.noteReported(first + 6000);
  assert.deepEqual(estimator.check(), { estimated: first + 5000, reported: first + 6000 });
  assert.equal(estimator.overheadOf(0), 6000);
  estimator.noteRequest(first);
  estimator.noteReported(first + 1000);
  assert.equal(estimator.overheadOf(0), 5400, "a drop decays slowly, so caps err safe");
});

test("planRebuild: overhead + dump + tail under the cap with its margin; early constraint kept; stale checkpoint honoured", async () => {
  const { planRebuild, capMargin } = await import("../../plugins/checkpoint/rebuild.ts");
  const messages: HostMessage[] = [msg("user", [text("Never edit db/schema.sql. DSN postgres://app@db:5432/x")])];
  for (let i = 0; i < 40; i++) {
    messages.push(
      msg("assistant", [text(`step ${i}`), toolPart("read", { filePath: `f${i}.txt` }, `row ${i}\n`.repeat(400))], {
        finish: "tool-calls",
      }),
    );
    if (i % 5 === 4) messages.push(msg("user", [text(`continue with batch ${i}`)]));
  }
  const base = {
    messages,
    cap: 21600,
    overhead: 9000,
    taskLedger: "- [~] T1 import (in_progress)",
    hasTasks: true,
    allTasksSettled: false,
    memory: { projectMemory: "## Rules\n- use pnpm", globalMemory: "", notes: "", memoryIndex: [] },
    tailMinTokens: 10000,
    tailMinTextMessages: 5,
    afterCompaction: false,
    isPackText: (t: string) => t.startsWith("[continuum"),
    redact: (t: string) => t,
  };
  const plan = planRebuild({
    ...base,
    checkpoint: {
      markdown: "# Checkpoint\n" + "fact ".repeat(800),
      watermark: messages[30]!.info.id,
      age: "1 min ago",
    },
  });
  assert.equal(plan.cut, true);
  if (!plan.cut) return;
  const total = 9000 + estimateTokens(plan.dump) + plan.tailTokens;
  assert.ok(total <= 21600 - capMargin(21600), `overhead + dump + tail = ${total} ≤ cap − margin`);
  assert.ok(
    plan.dump.includes("Never edit db/schema.sql. DSN postgres://app@db:5432/x"),
    "the user's early words verbatim",
  );
  assert.ok(plan.dump.includes("T1 import"));
  assert.ok(plan.dump.includes("# Checkpoint"));
  assert.equal(plan.boundaryMessageId, messages[plan.boundary]!.info.id);
  const small = planRebuild({ ...base, messages: messages.slice(0, 3) });
  assert.equal(small.cut, false, "a short history is left alone");
  const checkpoint = {
    markdown: "# Checkpoint\n" + "fact ".repeat(800),
    watermark: messages[30]!.info.id,
    age: "1 min ago",
  };
  const huge = planRebuild({ ...base, checkpoint, overhead: 50000 });
  assert.ok(
    huge.cut && huge.dump.includes("fact fact") && !huge.dump.includes("cut to fit the rebuild cap"),
    "an absurd learnt overhead cannot starve the dump: the checkpoint stays whole",
  );
});

test("planRebuild: a history that fits only once old tool outputs are shortened asks for them to be shortened, not cut", async () => {
  const { planRebuild, shortenOldToolOutputs } = await import("../../plugins/checkpoint/rebuild.ts");
  // One instruction, then tool calls only: no tail of text messages to keep, so nothing is cut.
  const messages: HostMessage[] = [msg("user", [text("Read every file in data/.")])];
  for (let i = 0; i < 12; i++)
    messages.push(
      msg("assistant", [toolPart("read", { filePath: `f${i}.txt` }, `row ${i} value\n`.repeat(500))], {
        finish: "tool-calls",
      }),
    );
  const input = {
    messages,
    cap: 21600,
    overhead: 4000,
    taskLedger: "",
    hasTasks: false,
    allTasksSettled: false,
    memory: { projectMemory: "", globalMemory: "", notes: "", memoryIndex: [] },
    tailMinTokens: 10000,
    tailMinTextMessages: 5,
    afterCompaction: false,
    isPackText: (t: string) => t.startsWith("[continuum"),
    redact: (t: string) => t,
  };
  const plan = planRebuild(input);
  assert.equal(plan.cut, false);
  assert.equal(!plan.cut && plan.shortenOldOutputs, true);
  const shortened = [...messages];
  shortenOldToolOutputs(shortened, 0);
  const size = (list: HostMessage[]) => list.reduce((sum, m) => sum + JSON.stringify(m.parts).length, 0);
  assert.ok(
    size(shortened) < size(messages) / 2,
    "the shortened request is far smaller (the 4 newest outputs stay whole)",
  );
  const fits = planRebuild({ ...input, messages: messages.slice(0, 3) });
  assert.equal(!fits.cut && fits.shortenOldOutputs, undefined, "a history that fits as it is needs nothing");
});

const rebuildBase = {
  cap: 36000,
  overhead: 9000,
  taskLedger: "",
  hasTasks: false,
  allTasksSettled: false,
  memory: { projectMemory: "", globalMemory: "", notes: "", memoryIndex: [] },
  tailMinTokens: 10000,
  tailMinTextMessages: 5,
  isPackText: (t: string) => t.startsWith("[continuum"),
  redact: (t: string) => t,
};

test("a huge tool argument is cut in the rebuilt request, the newest call's too; small ones are left as they are", async () => {
  const { planRebuild, shortenToolInput, MAX_TOOL_INPUT_TOKENS } = await import("../../plugins/checkpoint/rebuild.ts");
  const big = "row of generated fixture data\n".repeat(7000);
  const messages: HostMessage[] = [
    msg("user", [text("Generate the fixture. Never touch db/schema.sql.")]),
    msg("assistant", [text("Planning.")]),
  ];
  messages.push(msg("user", [text("Write it now.")]));
  messages.push(
    msg("assistant", [toolPart("write", { filePath: "fixtures/big.txt", content: big }, "Wrote file successfully.")], {
      finish: "tool-calls",
    }),
  );
  const shaped = [...messages];
  shortenOldToolOutputs(shaped, 0);
  const input = shaped[3]!.parts[0]!.state!.input!;
  assert.equal(input.filePath, "fixtures/big.txt", "short arguments are kept");
  assert.ok(
    String(input.content).length < 5000 && String(input.content).includes("the tool received it in full"),
    "the huge one is cut, with a note",
  );
  assert.equal(messages[3]!.parts[0]!.state!.input!.content, big, "the host's own message is not touched");
  assert.equal(shaped[1], messages[1], "messages without a huge part stay the same objects");
  assert.ok(
    estimateTokens(JSON.stringify(shortenToolInput({ a: big, b: [big, 3], c: { d: big } }))) <=
      MAX_TOOL_INPUT_TOKENS * 2.5,
    "nested strings are cut too",
  );
  const plan = planRebuild({ ...rebuildBase, messages, afterCompaction: false });
  assert.ok(
    !plan.cut && plan.shortenOldOutputs,
    "a short history that fits once the argument is cut keeps every message, shortened",
  );
  // A longer history with the huge call as its newest message: cut, and the tail with that call fits the cap.
  const longer: HostMessage[] = [messages[0]!];
  for (let i = 0; i < 20; i++)
    longer.push(msg("assistant", [text(`plan ${i} `.repeat(1000))]), msg("user", [text(`go on ${i}`)]));
  longer.push(messages[3]!);
  const cut = planRebuild({ ...rebuildBase, messages: longer, afterCompaction: false });
  assert.ok(cut.cut);
  if (!cut.cut) return;
  assert.ok(
    9000 + estimateTokens(cut.dump) + cut.tailTokens < 36000,
    `the rebuilt request fits the cap (tail ${cut.tailTokens} tokens)`,
  );
  assert.ok(cut.dump.includes("Generate the fixture. Never touch db/schema.sql."));
});

test("after OpenCode's compaction the dump quotes the user's earlier words and the checkpoint, and OpenCode's summary stays after it", async () => {
  const { planRebuild } = await import("../../plugins/checkpoint/rebuild.ts");
  const compactionRequest = msg("user", [{ type: "compaction", id: `prt_${++seq}`, auto: true }]);
  const summary = msg("assistant", [text("## Summary\nThe fixture was written.")], { summary: true, finish: "stop" });
  const cont = msg("user", [
    {
      ...text("Continue if you have next steps, or stop and ask for clarification if you are unsure how to proceed."),
      synthetic: true,
    },
  ]);
  const messages = [compactionRequest, summary, cont];
  const checkpoint = {
    markdown: "# Checkpoint\n## 1. Active intent\nFixture generation.",
    watermark: "msg_gone",
    age: "1 min ago",
  };
  const earlier = [
    "Generate the fixture. Never touch db/schema.sql.",
    "[continuum task gate] (1/3) settle tasks",
    "Write it now.",
  ];
  const plan = planRebuild({
    ...rebuildBase,
    messages,
    checkpoint,
    afterCompaction: true,
    earlierUserMessages: earlier,
  });
  assert.ok(plan.cut);
  if (!plan.cut) return;
  assert.equal(
    plan.boundaryMessageId,
    summary.info.id,
    "only OpenCode's compaction request is replaced; its summary follows the dump",
  );
  assert.ok(
    plan.dump.includes("> Generate the fixture. Never touch db/schema.sql.") && plan.dump.includes("> Write it now."),
    "the user's words from before the compaction, verbatim",
  );
  assert.ok(!plan.dump.includes("task gate"), "the pack's own pushes are not quoted as the user's");
  assert.ok(plan.dump.includes("## 1. Active intent"), "the checkpoint");
  assert.ok(
    !plan.dump.includes("The fixture was written."),
    "the summary is not repeated in the dump while it is in the request",
  );
  const request = [...messages];
  applyCut(request, { boundaryMessageId: plan.boundaryMessageId, dump: plan.dump });
  assert.deepEqual(
    request.map((m) => m.info.role),
    ["user", "assistant", "user"],
  );
  assert.ok(request[0]!.parts[0]!.text!.startsWith(DUMP_MARKER));

  // A long tail after the summary: the cap pushes the cut past it, so the summary moves into the dump.
  const long: HostMessage[] = [compactionRequest, summary];
  for (let i = 0; i < 30; i++)
    long.push(msg("user", [text(`step ${i} please`)]), msg("assistant", [text(`done ${i} `.repeat(700))]));
  const later = planRebuild({
    ...rebuildBase,
    messages: long,
    checkpoint,
    afterCompaction: false,
    earlierUserMessages: earlier,
  });
  assert.ok(later.cut && later.boundary > 2);
  assert.ok(
    later.cut && later.dump.includes("The fixture was written.") && later.dump.includes("Generate the fixture."),
    "the summary and the earlier words both survive a later rebuild",
  );
});

test("the pack's own pushes and reports are not the user's words", () => {
  for (const t of [
    "[continuum task gate] (1/3) …",
    "[continuum goal] not met",
    "opencode-continuum · context report",
    "## Memory (opencode-continuum)\n…",
    "[continuum /context] pointer",
  ])
    assert.ok(isPackText(t), t);
  assert.equal(isPackText("please continue"), false);
  const texts = userTexts([
    msg("user", [text("fix the `tasks` tool")]),
    msg("user", [text("[continuum task gate] use the `tasks` tool")]),
  ]);
  assert.deepEqual(texts, ["fix the `tasks` tool"]);
});
