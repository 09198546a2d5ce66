// History holds the conversation, not the pack's own lookups: 50 searches in one session, each driven as OpenCode
// streams a tool call (pending, running with its arguments, completed with its output), through the history tool
// itself; the top hit of every search is a conversation turn, never a search.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HistoryRecorder } from "../../plugins/memory/history-recorder.ts";
import { isPackLookup, searchHistory, upsertParts } from "../../plugins/memory/history-store.ts";
import { migrateMemory } from "../../plugins/memory/index-store.ts";
import { memoryTools } from "../../plugins/memory/tools.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

const TOPICS = ["pelican", "heron", "osprey", "kestrel", "falcon", "puffin", "gannet", "avocet", "curlew", "plover"];

test("50 history searches in one session: every top hit is a conversation turn, never the running call or an earlier search", async () => {
  const f = await memoryFixture();
  try {
    const recorder = new HistoryRecorder({ db: f.db, projectId: "proj-1", redact: (t) => t, isMain: async () => true, retentionDays: 30, debounceMs: 5 });
    const tools = memoryTools({ service: f.service, history: recorder, db: f.db, projectId: "proj-1", turnOf: () => 1, notify: () => {} });
    const now = Date.now();
    TOPICS.forEach((topic, i) => {
      recorder.onMessageUpdated({ id: `msg_u${i}`, role: "user" });
      recorder.onPartUpdated({ id: `prt_u${i}`, sessionID: "ses_main", messageID: `msg_u${i}`, type: "text", text: `the ${topic} nests by the harbour wall`, time: { start: now + i, end: now + i } });
    });
    await recorder.flush();
    const ctx = { sessionID: "ses_main", messageID: "msg_a", agent: "build", abort: new AbortController().signal };
    for (let n = 0; n < 50; n++) {
      const topic = TOPICS[n % TOPICS.length]!;
      const args = { action: "search", query: `where does the ${topic} nest harbour` };
      const call = { id: `prt_call${n}`, sessionID: "ses_main", messageID: `msg_a${n}`, type: "tool", tool: "history" };
      recorder.onPartUpdated({ ...call, state: { status: "pending", input: {} } });
      recorder.onPartUpdated({ ...call, state: { status: "running", input: args, time: { start: Date.now() } } });
      const output = await tools.history!.execute(args, ctx);
      recorder.onPartUpdated({ ...call, state: { status: "completed", input: args, output, time: { start: Date.now(), end: Date.now() } } });
      // The memory tool's own search is a lookup too; a memory search started and left streaming must not count.
      recorder.onPartUpdated({ id: `prt_mem${n}`, sessionID: "ses_main", messageID: `msg_a${n}`, type: "tool", tool: "memory", state: { status: "completed", input: { action: "search", query: topic }, output: `0 memory entries for ${topic}` } });
      await recorder.flush();
      const hits = searchHistory(f.db, "proj-1", args.query).hits;
      assert.ok(hits.length > 0, `search ${n} finds something`);
      assert.equal(hits[0]!.partId, `prt_u${n % TOPICS.length}`, `search ${n}: the top hit is the turn about ${topic}`);
      assert.ok(hits.every((h) => h.kind === "text"), `search ${n} returns conversation turns only`);
      assert.match(output, new RegExp(`part prt_u${n % TOPICS.length} `), "the tool's own answer leads with the turn");
    }
    const rows = f.db.prepare("SELECT COUNT(*) AS n FROM history_parts").get<{ n: number }>()!.n;
    assert.equal(rows, TOPICS.length, "no lookup was kept in the index");
  } finally {
    f.cleanup();
  }
});

test("lookups are recognised by tool and action; writes of the pack stay history", () => {
  assert.equal(isPackLookup("history", { action: "get" }), true);
  assert.equal(isPackLookup("memory", { action: "search", query: "x" }), true);
  assert.equal(isPackLookup("memory", { action: "remember", text: "x" }), false);
  assert.equal(isPackLookup("tasks", { action: "list" }), true);
  assert.equal(isPackLookup("tasks", { action: "create" }), false);
  assert.equal(isPackLookup("bash", { command: "history" }), false);
});

test("a call first written while its arguments were unknown is dropped once they show a lookup", async () => {
  const f = await memoryFixture();
  try {
    const recorder = new HistoryRecorder({ db: f.db, projectId: "proj-1", redact: (t) => t, isMain: async () => true, retentionDays: 30 });
    const call = { id: "prt_m", sessionID: "ses", messageID: "msg", type: "tool", tool: "memory" };
    recorder.onPartUpdated({ ...call, state: { status: "pending", input: {} } });
    await recorder.flush();
    assert.equal(f.db.prepare("SELECT COUNT(*) AS n FROM history_parts").get<{ n: number }>()!.n, 1);
    recorder.onPartUpdated({ ...call, state: { status: "completed", input: { action: "search", query: "q" }, output: "0 memory entries" } });
    await recorder.flush();
    assert.equal(f.db.prepare("SELECT COUNT(*) AS n FROM history_parts").get<{ n: number }>()!.n, 0);
  } finally {
    f.cleanup();
  }
});

test("the migration drops lookups indexed before the rule, and keeps every other part", async () => {
  const f = await memoryFixture();
  try {
    const part = (id: string, kind: "text" | "tool", text: string, tool?: string) => ({ partId: id, projectId: "proj-1", sessionId: "s", messageId: "m", role: "assistant", kind, tool, createdAt: Date.now(), text });
    upsertParts(f.db, [
      part("p1", "text", "a turn about gannets"),
      part("p2", "tool", 'tool history {"action":"search","query":"gannets"}\n→ 1 history hit', "history"),
      part("p3", "tool", 'tool memory {"query":"gannets","action":"search"}\n→ 0 entries', "memory"),
      part("p4", "tool", 'tool memory {"action":"remember","text":"gannets dive"}\n→ Remembered; "action":"search"', "memory"),
      part("p5", "tool", 'tool bash {"command":"grep gannets"}\n→ gannets', "bash"),
    ]);
    f.db.prepare("DELETE FROM schema_migrations WHERE feature = 'memory' AND version >= 3").run();
    migrateMemory(f.db);
    const left = f.db.prepare("SELECT part_id AS id FROM history_parts ORDER BY part_id").all<{ id: string }>().map((r) => r.id);
    assert.deepEqual(left, ["p1", "p4", "p5"]);
  } finally {
    f.cleanup();
  }
});
