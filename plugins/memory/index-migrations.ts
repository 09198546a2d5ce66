// The memory feature's schema, version by version: the memory index (derived from the markdown files) and the raw
// history index, in one database. Kept apart from the queries in index-store.ts.
import type { Migration } from "../core/storage/migrations.ts";
import { HISTORY_BACKFILL_MIGRATION_SQL } from "./history-backfill.ts";
import { HISTORY_MIGRATION_SQL, HISTORY_RANKING_MIGRATION_SQL, PACK_LOOKUP_ROWS_SQL } from "./history-store.ts";

/** Keep memory_fts (external content) in step with memory_entries; deletes go through FTS5's 'delete' command. */
export const ENTRY_TRIGGERS = `
CREATE TRIGGER memory_entries_ai AFTER INSERT ON memory_entries BEGIN
  INSERT INTO memory_fts(rowid, body, head, scope_key) VALUES (new.rowid, new.body, new.head, new.scope_key);
END;
CREATE TRIGGER memory_entries_ad AFTER DELETE ON memory_entries BEGIN
  INSERT INTO memory_fts(memory_fts, rowid, body, head, scope_key) VALUES ('delete', old.rowid, old.body, old.head, old.scope_key);
END;
CREATE TRIGGER memory_entries_au AFTER UPDATE ON memory_entries BEGIN
  INSERT INTO memory_fts(memory_fts, rowid, body, head, scope_key) VALUES ('delete', old.rowid, old.body, old.head, old.scope_key);
  INSERT INTO memory_fts(rowid, body, head, scope_key) VALUES (new.rowid, new.body, new.head, new.scope_key);
END;
`;

export const MEMORY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description:
      "memory files, entries with scope tokens and token counts, FTS5 index (external content kept in sync by triggers), usage counts",
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
  tokens INTEGER NOT NULL,
  body TEXT NOT NULL,
  head TEXT NOT NULL,
  scope_key TEXT NOT NULL
);
CREATE INDEX memory_entries_path ON memory_entries(path);
CREATE INDEX memory_entries_entry ON memory_entries(entry_id);
CREATE INDEX memory_entries_scope ON memory_entries(project_id, scope, scope_id);
CREATE VIRTUAL TABLE memory_fts USING fts5(
  body, head, scope_key,
  content='memory_entries', content_rowid='rowid',
  tokenize='unicode61 remove_diacritics 2'
);
${ENTRY_TRIGGERS}
CREATE TABLE memory_usage (
  entry_id TEXT PRIMARY KEY,
  uses INTEGER NOT NULL DEFAULT 0,
  last_used TEXT
);
`,
  },
  { version: 2, description: "raw history index of main sessions' message parts", sql: HISTORY_MIGRATION_SQL },
  {
    version: 3,
    description: "the pack's own lookups (history calls, memory searches, task lists) are not history",
    sql: `DELETE FROM history_parts WHERE ${PACK_LOOKUP_ROWS_SQL};`,
  },
  {
    version: 4,
    description: "history ranking: porter stemming, and the neighbouring text parts as a context column",
    sql: HISTORY_RANKING_MIGRATION_SQL,
  },
  {
    version: 5,
    description: "memory entries stemmed (porter), as history: 'deploys' finds 'deployed'",
    // External content: the entries stay, only the index is rebuilt from them; the triggers name the table, not its tokenizer.
    sql: `DROP TABLE memory_fts;
CREATE VIRTUAL TABLE memory_fts USING fts5(body, head, scope_key, content='memory_entries', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
INSERT INTO memory_fts(memory_fts) VALUES ('rebuild');`,
  },
  {
    version: 6,
    description: "sessions read from the host's store into history, with the host's last update",
    sql: HISTORY_BACKFILL_MIGRATION_SQL,
  },
];
