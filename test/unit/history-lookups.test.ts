// History holds the conversation, not the pack's own lookups: 50 searches in one session, each driven as OpenCode
// streams a tool call (pending, running with its arguments, completed with its output), through the history tool
// itself; the top hit of every search is a conversation turn, never a search.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HistoryRecorder } from "../../plugins/memory/history-recorder.ts";
import { isPackLookup, searchHistory, upsertParts } from "../../plugins/memory/history-store.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { migrate } from "../../plugins/core/storage/migrations.ts";
import { MEMORY_MIGRATIONS, migrateMemory, scopeTokens, searchEntries } from "../../plugins/memory/index-store.ts";
import { memoryTools } from "../../plugins/memory/tools.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

const TOPICS = ["pelican", "heron", "osprey", "kestrel", "falcon", "puffin", "gannet", "avocet", "curlew", "plover"];

test("50 history searches in one session: every top hit is a conversation turn, never the running call or an earlier search", async () => {
  const f = await memoryFixture();
  try {
    const recorder = new HistoryRecorder({
      db: f.db,
      projectId: "proj-1",
      redact: (t) => t,
      isMain: async () => true,
      retentionDays: 30,
      debounceMs: 5,
    });
    const tools = memoryTools({
      service: f.service,
      history: recorder,
      db: f.db,
      projectId: "proj-1",
      turnOf: () => 1,
      notify: () => {},
    });
    const now = Date.now();
    TOPICS.forEach((topic, i) => {
      recorder.onMessageUpdated({ id: `msg_u${i}`, role: "user" });
      recorder.onPartUpdated({
        id: `prt_u${i}`,
        sessionID: "ses_main",
        messageID: `msg_u${i}`,
        type: "text",
        text: `the ${topic} nests by the harbour wall`,
        time: { start: now + i, end: now + i },
      });
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
      recorder.onPartUpdated({
        ...call,
        state: { status: "completed", input: args, output, time: { start: Date.now(), end: Date.now() } },
      });
      // The memory tool's own search is a lookup too; a memory search started and left streaming must not count.
      recorder.onPartUpdated({
        id: `prt_mem${n}`,
        sessionID: "ses_main",
        messageID: `msg_a${n}`,
        type: "tool",
        tool: "memory",
        state: {
          status: "completed",
          input: { action: "search", query: topic },
          output: `0 memory entries for ${topic}`,
        },
      });
      await recorder.flush();
      const hits = searchHistory(f.db, "proj-1", args.query).hits;
      assert.ok(hits.length > 0, `search ${n} finds something`);
      assert.equal(hits[0]!.partId, `prt_u${n % TOPICS.length}`, `search ${n}: the top hit is the turn about ${topic}`);
      assert.ok(
        hits.every((h) => h.kind === "text"),
        `search ${n} returns conversation turns only`,
      );
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
    const recorder = new HistoryRecorder({
      db: f.db,
      projectId: "proj-1",
      redact: (t) => t,
      isMain: async () => true,
      retentionDays: 30,
    });
    const call = { id: "prt_m", sessionID: "ses", messageID: "msg", type: "tool", tool: "memory" };
    recorder.onPartUpdated({ ...call, state: { status: "pending", input: {} } });
    await recorder.flush();
    assert.equal(f.db.prepare("SELECT COUNT(*) AS n FROM history_parts").get<{ n: number }>()!.n, 1);
    recorder.onPartUpdated({
      ...call,
      state: { status: "completed", input: { action: "search", query: "q" }, output: "0 memory entries" },
    });
    await recorder.flush();
    assert.equal(f.db.prepare("SELECT COUNT(*) AS n FROM history_parts").get<{ n: number }>()!.n, 0);
  } finally {
    f.cleanup();
  }
});

test("an index of main's schema (memory v2) migrates in place: no entry or turn lost, lookups dropped, stemmed search and context work", async () => {
  const root = mkdtempSync(join(tmpdir(), "continuum-migrate-"));
  const db = await openDatabase(join(root, "continuum.db"));
  try {
    migrate(db, "memory", MEMORY_MIGRATIONS.slice(0, 2));
    const entry = db.prepare(
      `INSERT INTO memory_entries (entry_id, path, scope, scope_id, project_id, section, heading, line_start, line_end, text, tokens, body, head, scope_key)
       VALUES (?, '/m/MEMORY.md', 'project', 'proj-1', 'proj-1', 'Rules', 'Rules', ?, ?, ?, 10, ?, 'Rules', ?)`,
    );
    const scopeKey = scopeTokens("project", "proj-1", "proj-1");
    for (let i = 0; i < 300; i++)
      entry.run(`m-${i}`, i, i, `entry ${i}: deployments run nightly`, `entry ${i}: deployments run nightly`, scopeKey);
    const part = db.prepare(
      `INSERT INTO history_parts (part_id, project_id, session_id, message_id, role, kind, tool, created_at, text, body) VALUES (?, 'proj-1', 's', ?, 'user', ?, ?, ?, ?, ?)`,
    );
    const texts = ["we adopted a puppy", "what breed is it?", "a corgi, she loves the beach"];
    texts.forEach((t, i) => part.run(`p${i}`, `m${i}`, "text", null, i, t, t));
    const tool = (id: string, name: string, text: string) => part.run(id, `m${id}`, "tool", name, 10, text, text);
    tool("t1", "history", 'tool history {"action":"search","query":"puppy"}\n→ 1 history hit');
    tool("t2", "memory", 'tool memory {"query":"puppy","action":"search"}\n→ 0 entries');
    tool("t3", "memory", 'tool memory {"action":"remember","text":"corgi"}\n→ Remembered; "action":"search"');
    tool("t4", "bash", 'tool bash {"command":"grep puppy"}\n→ puppy');
    migrateMemory(db);
    assert.equal(
      db.prepare("SELECT COUNT(*) AS n FROM memory_entries").get<{ n: number }>()!.n,
      300,
      "every memory entry kept",
    );
    const left = db
      .prepare("SELECT part_id AS id FROM history_parts ORDER BY part_id")
      .all<{ id: string }>()
      .map((r) => r.id);
    assert.deepEqual(left, ["p0", "p1", "p2", "t3", "t4"], "turns and the pack's writes kept, lookups gone");
    assert.equal(
      searchEntries(db, { query: "deployment", scope: "all", projectId: "proj-1", limit: 5 }).hits.length,
      5,
      "migrated entries found, stemmed",
    );
    assert.equal(
      searchEntries(db, { query: "deploy", scope: "all", projectId: "proj-1", limit: 5 }).hits.length,
      5,
      "a prefix ending in y still finds them",
    );
    const hits = searchHistory(db, "proj-1", "which breed of puppy").hits.map((h) => h.partId);
    assert.ok(hits.includes("p0") && hits.includes("p1"), `stemmed words found in the migrated turns: ${hits}`);
    const context = db
      .prepare("SELECT context FROM history_parts WHERE part_id = 'p1'")
      .get<{ context: string }>()!.context;
    assert.equal(context, "we adopted a puppy a corgi, she loves the beach", "context rebuilt from the neighbours");
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("a turn is ranked with its neighbours' words but found only by its own", async () => {
  const f = await memoryFixture();
  try {
    const at = Date.now();
    const turn = (id: string, text: string, i: number) => ({
      partId: id,
      projectId: "proj-1",
      sessionId: "s",
      messageId: `m${id}`,
      role: "user",
      kind: "text" as const,
      createdAt: at + i,
      text,
    });
    upsertParts(f.db, [turn("q", "what did you adopt last week?", 0)]);
    upsertParts(f.db, [turn("a", "a corgi puppy, from the shelter", 1)]);
    upsertParts(f.db, [turn("x", "my neighbour has a corgi too", 2), turn("y", "nice", 3)]);
    const hits = searchHistory(f.db, "proj-1", "which corgi did they adopt").hits.map((h) => h.partId);
    assert.ok(
      hits.indexOf("a") !== -1 && hits.indexOf("a") < hits.indexOf("x"),
      `the corgi turn next to "adopt" ranks above the other corgi turn: ${hits}`,
    );
    assert.ok(!hits.includes("y"), "a part with none of the words is not a hit");
    const ctx = f.db
      .prepare("SELECT context FROM history_parts WHERE part_id = 'a'")
      .get<{ context: string }>()!.context;
    assert.equal(
      ctx,
      "what did you adopt last week? my neighbour has a corgi too",
      "the previous part's context follows a later insert",
    );
  } finally {
    f.cleanup();
  }
});
