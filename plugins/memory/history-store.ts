// The raw history index: every message part of a project's main sessions, redacted, searchable word
// for word after the context was rebuilt. Parts are upserted while they stream; old ones expire.
import type { Database } from "../core/storage/database.ts";
import { indexableText, searchTerms, snippetOf } from "./search-text.ts";

export const HISTORY_MIGRATION_SQL = `
CREATE TABLE history_parts (
  rowid INTEGER PRIMARY KEY,
  part_id TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  role TEXT NOT NULL,
  kind TEXT NOT NULL,
  tool TEXT,
  created_at INTEGER NOT NULL,
  text TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX history_parts_project ON history_parts(project_id, created_at);
CREATE INDEX history_parts_message ON history_parts(message_id);
CREATE INDEX history_parts_session ON history_parts(session_id, created_at);
CREATE VIRTUAL TABLE history_fts USING fts5(body, content='history_parts', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER history_parts_ai AFTER INSERT ON history_parts BEGIN
  INSERT INTO history_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER history_parts_ad AFTER DELETE ON history_parts BEGIN
  INSERT INTO history_fts(history_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER history_parts_au AFTER UPDATE ON history_parts BEGIN
  INSERT INTO history_fts(history_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
  INSERT INTO history_fts(rowid, body) VALUES (new.rowid, new.body);
END;
`;

/**
 * Ranking for conversations: words are stemmed (porter), and every text part also carries the text parts next to it
 * in its session, in a column of less weight. An answer is often a reply to the question's words ("what did you
 * adopt?" / "a puppy!"); on the LoCoMo development set this context (weight 0.5) lifted recall@10 from 0.69 to 0.73
 * (test/bench/recall.bench.ts).
 */
export const HISTORY_RANKING_MIGRATION_SQL = `
ALTER TABLE history_parts ADD COLUMN context TEXT NOT NULL DEFAULT '';
DROP TRIGGER history_parts_ai;
DROP TRIGGER history_parts_ad;
DROP TRIGGER history_parts_au;
DROP TABLE history_fts;
WITH n AS (
  SELECT rowid AS id, LAG(body) OVER w AS prev, LEAD(body) OVER w AS next FROM history_parts WHERE kind = 'text'
  WINDOW w AS (PARTITION BY session_id ORDER BY created_at, rowid)
)
UPDATE history_parts SET context = substr(coalesce(n.prev, ''), 1, 1000) || ' ' || substr(coalesce(n.next, ''), 1, 1000) FROM n WHERE n.id = history_parts.rowid;
CREATE VIRTUAL TABLE history_fts USING fts5(body, context, content='history_parts', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2');
INSERT INTO history_fts(history_fts) VALUES ('rebuild');
CREATE TRIGGER history_parts_ai AFTER INSERT ON history_parts BEGIN
  INSERT INTO history_fts(rowid, body, context) VALUES (new.rowid, new.body, new.context);
END;
CREATE TRIGGER history_parts_ad AFTER DELETE ON history_parts BEGIN
  INSERT INTO history_fts(history_fts, rowid, body, context) VALUES ('delete', old.rowid, old.body, old.context);
END;
CREATE TRIGGER history_parts_au AFTER UPDATE ON history_parts BEGIN
  INSERT INTO history_fts(history_fts, rowid, body, context) VALUES ('delete', old.rowid, old.body, old.context);
  INSERT INTO history_fts(rowid, body, context) VALUES (new.rowid, new.body, new.context);
END;
`;

/** Characters of each neighbour kept in a part's context column. */
const CONTEXT_CHARS = 1000;
/** Weight of the neighbours' words against the part's own (bm25 column weights). */
const CONTEXT_WEIGHT = 0.5;

export const MAX_PART_CHARS = 16_000;
export const MAX_TOOL_OUTPUT_CHARS = 8_000;

export interface HistoryPart {
  partId: string;
  projectId: string;
  sessionId: string;
  messageId: string;
  role: string;
  kind: "text" | "tool";
  tool?: string;
  createdAt: number;
  /** Already redacted. */
  text: string;
}

export function upsertParts(db: Database, parts: HistoryPart[]): void {
  if (parts.length === 0) return;
  const upsert = db.prepare(
    `INSERT INTO history_parts (part_id, project_id, session_id, message_id, role, kind, tool, created_at, text, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(part_id) DO UPDATE SET role = excluded.role, kind = excluded.kind, tool = excluded.tool, text = excluded.text, body = excluded.body
     WHERE history_parts.text <> excluded.text OR history_parts.role <> excluded.role`,
  );
  db.transaction(() => {
    for (const p of parts) {
      const text = p.text.slice(0, MAX_PART_CHARS);
      upsert.run(
        p.partId,
        p.projectId,
        p.sessionId,
        p.messageId,
        p.role,
        p.kind,
        p.tool ?? null,
        p.createdAt,
        text,
        indexableText(text),
      );
    }
    const sessions = new Map<string, number>();
    for (const p of parts)
      if (p.kind === "text") sessions.set(p.sessionId, Math.min(sessions.get(p.sessionId) ?? Infinity, p.createdAt));
    for (const [sessionId, from] of sessions) refreshContext(db, sessionId, from);
  });
}

/**
 * Recomputes the context column (the neighbouring text parts) of a session's text parts from `from` on, and of the
 * one before it, whose next neighbour may have changed. Only rows whose context differs are written.
 */
function refreshContext(db: Database, sessionId: string, from: number): void {
  type Row = { rowid: number; body: string; context: string };
  const before = db
    .prepare(
      "SELECT rowid, body, context FROM history_parts WHERE session_id = ? AND kind = 'text' AND created_at < ? ORDER BY created_at DESC, rowid DESC LIMIT 2",
    )
    .all<Row>(sessionId, from)
    .reverse();
  const after = db
    .prepare(
      "SELECT rowid, body, context FROM history_parts WHERE session_id = ? AND kind = 'text' AND created_at >= ? ORDER BY created_at, rowid",
    )
    .all<Row>(sessionId, from);
  const rows = [...before, ...after];
  const set = db.prepare("UPDATE history_parts SET context = ? WHERE rowid = ?");
  for (let i = Math.max(0, before.length - 1); i < rows.length; i++) {
    const context = contextOf(rows[i - 1]?.body, rows[i + 1]?.body);
    if (context !== rows[i]!.context) set.run(context, rows[i]!.rowid);
  }
}

const contextOf = (prev: string | undefined, next: string | undefined) =>
  `${(prev ?? "").slice(0, CONTEXT_CHARS)} ${(next ?? "").slice(0, CONTEXT_CHARS)}`;

/** Forgets parts that are no longer history (a call whose arguments, complete at last, show it was a lookup). */
export function dropParts(db: Database, partIds: string[]): void {
  if (partIds.length === 0) return;
  const drop = db.prepare("DELETE FROM history_parts WHERE part_id = ?");
  db.transaction(() => partIds.forEach((id) => drop.run(id)));
}

export function pruneHistory(db: Database, projectId: string, retentionDays: number, now = Date.now()): number {
  const cutoff = now - retentionDays * 86_400_000;
  return db.prepare("DELETE FROM history_parts WHERE project_id = ? AND created_at < ?").run(projectId, cutoff).changes;
}

export interface HistoryRow {
  partId: string;
  sessionId: string;
  messageId: string;
  role: string;
  kind: string;
  tool: string | null;
  createdAt: number;
  text: string;
}

const COLUMNS = `h.part_id AS partId, h.session_id AS sessionId, h.message_id AS messageId, h.role AS role, h.kind AS kind,
  h.tool AS tool, h.created_at AS createdAt, h.text AS text`;

export interface HistoryHit extends HistoryRow {
  score: number;
  snippet: string;
}

export function searchHistory(
  db: Database,
  projectId: string,
  query: string,
  limit = 10,
): { hits: HistoryHit[]; empty: boolean } {
  const terms = searchTerms(query);
  if (terms.length === 0) return { hits: [], empty: true };
  const any = terms.map((t) => t.expression).join(" OR ");
  // A hit holds at least one of the words itself (a part found only through its neighbours would show none of them);
  // the neighbours' words then add to its rank.
  const match = `body : (${any}) AND {body context} : (${any})`;
  const rows = db
    .prepare(
      `SELECT ${COLUMNS}, bm25(history_fts, 1.0, ${CONTEXT_WEIGHT}) AS rank FROM history_fts JOIN history_parts h ON h.rowid = history_fts.rowid
       WHERE history_fts MATCH ? AND h.project_id = ? ORDER BY rank LIMIT ?`,
    )
    .all<HistoryRow & { rank: number }>(match, projectId, Math.max(1, Math.min(limit, 50)));
  // No relative cut: with the pack's own lookups out of the index no self-hit inflates the top score, and on the
  // LoCoMo set a cut only dropped evidence turns ranked 6-10 behind a strong first hit.
  const hits = rows.map(({ rank, ...row }) => ({ ...row, score: -rank, snippet: snippetOf(row.text, terms, 200) }));
  return { hits, empty: false };
}

export function getPart(db: Database, projectId: string, partId: string): HistoryRow | undefined {
  return db
    .prepare(`SELECT ${COLUMNS} FROM history_parts h WHERE h.part_id = ? AND h.project_id = ?`)
    .get<HistoryRow>(partId, projectId);
}

/** The messages around one message of a session (`radius` before and after), each with its parts. */
export function messagesAround(
  db: Database,
  projectId: string,
  messageId: string,
  radius = 3,
): { messageId: string; role: string; parts: HistoryRow[] }[] | undefined {
  const anchor = db
    .prepare(
      "SELECT session_id AS sessionId, MIN(created_at) AS at FROM history_parts WHERE message_id = ? AND project_id = ? GROUP BY session_id",
    )
    .get<{ sessionId: string; at: number }>(messageId, projectId);
  if (!anchor) return undefined;
  const messages = db
    .prepare(
      `SELECT message_id AS messageId, MIN(created_at) AS at FROM history_parts WHERE session_id = ? AND project_id = ?
       GROUP BY message_id ORDER BY at, message_id`,
    )
    .all<{ messageId: string; at: number }>(anchor.sessionId, projectId);
  const index = messages.findIndex((m) => m.messageId === messageId);
  const window = messages.slice(Math.max(0, index - radius), index + radius + 1);
  const partsOf = db.prepare(
    `SELECT ${COLUMNS} FROM history_parts h WHERE h.message_id = ? AND h.project_id = ? ORDER BY h.created_at, h.rowid`,
  );
  return window.map((m) => {
    const parts = partsOf.all<HistoryRow>(m.messageId, projectId);
    return { messageId: m.messageId, role: parts[0]?.role ?? "unknown", parts };
  });
}

/**
 * The pack's own tool actions that only read (searches, list/get/around): their arguments repeat the query and their
 * outputs repeat other parts, so indexed they would crowd out the conversation and a search would find itself.
 */
const PACK_LOOKUPS: Record<string, readonly string[] | "all"> = {
  history: "all",
  memory: ["search"],
  tasks: ["list", "get"],
};

/** Whether a tool call is one of the pack's own read-only lookups (any status: the running call included). */
export function isPackLookup(tool: string, input: unknown): boolean {
  const actions = PACK_LOOKUPS[tool];
  if (!actions) return false;
  if (actions === "all") return true;
  const action = (input as { action?: unknown } | null | undefined)?.action;
  return typeof action === "string" && actions.includes(action);
}

/** The same rule in SQL over stored rows ('tool <name> <json args>'), for rows indexed before the rule existed. */
export const PACK_LOOKUP_ROWS_SQL = `kind = 'tool' AND (tool = 'history'
  OR (tool = 'memory' AND substr(text, 1, instr(text || char(10), char(10))) LIKE '%"action":"search"%')
  OR (tool = 'tasks' AND (substr(text, 1, instr(text || char(10), char(10))) LIKE '%"action":"list"%'
    OR substr(text, 1, instr(text || char(10), char(10))) LIKE '%"action":"get"%')))`;

/** A part of the host's event stream, reduced to what the index stores; undefined for parts not worth keeping. */
export function partText(
  part: Record<string, unknown>,
): { kind: "text" | "tool"; tool?: string; text: string } | undefined {
  if (part.type === "text" && typeof part.text === "string") {
    if (part.synthetic === true || part.ignored === true) return undefined;
    return part.text.trim() ? { kind: "text", text: part.text } : undefined;
  }
  if (part.type === "tool" && typeof part.tool === "string") {
    const state = (part.state ?? {}) as Record<string, unknown>;
    if (isPackLookup(part.tool, state.input)) return undefined;
    const args = state.input === undefined ? "" : safeJson(state.input);
    const output =
      typeof state.output === "string" ? state.output : typeof state.error === "string" ? `error: ${state.error}` : "";
    const cut =
      output.length > MAX_TOOL_OUTPUT_CHARS
        ? `${output.slice(0, MAX_TOOL_OUTPUT_CHARS)}\n[… ${output.length - MAX_TOOL_OUTPUT_CHARS} more characters not indexed]`
        : output;
    return { kind: "tool", tool: part.tool, text: `tool ${part.tool} ${args}${cut ? `\n→ ${cut}` : ""}` };
  }
  return undefined;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 4000);
  } catch {
    return "[unserializable arguments]";
  }
}
