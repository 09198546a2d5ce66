// The steps of past sessions as the miner reads them, from the history index (tool parts and user messages of
// main sessions, already redacted when they were stored).
import type { Database } from "../core/storage/database.ts";
import type { HistoryStep } from "./miner.ts";

const MAX_ROWS = 50_000;

export function historySteps(db: Database | undefined, projectId: string, since: number): HistoryStep[] {
  if (!db) return [];
  let rows: { sessionId: string; role: string; kind: string; tool: string | null; text: string; createdAt: number }[];
  try {
    rows = db
      .prepare(
        `SELECT session_id AS sessionId, role, kind, tool, text, created_at AS createdAt FROM history_parts
         WHERE project_id = ? AND created_at >= ? AND ((kind = 'tool') OR (role = 'user' AND kind = 'text'))
         ORDER BY created_at, rowid LIMIT ${MAX_ROWS}`,
      )
      .all(projectId, since);
  } catch {
    return []; // history off, or memory never started here
  }
  return rows.map((row) =>
    row.kind === "tool"
      ? { sessionId: row.sessionId, tool: row.tool ?? "tool", input: toolInput(row.text), at: row.createdAt }
      : { sessionId: row.sessionId, tool: "user", input: row.text, at: row.createdAt },
  );
}

/** `tool <name> <json args>` on the first line (history-store.ts partText); damaged or cut JSON gives {}. */
export function toolInput(text: string): unknown {
  const first = text.split("\n", 1)[0] ?? "";
  const match = /^tool \S+ (.*)$/.exec(first);
  if (!match) return {};
  try {
    return JSON.parse(match[1]!);
  } catch {
    return {};
  }
}
