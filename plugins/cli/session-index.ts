// Read-only questions the CLI asks of the pack's database that the feature stores do not offer: which sessions of
// a project the pack knows, whether a session id is known at all, and a project's goals with their history.
// Plain SELECTs on the stores' own tables, after the stores have migrated them; nothing here writes.
import { existsSync, readdirSync } from "node:fs";
import type { Database } from "../core/storage/database.ts";
import type { ProjectPaths } from "../core/paths.ts";

/** Sessions of a project the pack has anything for: checkpoints, goals, or a session folder (notes, progress). */
export function sessionsOfProject(db: Database, projectId: string, projectPaths: ProjectPaths): string[] {
  const ids = new Set<string>();
  for (const row of db
    .prepare("SELECT DISTINCT session_id AS id FROM checkpoints WHERE project_id = ?")
    .all<{ id: string }>(projectId))
    ids.add(row.id);
  for (const row of db
    .prepare("SELECT DISTINCT session_id AS id FROM goals WHERE project_id = ?")
    .all<{ id: string }>(projectId))
    ids.add(row.id);
  if (existsSync(projectPaths.sessions)) for (const name of readdirSync(projectPaths.sessions)) ids.add(name);
  return [...ids];
}

/** Whether any store has a record of this session (without creating one, as CheckpointStore.state would). */
export function sessionKnown(db: Database, sessionId: string): boolean {
  const queries = [
    "SELECT 1 FROM checkpoint_sessions WHERE session_id = ? AND (reading_at IS NOT NULL OR rebuilds > 0 OR writer_runs > 0 OR fired_index >= 0)",
    "SELECT 1 FROM checkpoints WHERE session_id = ?",
    "SELECT 1 FROM tasks WHERE session_id = ?",
    "SELECT 1 FROM goals WHERE session_id = ?",
  ];
  return queries.some((sql) => db.prepare(`${sql} LIMIT 1`).get(sessionId) !== undefined);
}

/** Whether the checkpoint store has a session row, so reading its state does not insert one. */
export function hasCheckpointState(db: Database, sessionId: string): boolean {
  return db.prepare("SELECT 1 FROM checkpoint_sessions WHERE session_id = ? LIMIT 1").get(sessionId) !== undefined;
}

export interface GoalRow {
  id: number;
  sessionId: string;
  condition: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  continuations: number;
  rounds: number;
  note: string;
}

/** Every goal of a project (or of one session), newest first, including ended and replaced ones. */
export function goalsOf(db: Database, filter: { projectId: string } | { sessionId: string }): GoalRow[] {
  const [where, value] = "projectId" in filter ? ["project_id", filter.projectId] : ["session_id", filter.sessionId];
  const rows = db
    .prepare(
      `SELECT id, session_id, condition, status, state_json, created_at, updated_at FROM goals WHERE ${where} = ? ORDER BY id DESC`,
    )
    .all<{
      id: number;
      session_id: string;
      condition: string;
      status: string;
      state_json: string;
      created_at: string;
      updated_at: string;
    }>(value);
  return rows.map((row) => {
    const state = parseState(row.state_json);
    return {
      id: row.id,
      sessionId: row.session_id,
      condition: row.condition,
      status: row.status,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      continuations: state.continuations ?? 0,
      rounds: state.rounds ?? 0,
      note: state.note ?? "",
    };
  });
}

export function goalById(db: Database, id: number): (GoalRow & { projectId: string }) | undefined {
  const row = db
    .prepare("SELECT session_id, project_id FROM goals WHERE id = ?")
    .get<{ session_id: string; project_id: string }>(id);
  if (!row) return undefined;
  const goal = goalsOf(db, { sessionId: row.session_id }).find((g) => g.id === id);
  return goal && { ...goal, projectId: row.project_id };
}

function parseState(json: string): { continuations?: number; rounds?: number; note?: string } {
  try {
    const value = JSON.parse(json) as Record<string, unknown>;
    return {
      continuations: typeof value.continuations === "number" ? value.continuations : undefined,
      rounds: typeof value.rounds === "number" ? value.rounds : undefined,
      note: typeof value.note === "string" ? value.note : undefined,
    };
  } catch {
    return {};
  }
}
