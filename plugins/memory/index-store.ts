// The FTS5 index over memory entries. Derived data only: the markdown files are the truth, and
// reconcile() brings the index in line with them (a stat per file when nothing changed).
import type { Database } from "../core/storage/database.ts";
import { migrate, type Migration } from "../core/storage/migrations.ts";
import { parseEntries, type MemoryEntry } from "./entries.ts";
import { HISTORY_MIGRATION_SQL } from "./history-store.ts";
import { readMemoryFile, type MemoryFile, type Scope } from "./memory-files.ts";
import { buildMatchQuery, indexableText, queryTerms, snippetOf, type MatchMode, type QueryTerm } from "./search-text.ts";

export const MEMORY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "memory files, entries, FTS5 index (external content kept in sync by triggers), usage counts",
    sql: `
CREATE TABLE memory_files (
  path TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  hash TEXT NOT NULL,
  note TEXT
);
CREATE INDEX memory_files_project ON memory_files(project_id);
CREATE TABLE memory_entries (
  rowid INTEGER PRIMARY KEY,
  entry_id TEXT NOT NULL,
  path TEXT NOT NULL,
  scope TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  section TEXT NOT NULL,
  heading TEXT NOT NULL,
  line_start INTEGER NOT NULL,
  line_end INTEGER NOT NULL,
  text TEXT NOT NULL,
  date TEXT,
  session TEXT,
  body TEXT NOT NULL,
  head TEXT NOT NULL
);
CREATE INDEX memory_entries_path ON memory_entries(path);
CREATE INDEX memory_entries_entry ON memory_entries(entry_id);
CREATE INDEX memory_entries_scope ON memory_entries(project_id, scope, scope_id);
CREATE VIRTUAL TABLE memory_fts USING fts5(
  body, head,
  content='memory_entries', content_rowid='rowid',
  tokenize='unicode61 remove_diacritics 2'
);
-- External content: FTS5 cannot see row changes by itself. A delete must hand it the exact old values
-- through the 'delete' command, or stale tokens stay in the index.
CREATE TRIGGER memory_entries_ai AFTER INSERT ON memory_entries BEGIN
  INSERT INTO memory_fts(rowid, body, head) VALUES (new.rowid, new.body, new.head);
END;
CREATE TRIGGER memory_entries_ad AFTER DELETE ON memory_entries BEGIN
  INSERT INTO memory_fts(memory_fts, rowid, body, head) VALUES ('delete', old.rowid, old.body, old.head);
END;
CREATE TRIGGER memory_entries_au AFTER UPDATE ON memory_entries BEGIN
  INSERT INTO memory_fts(memory_fts, rowid, body, head) VALUES ('delete', old.rowid, old.body, old.head);
  INSERT INTO memory_fts(rowid, body, head) VALUES (new.rowid, new.body, new.head);
END;
CREATE TABLE memory_usage (
  entry_id TEXT PRIMARY KEY,
  uses INTEGER NOT NULL DEFAULT 0,
  last_used TEXT
);
`,
  },
  { version: 2, description: "raw history index of main sessions' message parts", sql: HISTORY_MIGRATION_SQL },
];

export function migrateMemory(db: Database): void {
  migrate(db, "memory", MEMORY_MIGRATIONS);
}

export interface IndexedEntry {
  rowid: number;
  entryId: string;
  path: string;
  scope: Scope;
  scopeId: string;
  section: string;
  heading: string;
  lineStart: number;
  lineEnd: number;
  text: string;
  date: string | null;
  session: string | null;
  uses: number;
}

export interface ReconcileStats {
  files: number;
  unchanged: number;
  reindexed: number;
  removed: number;
  notes: { path: string; note: string }[];
}

interface FileRow {
  path: string;
  size: number;
  mtime_ms: number;
  hash: string;
  note: string | null;
}

/**
 * Brings the index in line with `files` (everything currently on disk under `ownedPrefixes`): rows of
 * files that disappeared are dropped, changed files are re-parsed, unchanged files cost nothing.
 */
export function reconcile(db: Database, files: MemoryFile[], ownedPrefixes: string[]): ReconcileStats {
  const stats: ReconcileStats = { files: files.length, unchanged: 0, reindexed: 0, removed: 0, notes: [] };
  const known = new Map<string, FileRow>();
  for (const prefix of ownedPrefixes) {
    const rows = db
      .prepare("SELECT path, size, mtime_ms, hash, note FROM memory_files WHERE path >= ? AND path < ?")
      .all<FileRow>(prefix, prefix + "\uffff");
    for (const row of rows) known.set(row.path, row);
  }
  const changed: MemoryFile[] = [];
  const present = new Set<string>();
  for (const file of files) {
    present.add(file.path);
    const row = known.get(file.path);
    if (row && row.size === file.size && row.mtime_ms === file.mtimeMs) {
      stats.unchanged++;
      if (row.note) stats.notes.push({ path: row.path, note: row.note });
      continue;
    }
    changed.push(file);
  }
  const gone = [...known.keys()].filter((path) => !present.has(path));
  if (changed.length === 0 && gone.length === 0) return stats;
  db.transaction(() => {
    for (const path of gone) {
      removeFile(db, path);
      stats.removed++;
    }
    for (const file of changed) {
      const note = indexFile(db, file, known.get(file.path));
      stats.reindexed++;
      if (note) stats.notes.push({ path: file.path, note });
    }
  });
  return stats;
}

function removeFile(db: Database, path: string): void {
  db.prepare("DELETE FROM memory_entries WHERE path = ?").run(path);
  db.prepare("DELETE FROM memory_files WHERE path = ?").run(path);
}

/** (Re)indexes one file; returns a note when it was skipped or capped. */
function indexFile(db: Database, file: MemoryFile, previous: FileRow | undefined): string | undefined {
  let read;
  try {
    read = readMemoryFile(file.path, file.size);
  } catch (error) {
    // Vanished or unreadable between the stat and the read: forget it; the next reconcile retries.
    removeFile(db, file.path);
    return `unreadable: ${(error as Error).message}`;
  }
  const upsertFile = db.prepare(
    `INSERT INTO memory_files (path, scope, scope_id, project_id, size, mtime_ms, hash, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(path) DO UPDATE SET scope = excluded.scope, scope_id = excluded.scope_id, project_id = excluded.project_id,
       size = excluded.size, mtime_ms = excluded.mtime_ms, hash = excluded.hash, note = excluded.note`,
  );
  upsertFile.run(file.path, file.scope, file.scopeId, file.projectId, file.size, file.mtimeMs, read.hash, read.note ?? null);
  if (previous && previous.hash === read.hash) return read.note;
  db.prepare("DELETE FROM memory_entries WHERE path = ?").run(file.path);
  if (!read.indexable) return read.note;
  insertEntries(db, file, parseEntries(read.text));
  return read.note;
}

function insertEntries(db: Database, file: MemoryFile, entries: MemoryEntry[]): void {
  const insert = db.prepare(
    `INSERT INTO memory_entries (entry_id, path, scope, scope_id, project_id, section, heading, line_start, line_end, text, date, session, body, head)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const e of entries) {
    insert.run(
      e.id,
      file.path,
      file.scope,
      file.scopeId,
      file.projectId,
      e.section,
      e.heading,
      e.lineStart,
      e.lineEnd,
      e.text,
      e.date ?? null,
      e.session ?? null,
      indexableText(e.text),
      indexableText(e.heading),
    );
  }
}

/** Drops every row of the memory index (files stay); the next reconcile rebuilds it. */
export function clearIndex(db: Database): void {
  db.transaction(() => {
    db.exec("DELETE FROM memory_entries");
    db.exec("DELETE FROM memory_files");
    db.exec("INSERT INTO memory_fts(memory_fts) VALUES ('rebuild')");
  });
}

export type SearchScope = "session" | "project" | "global" | "all";

export interface ScopeFilter {
  scope: SearchScope;
  projectId: string;
  sessionId?: string;
}

export interface SearchOptions extends ScopeFilter {
  query: string;
  limit?: number;
  mode?: MatchMode;
  /** Relative floor: hits scoring under this fraction of the best hit are dropped. */
  floor?: number;
  dropStopwords?: boolean;
  excludeEntryIds?: ReadonlySet<string>;
}

export interface SearchHit extends IndexedEntry {
  /** Higher is better (negated BM25). */
  score: number;
  snippet: string;
}

export interface SearchResult {
  hits: SearchHit[];
  terms: QueryTerm[];
  /** Set when the query held nothing searchable. */
  empty?: boolean;
}

const ENTRY_COLUMNS = `e.rowid AS rowid, e.entry_id AS entryId, e.path AS path, e.scope AS scope, e.scope_id AS scopeId,
  e.section AS section, e.heading AS heading, e.line_start AS lineStart, e.line_end AS lineEnd, e.text AS text,
  e.date AS date, e.session AS session, COALESCE(u.uses, 0) AS uses`;

function scopeClause(filter: ScopeFilter): { sql: string; params: string[] } {
  switch (filter.scope) {
    case "session":
      return { sql: "e.scope = 'session' AND e.scope_id = ?", params: [filter.sessionId ?? ""] };
    case "project":
      return { sql: "e.scope = 'project' AND e.project_id = ?", params: [filter.projectId] };
    case "global":
      return { sql: "e.scope = 'global'", params: [] };
    case "all":
      return { sql: "(e.scope = 'global' OR e.project_id = ?)", params: [filter.projectId] };
  }
}

export function searchEntries(db: Database, options: SearchOptions): SearchResult {
  const terms = queryTerms(options.query, { dropStopwords: options.dropStopwords });
  const match = buildMatchQuery(options.query, options.mode ?? "any", { dropStopwords: options.dropStopwords });
  if (!match) return { hits: [], terms, empty: true };
  const limit = Math.max(1, Math.min(options.limit ?? 10, 100));
  const scope = scopeClause(options);
  const excluded = options.excludeEntryIds?.size ?? 0;
  const rows = db
    .prepare(
      `SELECT ${ENTRY_COLUMNS}, bm25(memory_fts, 1.0, 0.3) AS rank
       FROM memory_fts JOIN memory_entries e ON e.rowid = memory_fts.rowid
       LEFT JOIN memory_usage u ON u.entry_id = e.entry_id
       WHERE memory_fts MATCH ? AND ${scope.sql}
       ORDER BY rank LIMIT ?`,
    )
    .all<IndexedEntry & { rank: number }>(match, ...scope.params, limit + excluded);
  const kept = rows.filter((r) => !options.excludeEntryIds?.has(r.entryId));
  const top = kept.length ? -kept[0]!.rank : 0;
  const floor = (options.floor ?? 0.15) * top;
  const hits = kept
    .filter((r) => -r.rank >= floor)
    .slice(0, limit)
    .map(({ rank, ...entry }) => ({ ...entry, score: -rank, snippet: snippetOf(entry.text, terms) }));
  return { hits, terms };
}

/** Entries of the project's and the global memory files (not session files): what the memory block packs from. */
export function blockCandidates(db: Database, projectId: string): IndexedEntry[] {
  return db
    .prepare(
      `SELECT ${ENTRY_COLUMNS} FROM memory_entries e LEFT JOIN memory_usage u ON u.entry_id = e.entry_id
       WHERE (e.scope = 'project' AND e.project_id = ?) OR e.scope = 'global'
       ORDER BY e.path, e.line_start`,
    )
    .all<IndexedEntry>(projectId);
}

export function findEntry(db: Database, entryId: string, filter: ScopeFilter): IndexedEntry | undefined {
  const scope = scopeClause(filter);
  return db
    .prepare(`SELECT ${ENTRY_COLUMNS} FROM memory_entries e LEFT JOIN memory_usage u ON u.entry_id = e.entry_id WHERE e.entry_id = ? AND ${scope.sql} LIMIT 1`)
    .get<IndexedEntry>(entryId, ...scope.params);
}

export function recordUse(db: Database, entryIds: string[], now: Date = new Date()): void {
  if (entryIds.length === 0) return;
  const bump = db.prepare(
    `INSERT INTO memory_usage (entry_id, uses, last_used) VALUES (?, 1, ?)
     ON CONFLICT(entry_id) DO UPDATE SET uses = uses + 1, last_used = excluded.last_used`,
  );
  db.transaction(() => {
    for (const id of new Set(entryIds)) bump.run(id, now.toISOString());
  });
}

export interface FileSummary {
  path: string;
  scope: Scope;
  scopeId: string;
  entries: number;
  note: string | null;
}

export function fileSummaries(db: Database, projectId: string): FileSummary[] {
  return db
    .prepare(
      `SELECT f.path AS path, f.scope AS scope, f.scope_id AS scopeId, f.note AS note,
         (SELECT COUNT(*) FROM memory_entries e WHERE e.path = f.path) AS entries
       FROM memory_files f WHERE f.project_id = ? OR f.scope = 'global' ORDER BY f.scope, f.path`,
    )
    .all<FileSummary>(projectId);
}
