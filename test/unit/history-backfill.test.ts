// Every past session searchable: sessions the host already stores are read through its API (list, then messages),
// main sessions within the retention window only, each again only when the host updated it since.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backfillHistory } from "../../plugins/memory/history-backfill.ts";
import { searchHistory } from "../../plugins/memory/history-store.ts";
import type { HostMessage } from "../../plugins/core/host-types.ts";
import type { HostSessionInfo } from "../../plugins/core/host.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

function storedHost(now: number) {
  const sessions: HostSessionInfo[] = [
    { id: "ses_old_main", updatedAt: now - 3 * 86_400_000 },
    { id: "ses_child", parentId: "ses_old_main", updatedAt: now - 86_400_000 },
    { id: "ses_expired", updatedAt: now - 40 * 86_400_000 },
  ];
  const messages: Record<string, HostMessage[]> = {
    ses_old_main: [
      {
        info: { id: "msg_1", sessionID: "ses_old_main", role: "user", time: { created: now - 3 * 86_400_000 } },
        parts: [{ id: "prt_1", type: "text", text: "the flamingo migration script needs a dry run flag" }],
      },
      {
        info: {
          id: "msg_2",
          sessionID: "ses_old_main",
          role: "assistant",
          time: { created: now - 3 * 86_400_000 + 1000 },
        },
        parts: [
          {
            id: "prt_2",
            type: "tool",
            tool: "history",
            state: { status: "completed", input: { action: "search", query: "flamingo" }, output: "1 history hit" },
          },
          { id: "prt_3", type: "text", text: "added --dry-run to the flamingo script" },
        ],
      },
    ],
    ses_child: [
      {
        info: { id: "msg_c", sessionID: "ses_child", role: "user" },
        parts: [{ id: "prt_c", type: "text", text: "flamingo child work" }],
      },
    ],
    ses_expired: [
      {
        info: { id: "msg_e", sessionID: "ses_expired", role: "user" },
        parts: [{ id: "prt_e", type: "text", text: "flamingo long ago" }],
      },
    ],
  };
  const read: string[] = [];
  return {
    sessions,
    messages,
    read,
    host: {
      listSessions: async () => sessions,
      messages: async (id: string) => {
        read.push(id);
        return messages[id] ?? [];
      },
    },
  };
}

test("stored main sessions within retention become searchable; lookups, children and expired sessions stay out; an unchanged session is not read again", async () => {
  const f = await memoryFixture();
  try {
    const now = Date.now();
    const stored = storedHost(now);
    const progress: string[] = [];
    const first = await backfillHistory({
      db: f.db,
      host: stored.host,
      projectId: "proj-1",
      retentionDays: 30,
      redact: (t) => t,
      onProgress: (d, t) => progress.push(`${d}/${t}`),
    });
    assert.deepEqual(first, { sessions: 1, indexed: 1, parts: 2 });
    assert.deepEqual(progress, ["1/1"]);
    assert.deepEqual(
      searchHistory(f.db, "proj-1", "flamingo")
        .hits.map((h) => h.partId)
        .sort(),
      ["prt_1", "prt_3"],
    );
    const again = await backfillHistory({
      db: f.db,
      host: stored.host,
      projectId: "proj-1",
      retentionDays: 30,
      redact: (t) => t,
    });
    assert.equal(again.sessions, 0, "nothing changed: nothing read");
    // The session ran on while the pack was off: the next start reads it again.
    stored.sessions[0]!.updatedAt = now;
    stored.messages.ses_old_main!.push({
      info: { id: "msg_3", sessionID: "ses_old_main", role: "user", time: { created: now } },
      parts: [{ id: "prt_4", type: "text", text: "flamingo rollout done" }],
    });
    const later = await backfillHistory({
      db: f.db,
      host: stored.host,
      projectId: "proj-1",
      retentionDays: 30,
      redact: (t) => t,
    });
    assert.equal(later.sessions, 1);
    assert.ok(searchHistory(f.db, "proj-1", "rollout").hits.some((h) => h.partId === "prt_4"));
    assert.deepEqual(stored.read, ["ses_old_main", "ses_old_main"], "children and expired sessions are never read");
  } finally {
    f.cleanup();
  }
});

test("secrets in stored sessions are redacted before they reach the index; a host without a listing is skipped", async () => {
  const f = await memoryFixture();
  try {
    const now = Date.now();
    const stored = storedHost(now);
    stored.messages.ses_old_main![0]!.parts[0]!.text = "flamingo key AKIAABCDEFGHIJKLMNOP";
    await backfillHistory({
      db: f.db,
      host: stored.host,
      projectId: "proj-1",
      retentionDays: 30,
      redact: (t) => t.replace(/AKIA[0-9A-Z]{16}/g, "[REDACTED]"),
    });
    const text = f.db.prepare("SELECT text FROM history_parts WHERE part_id = 'prt_1'").get<{ text: string }>()!.text;
    assert.equal(text, "flamingo key [REDACTED]");
    assert.deepEqual(
      await backfillHistory({
        db: f.db,
        host: { messages: async () => [] },
        projectId: "proj-1",
        retentionDays: 30,
        redact: (t) => t,
      }),
      { sessions: 0, indexed: 0, parts: 0 },
    );
  } finally {
    f.cleanup();
  }
});
