// What the checkpoint feature keeps in SQLite, per session: checkpoints (source of truth; checkpoint.md is a
// rendering), the watermark, thresholds already acted on, the stored rebuild cut, writer runs and their tokens.
import type { Database } from "../core/storage/database.ts";
import { migrate, type Migration } from "../core/storage/migrations.ts";
import type { SectionKey, StoredCheckpoint } from "./sections.ts";

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "checkpoints, session meter state, rebuild cuts, writer accounting",
    sql: `
      CREATE TABLE checkpoints (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        project_id TEXT NOT NULL,
        written_at TEXT NOT NULL,
        watermark TEXT,
        sections_json TEXT NOT NULL,
        markdown TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
      );
      CREATE INDEX checkpoints_by_project ON checkpoints (project_id, written_at);
      CREATE TABLE checkpoint_sessions (
        session_id TEXT PRIMARY KEY,
        fired_index INTEGER NOT NULL DEFAULT -1,
        last_used INTEGER NOT NULL DEFAULT 0,
        last_usable INTEGER NOT NULL DEFAULT 0,
        model_key TEXT,
        reading_at TEXT,
        boundary_message_id TEXT,
        boundary_dump TEXT,
        boundary_at TEXT,
        boundary_reason TEXT,
        rebuilds INTEGER NOT NULL DEFAULT 0,
        writer_runs INTEGER NOT NULL DEFAULT 0,
        writer_failures INTEGER NOT NULL DEFAULT 0,
        writer_input_tokens INTEGER NOT NULL DEFAULT 0,
        writer_output_tokens INTEGER NOT NULL DEFAULT 0,
        last_failure TEXT,
        last_failure_at TEXT
      );
    `,
  },
];

export interface SessionState {
  sessionId: string;
  firedIndex: number;
  lastUsed: number;
  lastUsable: number;
  modelKey: string | null;
  readingAt: string | null;
  boundaryMessageId: string | null;
  boundaryDump: string | null;
  boundaryAt: string | null;
  boundaryReason: string | null;
  rebuilds: number;
  writerRuns: number;
  writerFailures: number;
  writerInputTokens: number;
  writerOutputTokens: number;
  lastFailure: string | null;
  lastFailureAt: string | null;
}

const COLUMNS: Record<keyof Omit<SessionState, "sessionId">, string> = {
  firedIndex: "fired_index",
  lastUsed: "last_used",
  lastUsable: "last_usable",
  modelKey: "model_key",
  readingAt: "reading_at",
  boundaryMessageId: "boundary_message_id",
  boundaryDump: "boundary_dump",
  boundaryAt: "boundary_at",
  boundaryReason: "boundary_reason",
  rebuilds: "rebuilds",
  writerRuns: "writer_runs",
  writerFailures: "writer_failures",
  writerInputTokens: "writer_input_tokens",
  writerOutputTokens: "writer_output_tokens",
  lastFailure: "last_failure",
  lastFailureAt: "last_failure_at",
};

export interface CheckpointStore {
  state(sessionId: string): SessionState;
  update(sessionId: string, changes: Partial<Omit<SessionState, "sessionId">>): SessionState;
  addWriterTokens(sessionId: string, input: number, output: number): void;
  /** Stores the next checkpoint; `render` makes its markdown once the sequence number is known. */
  saveCheckpoint(checkpoint: Omit<StoredCheckpoint, "seq" | "markdown">, projectId: string, render: (seq: number) => string): StoredCheckpoint;
  latest(sessionId: string): StoredCheckpoint | undefined;
  /** Sessions of a project that have checkpoints, newest first. */
  sessionsOfProject(projectId: string): { sessionId: string; checkpoints: number; lastWrittenAt: string }[];
  /** The newest checkpoint of another session of the project (the pointer for a new session). */
  latestElsewhere(projectId: string, exceptSessionId: string): StoredCheckpoint | undefined;
}

interface CheckpointRow {
  session_id: string;
  seq: number;
  written_at: string;
  watermark: string | null;
  sections_json: string;
  markdown: string;
}

export function openCheckpointStore(db: Database): CheckpointStore {
  migrate(db, "checkpoint", MIGRATIONS);
  const ensure = (sessionId: string) => db.prepare("INSERT OR IGNORE INTO checkpoint_sessions (session_id) VALUES (?)").run(sessionId);
  const state = (sessionId: string): SessionState => {
    ensure(sessionId);
    const row = db.prepare("SELECT * FROM checkpoint_sessions WHERE session_id = ?").get<Record<string, unknown>>(sessionId)!;
    const out: Record<string, unknown> = { sessionId };
    for (const [key, column] of Object.entries(COLUMNS)) out[key] = row[column] ?? null;
    return out as unknown as SessionState;
  };
  const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({
    sessionId: row.session_id,
    seq: row.seq,
    writtenAt: row.written_at,
    watermark: row.watermark,
    sections: JSON.parse(row.sections_json) as Record<SectionKey, string>,
    markdown: row.markdown,
  });
  return {
    state,
    update(sessionId, changes) {
      ensure(sessionId);
      const entries = Object.entries(changes).filter(([key]) => key in COLUMNS);
      if (entries.length > 0) {
        const assignments = entries.map(([key]) => `${COLUMNS[key as keyof typeof COLUMNS]} = ?`).join(", ");
        db.prepare(`UPDATE checkpoint_sessions SET ${assignments} WHERE session_id = ?`).run(...(entries.map(([, v]) => v ?? null) as (string | number | null)[]), sessionId);
      }
      return state(sessionId);
    },
    addWriterTokens(sessionId, input, output) {
      ensure(sessionId);
      db.prepare("UPDATE checkpoint_sessions SET writer_input_tokens = writer_input_tokens + ?, writer_output_tokens = writer_output_tokens + ? WHERE session_id = ?").run(input, output, sessionId);
    },
    saveCheckpoint(checkpoint, projectId, render) {
      return db.transaction(() => {
        const row = db.prepare("SELECT MAX(seq) AS seq FROM checkpoints WHERE session_id = ?").get<{ seq: number | null }>(checkpoint.sessionId);
        const seq = (row?.seq ?? 0) + 1;
        const markdown = render(seq);
        db.prepare("INSERT INTO checkpoints (session_id, seq, project_id, written_at, watermark, sections_json, markdown) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
          checkpoint.sessionId,
          seq,
          projectId,
          checkpoint.writtenAt,
          checkpoint.watermark,
          JSON.stringify(checkpoint.sections),
          markdown,
        );
        return { ...checkpoint, seq, markdown };
      });
    },
    latest(sessionId) {
      const row = db.prepare("SELECT * FROM checkpoints WHERE session_id = ? ORDER BY seq DESC LIMIT 1").get<CheckpointRow>(sessionId);
      return row ? toCheckpoint(row) : undefined;
    },
    sessionsOfProject(projectId) {
      return db
        .prepare("SELECT session_id, COUNT(*) AS n, MAX(written_at) AS last FROM checkpoints WHERE project_id = ? GROUP BY session_id ORDER BY last DESC")
        .all<{ session_id: string; n: number; last: string }>(projectId)
        .map((r) => ({ sessionId: r.session_id, checkpoints: r.n, lastWrittenAt: r.last }));
    },
    latestElsewhere(projectId, exceptSessionId) {
      const row = db
        .prepare("SELECT * FROM checkpoints WHERE project_id = ? AND session_id != ? ORDER BY written_at DESC, seq DESC LIMIT 1")
        .get<CheckpointRow>(projectId, exceptSessionId);
      return row ? toCheckpoint(row) : undefined;
    },
  };
}
