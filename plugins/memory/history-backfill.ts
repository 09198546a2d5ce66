// Every past session searchable: the sessions the host already stores (from before the install, or from while the
// pack was off) are indexed through the host's own API, in the background, one session at a time with a yield in
// between, so the user's session never waits. A session is read again only when the host updated it since.
import type { Database } from "../core/storage/database.ts";
import type { HostApi } from "../core/host.ts";
import { partText, upsertParts, type HistoryPart } from "./history-store.ts";

export const HISTORY_BACKFILL_MIGRATION_SQL = `
CREATE TABLE history_sessions (
  session_id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

export interface BackfillOptions {
  db: Database;
  host: Pick<HostApi, "messages" | "listSessions">;
  projectId: string;
  retentionDays: number;
  redact: (text: string) => string;
  isOwnText?: (text: string) => boolean;
  onProgress?: (done: number, total: number) => void;
  /** Re-read every session, as `reindex` asks. */
  force?: boolean;
  now?: number;
  /** Checked between sessions: the plugin is shutting down. */
  stopped?: () => boolean;
}

export interface BackfillResult {
  sessions: number;
  indexed: number;
  parts: number;
}

const yieldToHost = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function backfillHistory(options: BackfillOptions): Promise<BackfillResult> {
  const { db, host, projectId } = options;
  if (!host.listSessions) return { sessions: 0, indexed: 0, parts: 0 };
  const cutoff = (options.now ?? Date.now()) - options.retentionDays * 86_400_000;
  const known = new Map(
    db
      .prepare("SELECT session_id AS id, updated_at AS at FROM history_sessions WHERE project_id = ?")
      .all<{ id: string; at: number }>(projectId)
      .map((r) => [r.id, r.at]),
  );
  // Main sessions only, as the live recorder keeps; newest first, so what the user most likely asks about comes first.
  const due = (await host.listSessions())
    .filter((s) => !s.parentId && s.updatedAt >= cutoff && (options.force || (known.get(s.id) ?? -1) < s.updatedAt))
    .sort((a, b) => b.updatedAt - a.updatedAt);
  const mark = db.prepare(
    "INSERT INTO history_sessions (session_id, project_id, updated_at) VALUES (?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET updated_at = excluded.updated_at",
  );
  let parts = 0;
  for (const [i, session] of due.entries()) {
    if (options.stopped?.()) break;
    const rows = rowsOf(await host.messages(session.id), options, cutoff);
    db.transaction(() => {
      upsertParts(db, rows);
      mark.run(session.id, projectId, session.updatedAt);
    });
    parts += rows.length;
    options.onProgress?.(i + 1, due.length);
    await yieldToHost();
  }
  return { sessions: due.length, indexed: due.length, parts };
}

function rowsOf(
  messages: Awaited<ReturnType<HostApi["messages"]>>,
  options: BackfillOptions,
  cutoff: number,
): HistoryPart[] {
  const rows: HistoryPart[] = [];
  for (const message of messages) {
    for (const part of message.parts) {
      const content = partText(part as Record<string, unknown>);
      if (!content || typeof part.id !== "string") continue;
      if (content.kind === "text" && options.isOwnText?.(content.text)) continue;
      const time = (part.time ?? part.state?.["time" as keyof typeof part.state]) as { start?: number } | undefined;
      const createdAt = typeof time?.start === "number" ? time.start : (message.info.time?.created ?? 0);
      if (createdAt < cutoff) continue;
      rows.push({
        partId: part.id,
        projectId: options.projectId,
        sessionId: message.info.sessionID,
        messageId: message.info.id,
        role: message.info.role,
        kind: content.kind,
        tool: content.tool,
        createdAt,
        text: options.redact(content.text),
      });
    }
  }
  return rows;
}
