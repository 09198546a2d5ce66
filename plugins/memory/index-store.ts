// The FTS5 index over memory entries. Derived data only: the markdown files are the truth, and
// reconcile() brings the index in line with them (a stat per file when nothing changed).
import { createHash } from "node:crypto";
import { sep } from "node:path";
import type { Database, Statement } from "../core/storage/database.ts";
import { estimateTokens } from "../core/tokens.ts";
import { migrate } from "../core/storage/migrations.ts";
import { parseEntries, type MemoryEntry } from "../core/memory-format.ts";
import { ENTRY_TRIGGERS, MEMORY_MIGRATIONS } from "./index-migrations.ts";
import { readMemoryFile, type MemoryFile, type Scope } from "./memory-files.ts";
import { indexableText, queryTerms, searchTerms, snippetOf, type MatchMode, type QueryTerm } from "./search-text.ts";

/** Files changed at once above which the FTS index is rebuilt in one pass instead of row by row. */
const BULK_FILES = 200;

/**
 * Bulk changes: row-by-row trigger updates of FTS5 cost ~10x a single 'rebuild' of the whole index, so
 * the triggers are dropped, the content table is changed, the index rebuilt and the triggers restored,
 * all in one transaction (other connections see the old or the new state, never a half).
 */
function withBulkIndexing<T>(db: Database, fn: () => T): T {
  return db.transaction(() => {
    db.exec(
      "DROP TRIGGER IF EXISTS memory_entries_ai; DROP TRIGGER IF EXISTS memory_entries_ad; DROP TRIGGER IF EXISTS memory_entries_au;",
    );
    const result = fn();
    db.exec("INSERT INTO memory_fts(memory_fts) VALUES ('rebuild')");
    db.exec(ENTRY_TRIGGERS);
    return result;
  });
}

/** Prepared once per connection: preparing costs more than running these small statements. */
const statements = new WeakMap<Database, Map<string, Statement>>();
function stmt(db: Database, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let prepared = cache.get(sql);
  if (!prepared) cache.set(sql, (prepared = db.prepare(sql)));
  return prepared;
}

/**
 * Scope as tokens in their own FTS column, so a MATCH filters by scope inside the index:
 * "zg" global; "zp<project>" any file of a project; "zq<project>" project memory files; "zs<session>" notes.
 */
export function scopeTokens(scope: Scope, projectId: string, scopeId: string): string {
  if (scope === "global") return "zg";
  const project = `zp${tokenHash(projectId)}`;
  return scope === "project" ? `${project} zq${tokenHash(projectId)}` : `${project} zs${tokenHash(scopeId)}`;
}

function tokenHash(id: string): string {
  return createHash("sha1").update(id).digest("hex").slice(0, 16);
}

export { MEMORY_MIGRATIONS };

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
  /** Estimated tokens of the entry as rendered in the memory block. */
  tokens: number;
  /** "" for global entries. */
  projectId: string;
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
 * What this connection last saw in memory_files. Valid while no other connection wrote the database
 * (PRAGMA data_version is unchanged), so a quiet reconcile costs stats only, no query.
 */
export class FingerprintCache {
  /** Bumped whenever the indexed entries may have changed (by this connection or another one). */
  generation = 0;
  dataVersion = -1;
  rows = new Map<string, FileRow>();
  prefixes = "";
}

function dataVersion(db: Database): number {
  const row = stmt(db, "PRAGMA data_version").get<Record<string, number>>();
  return row ? Number(Object.values(row)[0]) : -2;
}

function knownRows(db: Database, ownedPrefixes: string[], cache: FingerprintCache | undefined): Map<string, FileRow> {
  const version = dataVersion(db);
  const key = ownedPrefixes.join("\u0000");
  if (cache && cache.dataVersion === version && cache.prefixes === key) return cache.rows;
  const rows = new Map<string, FileRow>();
  for (const prefix of ownedPrefixes) {
    const found = stmt(
      db,
      "SELECT path, size, mtime_ms, hash, note FROM memory_files WHERE path >= ? AND path < ?",
    ).all<FileRow>(prefix, prefix + "\uffff");
    for (const row of found) rows.set(row.path, row);
  }
  if (cache) {
    cache.generation++;
    cache.dataVersion = version;
    cache.rows = rows;
    cache.prefixes = key;
  }
  return rows;
}

/**
 * Brings the index in line with `files` (everything currently on disk under `ownedPrefixes`): rows of
 * files that disappeared are dropped, changed files are re-parsed, unchanged files cost nothing.
 */
export function reconcile(
  db: Database,
  files: MemoryFile[],
  ownedPrefixes: string[],
  cache?: FingerprintCache,
): ReconcileStats {
  const stats: ReconcileStats = { files: files.length, unchanged: 0, reindexed: 0, removed: 0, notes: [] };
  const known = knownRows(db, ownedPrefixes, cache);
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
  const gone = known.size > stats.unchanged ? [...known.keys()].filter((path) => !present.has(path)) : [];
  if (changed.length === 0 && gone.length === 0) return stats;
  if (cache) cache.generation++;
  const apply =
    changed.length + gone.length > BULK_FILES ? withBulkIndexing : (d: Database, fn: () => void) => d.transaction(fn);
  apply(db, () => {
    for (const path of gone) {
      removeFile(db, path);
      known.delete(path);
      stats.removed++;
    }
    for (const file of changed) {
      const row = indexFile(db, file, known.get(file.path));
      if (row) known.set(file.path, row);
      else known.delete(file.path);
      stats.reindexed++;
      if (row?.note) stats.notes.push({ path: file.path, note: row.note });
    }
  });
  return stats;
}

/**
 * Forgets the index rows of a project's memory files that lie outside its current memory folder: after
 * memory.location changes (data ↔ repo), the old folder's entries must not be injected or found any more.
 */
export function dropProjectFilesOutside(db: Database, projectId: string, projectDir: string): number {
  const prefix = projectDir.endsWith(sep) ? projectDir : projectDir + sep;
  const stale = db
    .prepare(
      "SELECT path FROM memory_files WHERE scope = 'project' AND project_id = ? AND NOT (path >= ? AND path < ?)",
    )
    .all<{ path: string }>(projectId, prefix, prefix + "\uffff");
  if (stale.length) db.transaction(() => stale.forEach((row) => removeFile(db, row.path)));
  return stale.length;
}

function removeFile(db: Database, path: string): void {
  stmt(db, "DELETE FROM memory_entries WHERE path = ?").run(path);
  stmt(db, "DELETE FROM memory_files WHERE path = ?").run(path);
}

/** (Re)indexes one file; returns its new fingerprint row (undefined when it could not be read). */
function indexFile(db: Database, file: MemoryFile, previous: FileRow | undefined): FileRow | undefined {
  let read;
  try {
    read = readMemoryFile(file.path, file.size);
  } catch {
    // Vanished or unreadable between the stat and the read: forget it; the next reconcile retries.
    removeFile(db, file.path);
    return undefined;
  }
  stmt(
    db,
    `INSERT INTO memory_files (path, scope, scope_id, project_id, size, mtime_ms, hash, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(path) DO UPDATE SET scope = excluded.scope, scope_id = excluded.scope_id, project_id = excluded.project_id,
       size = excluded.size, mtime_ms = excluded.mtime_ms, hash = excluded.hash, note = excluded.note`,
  ).run(file.path, file.scope, file.scopeId, file.projectId, file.size, file.mtimeMs, read.hash, read.note ?? null);
  const row: FileRow = {
    path: file.path,
    size: file.size,
    mtime_ms: file.mtimeMs,
    hash: read.hash,
    note: read.note ?? null,
  };
  if (previous && previous.hash === read.hash) return row;
  if (previous) stmt(db, "DELETE FROM memory_entries WHERE path = ?").run(file.path);
  if (read.indexable) insertEntries(db, file, parseEntries(read.text));
  return row;
}

function insertEntries(db: Database, file: MemoryFile, entries: MemoryEntry[]): void {
  const insert = stmt(
    db,
    `INSERT INTO memory_entries (entry_id, path, scope, scope_id, project_id, section, heading, line_start, line_end, text, date, session, tokens, body, head, scope_key)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const scopeKey = scopeTokens(file.scope, file.projectId, file.scopeId);
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
      // "- " + text + " [m-xxxxxxxx]" plus the newline: what renderEntry adds around the text.
      estimateTokens(e.text) + 6 + e.lineEnd - e.lineStart,
      indexableText(e.text),
      indexableText(e.heading),
      scopeKey,
    );
  }
}

/** Drops every row of the memory index (files stay); the next reconcile rebuilds it. */
export function clearIndex(db: Database): void {
  withBulkIndexing(db, () => {
    db.exec("DELETE FROM memory_entries");
    db.exec("DELETE FROM memory_files");
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
  /** See termsOf. */
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
  e.date AS date, e.session AS session, e.tokens AS tokens, e.project_id AS projectId, COALESCE(u.uses, 0) AS uses`;

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

/** The scope as an FTS5 expression over the scope_key column. */
function scopeMatch(filter: ScopeFilter): string {
  const project = scopeTokens("project", filter.projectId, "").split(" ");
  switch (filter.scope) {
    case "session":
      return `scope_key : "${scopeTokens("session", filter.projectId, filter.sessionId ?? "").split(" ")[1]}"`;
    case "project":
      return `scope_key : "${project[1]}"`;
    case "global":
      return `scope_key : "zg"`;
    case "all":
      return `(scope_key : "zg" OR scope_key : "${project[0]}")`;
  }
}

/**
 * Default (undefined): the shared query processing, stop words out unless nothing else is left. true: stop words out
 * even then (recall and block relevance: a message of function words recalls nothing). false: every word.
 */
function termsOf(query: string, dropStopwords: boolean | undefined): QueryTerm[] {
  if (dropStopwords === undefined) return searchTerms(query);
  return queryTerms(query, { dropStopwords });
}

export function searchEntries(db: Database, options: SearchOptions): SearchResult {
  const terms = termsOf(options.query, options.dropStopwords);
  if (terms.length === 0) return { hits: [], terms, empty: true };
  const match = matchOf(terms, options.mode ?? "any");
  const limit = Math.max(1, Math.min(options.limit ?? 10, 100));
  const excluded = options.excludeEntryIds?.size ?? 0;
  const wanted = limit + excluded;
  // Fast path: rank in the FTS index alone (top-N is what costs: a small N is a small heap), then keep the winners
  // in scope. When too few survive (other projects' entries crowd the top), rank again with the scope as an FTS
  // token filter, which is exact.
  // No spare rows: when every one of the top `wanted` is in scope they are the answer; otherwise the exact rank runs.
  const pool = wanted;
  let ranked = stmt(db, RANK_SQL).all<{ rowid: number; rank: number }>(`{body head} : (${match})`, pool);
  let rows = entriesByRowid(
    db,
    ranked.map((r) => r.rowid),
  );
  const inScope = (entry: IndexedEntry | undefined) => Boolean(entry) && entryInScope(entry!, options);
  if (ranked.length === pool && ranked.some((r) => !inScope(rows.get(r.rowid)))) {
    ranked = stmt(db, RANK_SQL).all<{ rowid: number; rank: number }>(
      `{body head} : (${match}) AND ${scopeMatch(options)}`,
      wanted,
    );
    rows = entriesByRowid(
      db,
      ranked.map((r) => r.rowid),
    );
  }
  const kept = ranked
    .map((r) => ({ entry: rows.get(r.rowid), rank: r.rank }))
    .filter(
      (r): r is { entry: IndexedEntry; rank: number } =>
        inScope(r.entry) && !options.excludeEntryIds?.has(r.entry!.entryId),
    );
  const top = kept.length ? -kept[0]!.rank : 0;
  const floor = (options.floor ?? 0.15) * top;
  const hits = kept
    .filter((r) => -r.rank >= floor)
    .slice(0, limit)
    .map(({ entry, rank }) => ({ ...entry, score: -rank, snippet: snippetOf(entry.text, terms) }));
  return { hits, terms };
}

/** BM25 scores (higher is better) of the best-matching entries, any scope: for ranking, not for display. */
/** The FTS5 MATCH expression of already parsed terms (any: OR, all: AND). */
const matchOf = (terms: QueryTerm[], mode: MatchMode) =>
  terms.map((t) => t.expression).join(mode === "all" ? " AND " : " OR ");

export function rankEntries(
  db: Database,
  query: string,
  options: { limit: number; dropStopwords?: boolean },
): { rowid: number; score: number }[] {
  const terms = termsOf(query, options.dropStopwords);
  if (terms.length === 0) return [];
  const match = matchOf(terms, "any");
  return stmt(db, RANK_SQL)
    .all<{ rowid: number; rank: number }>(`{body head} : (${match})`, options.limit)
    .map((r) => ({ rowid: r.rowid, score: -r.rank }));
}

const RANK_SQL =
  "SELECT rowid, bm25(memory_fts, 1.0, 0.3, 0.0) AS rank FROM memory_fts WHERE memory_fts MATCH ? ORDER BY rank LIMIT ?";

function entryInScope(entry: IndexedEntry, filter: ScopeFilter): boolean {
  switch (filter.scope) {
    case "session":
      return entry.scope === "session" && entry.scopeId === (filter.sessionId ?? "");
    case "project":
      return entry.scope === "project" && entry.projectId === filter.projectId;
    case "global":
      return entry.scope === "global";
    case "all":
      return entry.scope === "global" || entry.projectId === filter.projectId;
  }
}

function entriesByRowid(db: Database, rowids: number[]): Map<number, IndexedEntry> {
  if (rowids.length === 0) return new Map();
  const placeholders = rowids.map(() => "?").join(",");
  const rows = stmt(
    db,
    `SELECT ${ENTRY_COLUMNS} FROM memory_entries e LEFT JOIN memory_usage u ON u.entry_id = e.entry_id WHERE e.rowid IN (${placeholders})`,
  ).all<IndexedEntry>(...rowids);
  return new Map(rows.map((r) => [r.rowid, r]));
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
    .prepare(
      `SELECT ${ENTRY_COLUMNS} FROM memory_entries e LEFT JOIN memory_usage u ON u.entry_id = e.entry_id WHERE e.entry_id = ? AND ${scope.sql} LIMIT 1`,
    )
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
