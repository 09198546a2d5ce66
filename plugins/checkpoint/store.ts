// What the checkpoint feature keeps per session: checkpoints (checkpoint.md is a rendering), the watermark,
// thresholds already acted on, the stored rebuild cut, writer runs and their tokens. Primary copy: the session's
// state/ files (checkpoint-meter.json, rebuild.json, checkpoints.json), rewritten atomically on every change; the
// SQLite tables are refilled from them when the database is lost.
import { z } from "zod";
import type { Database } from "../core/storage/database.ts";
import { migrate, type Migration } from "../core/storage/migrations.ts";
import {
  registerStateRestorer,
  sessionStateFiles,
  type SessionDirOf,
  type SessionStateFiles,
} from "../core/storage/state-files.ts";
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
  // No schema change: from this version on every session's state is also in its state/ files.
  { version: 2, description: "checkpoint state mirrored to session state files", sql: "SELECT 1" },
];
const MIRRORED_SINCE = 2;
const METER = "checkpoint-meter";
const REBUILD = "rebuild";
const CHECKPOINTS = "checkpoints";
/** The stored cut: kept in its own file, because the dump is large and changes only at a rebuild. */
const REBUILD_KEYS = ["boundaryMessageId", "boundaryDump", "boundaryAt", "boundaryReason"] as const;

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
  saveCheckpoint(
    checkpoint: Omit<StoredCheckpoint, "seq" | "markdown">,
    projectId: string,
    render: (seq: number) => string,
  ): StoredCheckpoint;
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

export interface CheckpointStoreOptions {
  /** Where each session's folder is (ProjectPaths.session); the state is kept in <folder>/state/. */
  sessionDir?: SessionDirOf;
}

export function openCheckpointStore(db: Database, options: CheckpointStoreOptions = {}): CheckpointStore {
  const files = sessionStateFiles(db, options.sessionDir);
  prepareTables(db, files);
  const ensure = (sessionId: string) =>
    db.prepare("INSERT OR IGNORE INTO checkpoint_sessions (session_id) VALUES (?)").run(sessionId);
  const state = (sessionId: string): SessionState => {
    ensure(sessionId);
    const row = db
      .prepare("SELECT * FROM checkpoint_sessions WHERE session_id = ?")
      .get<Record<string, unknown>>(sessionId)!;
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
  /** A change and the rewrite of the session's files in one transaction: a file that cannot be written undoes it. */
  const changing = <T>(sessionId: string, change: () => T, withCheckpoints = false): T =>
    db.transaction(() => {
      const result = change();
      if (files) saveSession(db, files, sessionId, state(sessionId), withCheckpoints);
      return result;
    });
  return {
    state,
    update(sessionId, changes) {
      return changing(sessionId, () => {
        ensure(sessionId);
        const entries = Object.entries(changes).filter(([key]) => key in COLUMNS);
        if (entries.length > 0) {
          const assignments = entries.map(([key]) => `${COLUMNS[key as keyof typeof COLUMNS]} = ?`).join(", ");
          db.prepare(`UPDATE checkpoint_sessions SET ${assignments} WHERE session_id = ?`).run(
            ...(entries.map(([, v]) => v ?? null) as (string | number | null)[]),
            sessionId,
          );
        }
        return state(sessionId);
      });
    },
    addWriterTokens(sessionId, input, output) {
      changing(sessionId, () => {
        ensure(sessionId);
        db.prepare(
          "UPDATE checkpoint_sessions SET writer_input_tokens = writer_input_tokens + ?, writer_output_tokens = writer_output_tokens + ? WHERE session_id = ?",
        ).run(input, output, sessionId);
      });
    },
    saveCheckpoint(checkpoint, projectId, render) {
      return changing(
        checkpoint.sessionId,
        () => {
          const row = db
            .prepare("SELECT MAX(seq) AS seq FROM checkpoints WHERE session_id = ?")
            .get<{ seq: number | null }>(checkpoint.sessionId);
          const seq = (row?.seq ?? 0) + 1;
          const markdown = render(seq);
          db.prepare(
            "INSERT INTO checkpoints (session_id, seq, project_id, written_at, watermark, sections_json, markdown) VALUES (?, ?, ?, ?, ?, ?, ?)",
          ).run(
            checkpoint.sessionId,
            seq,
            projectId,
            checkpoint.writtenAt,
            checkpoint.watermark,
            JSON.stringify(checkpoint.sections),
            markdown,
          );
          return { ...checkpoint, seq, markdown };
        },
        true,
      );
    },
    latest(sessionId) {
      const row = db
        .prepare("SELECT * FROM checkpoints WHERE session_id = ? ORDER BY seq DESC LIMIT 1")
        .get<CheckpointRow>(sessionId);
      return row ? toCheckpoint(row) : undefined;
    },
    sessionsOfProject(projectId) {
      return db
        .prepare(
          "SELECT session_id, COUNT(*) AS n, MAX(written_at) AS last FROM checkpoints WHERE project_id = ? GROUP BY session_id ORDER BY last DESC",
        )
        .all<{ session_id: string; n: number; last: string }>(projectId)
        .map((r) => ({ sessionId: r.session_id, checkpoints: r.n, lastWrittenAt: r.last }));
    },
    latestElsewhere(projectId, exceptSessionId) {
      const row = db
        .prepare(
          "SELECT * FROM checkpoints WHERE project_id = ? AND session_id != ? ORDER BY written_at DESC, seq DESC LIMIT 1",
        )
        .get<CheckpointRow>(projectId, exceptSessionId);
      return row ? toCheckpoint(row) : undefined;
    },
  };
}

// ---- the session files ----

const nullableString = z.string().nullable();
const meterSchema = z.object({
  sessionId: z.string().min(1),
  firedIndex: z.number().int(),
  lastUsed: z.number(),
  lastUsable: z.number(),
  modelKey: nullableString,
  readingAt: nullableString,
  rebuilds: z.number().int(),
  writerRuns: z.number().int(),
  writerFailures: z.number().int(),
  writerInputTokens: z.number(),
  writerOutputTokens: z.number(),
  lastFailure: nullableString,
  lastFailureAt: nullableString,
});
const rebuildSchema = z.object({
  sessionId: z.string().min(1),
  boundaryMessageId: nullableString,
  boundaryDump: nullableString,
  boundaryAt: nullableString,
  boundaryReason: nullableString,
});
const checkpointsSchema = z.object({
  sessionId: z.string().min(1),
  checkpoints: z.array(
    z.object({
      seq: z.number().int().positive(),
      projectId: z.string(),
      writtenAt: z.string(),
      watermark: nullableString,
      sections: z.record(z.string(), z.string()),
      markdown: z.string(),
    }),
  ),
});

/** The meter and the cut on every change (skipped when unchanged); the checkpoint list when one was added. */
function saveSession(
  db: Database,
  files: SessionStateFiles,
  sessionId: string,
  current: SessionState,
  withCheckpoints: boolean,
): void {
  const { sessionId: _id, ...fields } = current;
  const rebuild: Record<string, unknown> = {};
  const meter: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    ((REBUILD_KEYS as readonly string[]).includes(key) ? rebuild : meter)[key] = value;
  files.write(sessionId, METER, meter);
  files.write(sessionId, REBUILD, rebuild);
  if (!withCheckpoints) return;
  const checkpoints = db
    .prepare(
      "SELECT seq, project_id, written_at, watermark, sections_json, markdown FROM checkpoints WHERE session_id = ? ORDER BY seq",
    )
    .all<{
      seq: number;
      project_id: string;
      written_at: string;
      watermark: string | null;
      sections_json: string;
      markdown: string;
    }>(sessionId)
    .map((r) => ({
      seq: r.seq,
      projectId: r.project_id,
      writtenAt: r.written_at,
      watermark: r.watermark,
      sections: JSON.parse(r.sections_json) as Record<string, string>,
      markdown: r.markdown,
    }));
  files.write(sessionId, CHECKPOINTS, { checkpoints });
}

/** Migrates; a fresh table set is refilled from the files, an older one written out to them once. */
function prepareTables(db: Database, files: SessionStateFiles | undefined): string | undefined {
  const { from } = migrate(db, "checkpoint", MIGRATIONS);
  if (!files) return undefined;
  if (from === 0) return restoreAll(db, files);
  if (from < MIRRORED_SINCE && !files.readOnly) {
    for (const sessionId of sessionsWithState(db)) {
      try {
        saveSession(db, files, sessionId, readState(db, sessionId), true);
      } catch {
        /* best effort: the next change of that session writes its files again */
      }
    }
  }
  return undefined;
}

function sessionsWithState(db: Database): string[] {
  return db
    .prepare("SELECT session_id FROM checkpoint_sessions UNION SELECT session_id FROM checkpoints")
    .all<{ session_id: string }>()
    .map((r) => r.session_id);
}

function readState(db: Database, sessionId: string): SessionState {
  db.prepare("INSERT OR IGNORE INTO checkpoint_sessions (session_id) VALUES (?)").run(sessionId);
  const row = db
    .prepare("SELECT * FROM checkpoint_sessions WHERE session_id = ?")
    .get<Record<string, unknown>>(sessionId)!;
  const out: Record<string, unknown> = { sessionId };
  for (const [key, column] of Object.entries(COLUMNS)) out[key] = row[column] ?? null;
  return out as unknown as SessionState;
}

/** Each of a session's three files is restored on its own: one damaged file loses only what it held. */
function restoreAll(db: Database, files: SessionStateFiles): string | undefined {
  const sessions = new Set<string>();
  let checkpoints = 0;
  let cuts = 0;
  let unreadable = 0;
  const setColumns = (sessionId: string, values: Record<string, unknown>) => {
    db.prepare("INSERT OR IGNORE INTO checkpoint_sessions (session_id) VALUES (?)").run(sessionId);
    const entries = Object.entries(values).filter(([key]) => key in COLUMNS);
    if (!entries.length) return;
    const assignments = entries.map(([key]) => `${COLUMNS[key as keyof typeof COLUMNS]} = ?`).join(", ");
    db.prepare(`UPDATE checkpoint_sessions SET ${assignments} WHERE session_id = ?`).run(
      ...(entries.map(([, v]) => v ?? null) as (string | number | null)[]),
      sessionId,
    );
  };
  db.transaction(() => {
    const meters = files.readValid(METER, meterSchema);
    unreadable += meters.unreadable;
    for (const { sessionId, ...values } of meters.states) {
      setColumns(sessionId, values);
      sessions.add(sessionId);
    }
    const rebuilds = files.readValid(REBUILD, rebuildSchema);
    unreadable += rebuilds.unreadable;
    for (const { sessionId, ...values } of rebuilds.states) {
      setColumns(sessionId, values);
      sessions.add(sessionId);
      if (values.boundaryDump) cuts++;
    }
    const stored = files.readValid(CHECKPOINTS, checkpointsSchema);
    unreadable += stored.unreadable;
    const insert = db.prepare(
      "INSERT OR IGNORE INTO checkpoints (session_id, seq, project_id, written_at, watermark, sections_json, markdown) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    for (const state of stored.states) {
      for (const c of state.checkpoints) {
        checkpoints += insert.run(
          state.sessionId,
          c.seq,
          c.projectId,
          c.writtenAt,
          c.watermark,
          JSON.stringify(c.sections),
          c.markdown,
        ).changes;
      }
      if (state.checkpoints.length) sessions.add(state.sessionId);
    }
  });
  const parts: string[] = [];
  if (sessions.size) {
    parts.push(
      `checkpoint state of ${sessions.size} session${sessions.size === 1 ? "" : "s"} (${checkpoints} checkpoint${checkpoints === 1 ? "" : "s"}, ${cuts} stored rebuild${cuts === 1 ? "" : "s"})`,
    );
  }
  if (unreadable) parts.push(`${unreadable} unreadable checkpoint state file${unreadable === 1 ? "" : "s"} skipped`);
  return parts.join(", ") || undefined;
}

registerStateRestorer("checkpoint", (db) => prepareTables(db, sessionStateFiles(db)));
