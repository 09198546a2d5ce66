// What a dream reads: session folders and the history index inside the window, newest first, capped and redacted;
// the prompt's session blocks within a budget (older sessions dropped first, and counted).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { migrateMemory } from "../../plugins/memory/index-store.ts";
import { upsertParts } from "../../plugins/memory/history-store.ts";
import { checkpointService } from "../../plugins/checkpoint/service.ts";
import { gatherSessions, renderSessions } from "../../plugins/dream/inputs.ts";

const DAY = 86_400_000;

test("sessions in the window with notes, checkpoints, task progress or user messages; older files and empty folders are not material", async () => {
  const root = mkdtempSync(join(tmpdir(), "dream-inputs-"));
  const db = await openDatabase(join(root, "c.db"));
  try {
    const now = Date.now();
    const sessions = join(root, "sessions");
    const put = (session: string, file: string, text: string, age: number) => {
      const path = join(sessions, session, file);
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, text);
      utimesSync(path, new Date(now - age), new Date(now - age));
    };
    put("ses_new", "notes.md", "The key is AKIA1234567890ABCDEF; use staging.", 1 * DAY);
    put("ses_new", join("tasks", "T1", "progress.md"), "T1 done", 1 * DAY);
    put("ses_mid", "checkpoint.md", "x".repeat(10_000), 2 * DAY);
    put("ses_old", "notes.md", "too old", 30 * DAY);
    mkdirSync(join(sessions, "ses_empty"), { recursive: true });
    migrateMemory(db);
    upsertParts(db, [
      {
        partId: "p1",
        projectId: "proj",
        sessionId: "ses_hist",
        messageId: "m1",
        role: "user",
        kind: "text",
        createdAt: now - 3 * DAY,
        text: "always use pnpm",
      },
      {
        partId: "p2",
        projectId: "proj",
        sessionId: "ses_hist",
        messageId: "m2",
        role: "assistant",
        kind: "text",
        createdAt: now - 3 * DAY,
        text: "assistant text is not read",
      },
      {
        partId: "p3",
        projectId: "other",
        sessionId: "ses_other",
        messageId: "m3",
        role: "user",
        kind: "text",
        createdAt: now,
        text: "another project",
      },
    ]);
    const redact = (t: string) => t.replace(/AKIA[0-9A-Z]{16}/g, "[REDACTED]");
    const found = gatherSessions({
      sessionsDir: sessions,
      checkpoints: checkpointService((id) => join(sessions, id)),
      db,
      projectId: "proj",
      windowDays: 7,
      now,
      redact,
    });
    assert.deepEqual(
      found.map((s) => s.sessionId),
      ["ses_new", "ses_mid", "ses_hist"],
    );
    assert.equal(found[0]!.notes, "The key is [REDACTED]; use staging.");
    assert.deepEqual(found[0]!.progress, [{ task: "T1", text: "T1 done" }]);
    assert.match(found[1]!.checkpoint!, /\[… 4000 more characters not shown\]$/);
    assert.deepEqual(found[2]!.userMessages, ["always use pnpm"]);
    assert.deepEqual(
      gatherSessions({
        sessionsDir: sessions,
        checkpoints: checkpointService((id) => join(sessions, id)),
        db,
        projectId: "proj",
        windowDays: 7,
        now,
        redact,
        since: now - 1.5 * DAY,
      }).map((s) => s.sessionId),
      ["ses_new"],
    );
    assert.deepEqual(
      gatherSessions({
        sessionsDir: join(root, "missing"),
        checkpoints: undefined,
        db: undefined,
        projectId: "proj",
        windowDays: 7,
        now,
        redact,
      }),
      [],
    );

    const rendered = renderSessions(found, 3000);
    assert.deepEqual(rendered.shown, ["ses_new"], "the older sessions do not fit the budget");
    assert.equal(rendered.dropped, 2);
    assert.match(rendered.text, /^<session id="ses_new" last-active="[^"]+">\n## Notes\nThe key is \[REDACTED\]/);
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
});
