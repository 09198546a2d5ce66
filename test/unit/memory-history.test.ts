// The raw history index fed from host events: only main sessions, redacted, streaming parts coalesced, retention.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HistoryRecorder } from "../../plugins/memory/history-recorder.ts";
import {
  getPart,
  partText,
  pruneHistory,
  searchHistory,
  MAX_TOOL_OUTPUT_CHARS,
} from "../../plugins/memory/history-store.ts";
import { redact } from "../../plugins/core/redaction.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

const textPart = (id: string, session: string, message: string, text: string, end?: number) => ({
  id,
  sessionID: session,
  messageID: message,
  type: "text",
  text,
  time: { start: Date.now(), ...(end ? { end } : {}) },
});

test("main sessions only, redacted, streaming updates coalesced into one row, finished parts written at once", async () => {
  const f = await memoryFixture();
  try {
    const recorder = new HistoryRecorder({
      db: f.db,
      projectId: "proj-1",
      redact,
      isMain: async (id) => id !== "ses_child",
      retentionDays: 30,
      debounceMs: 20,
      isOwnText: (text) => text.startsWith("## Memory (opencode-continuum)"),
    });
    recorder.onPartUpdated(
      textPart("prt_report", "ses_main", "msg_r", "## Memory (opencode-continuum)\npelican report", Date.now()),
    );
    recorder.onMessageUpdated({ id: "msg_u", role: "user" });
    recorder.onPartUpdated(
      textPart("prt_a", "ses_main", "msg_u", "export PGPASSWORD=hunter2hunter2 then run psql on pelican"),
    );
    recorder.onPartUpdated(textPart("prt_c", "ses_child", "msg_c", "child session talks about pelican"));
    for (let i = 1; i <= 5; i++)
      recorder.onPartUpdated(textPart("prt_s", "ses_main", "msg_a", "streaming answer ".repeat(i)));
    await recorder.flush();
    const hits = searchHistory(f.db, "proj-1", "pelican").hits;
    assert.deepEqual(
      hits.map((h) => h.partId),
      ["prt_a"],
      "child sessions are not indexed",
    );
    assert.equal(hits[0]!.role, "user");
    assert.ok(!getPart(f.db, "proj-1", "prt_a")!.text.includes("hunter2hunter2"));
    assert.equal(getPart(f.db, "proj-1", "prt_s")!.text, "streaming answer ".repeat(5));
    recorder.onPartUpdated(textPart("prt_done", "ses_main", "msg_a", "finished with ibis", Date.now()));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(searchHistory(f.db, "proj-1", "ibis").hits.length, 1, "a finished part is written without waiting");
    recorder.onPartUpdated({
      id: "prt_r",
      sessionID: "ses_main",
      messageID: "msg_a",
      type: "reasoning",
      text: "hidden",
    });
    recorder.onPartUpdated({
      ...textPart("prt_syn", "ses_main", "msg_u", "synthetic recall about ibis", Date.now()),
      synthetic: true,
    });
    await recorder.dispose();
    assert.equal(
      searchHistory(f.db, "proj-1", "ibis").hits.length,
      1,
      "the pack's own synthetic parts are not history",
    );
    assert.equal(searchHistory(f.db, "proj-1", "hidden").hits.length, 0, "reasoning is not indexed");
  } finally {
    f.cleanup();
  }
});

test("tool parts keep name, arguments and a truncated output; retention drops old parts", async () => {
  const long = "x".repeat(MAX_TOOL_OUTPUT_CHARS + 500);
  const tool = partText({
    type: "tool",
    tool: "bash",
    state: { status: "completed", input: { command: "ls -la" }, output: long },
  })!;
  assert.equal(tool.kind, "tool");
  assert.match(tool.text, /^tool bash \{"command":"ls -la"\}\n→ x+\n\[… 500 more characters not indexed\]$/);
  assert.equal(partText({ type: "text", text: "r", synthetic: true }), undefined);
  assert.equal(partText({ type: "step-start" }), undefined);
  const f = await memoryFixture();
  try {
    const recorder = new HistoryRecorder({
      db: f.db,
      projectId: "proj-1",
      redact,
      isMain: async () => true,
      retentionDays: 30,
    });
    const old = {
      ...textPart("prt_old", "ses", "msg", "ancient heron"),
      time: { start: Date.now() - 40 * 86_400_000, end: 1 },
    };
    recorder.onPartUpdated(old);
    recorder.onPartUpdated(textPart("prt_new", "ses", "msg2", "recent heron", Date.now()));
    await recorder.flush();
    assert.equal(searchHistory(f.db, "proj-1", "heron").hits.length, 1, "pruned on the first flush");
    assert.equal(pruneHistory(f.db, "proj-1", 30), 0);
    assert.equal(searchHistory(f.db, "proj-1", "").empty, true);
  } finally {
    f.cleanup();
  }
});
