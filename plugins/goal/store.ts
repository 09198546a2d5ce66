// Goals: one current goal per session (older ones kept as history), the loop state the state machine needs
// after a restart, and every judge verdict with the tokens the judge spent. Primary copy: the session's
// state/goals.json, rewritten atomically on every change; the SQLite tables are refilled from it when lost.
import { z } from "zod";
import type { Database } from "../core/storage/database.ts";
import { migrate, type Migration } from "../core/storage/migrations.ts";
import {
  registerStateRestorer,
  sessionStateFiles,
  type SessionDirOf,
  type SessionStateFiles,
} from "../core/storage/state-files.ts";
import { FINAL_STATUSES, newGoal, type GoalState, type GoalStatus } from "./state-machine.ts";

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "goals and judge verdicts",
    sql: `
      CREATE TABLE goals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        condition TEXT NOT NULL,
        status TEXT NOT NULL,
        state_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX goals_by_session ON goals (session_id, id);
      CREATE INDEX goals_by_status ON goals (project_id, status);
      CREATE TABLE goal_verdicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        goal_id INTEGER NOT NULL REFERENCES goals(id),
        at TEXT NOT NULL,
        run INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        evidence_json TEXT NOT NULL,
        missing_json TEXT NOT NULL,
        judge_session_id TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX goal_verdicts_by_goal ON goal_verdicts (goal_id, id);
    `,
  },
  {
    version: 2,
    description: "which process runs a goal's judge",
    sql: "ALTER TABLE goals ADD COLUMN judge_owner TEXT",
  },
  // No schema change: from this version on every session's goals are also in its state/goals.json.
  { version: 3, description: "goals mirrored to session state files", sql: "SELECT 1" },
];
const MIRRORED_SINCE = 3;
const STATE_NAME = "goals";

const statusSchema = z.enum(["active", "judging", "paused", ...FINAL_STATUSES]);
const stateSchema = z.object({
  condition: z.string(),
  status: statusSchema,
  continuations: z.number().int().min(0),
  rounds: z.number().int().min(0),
  judgeRun: z.number().int().min(0),
  judgeFailures: z.number().int().min(0),
  deferrals: z.number().int().min(0),
  lastMissing: z.array(z.string()).nullable(),
  noProgressRounds: z.number().int().min(0),
  roundFingerprint: z.string().nullable(),
  pendingFingerprint: z.string().nullable(),
  note: z.string(),
  evidence: z.array(z.string()),
});

export type VerdictOutcome = "met" | "not met" | "impossible" | "judge failed";

export interface JudgeTokens {
  input: number;
  output: number;
  total: number;
}

export interface VerdictRecord {
  at: string;
  run: number;
  outcome: VerdictOutcome;
  reason: string;
  evidence: string[];
  missing: string[];
  judgeSessionId: string | null;
  tokens: JudgeTokens;
}

export interface StoredGoal {
  id: number;
  sessionId: string;
  projectId: string;
  judgeOwner?: string | null;
  state: GoalState;
  createdAt: string;
  updatedAt: string;
}

export interface GoalStore {
  /** The session's latest goal (any status), or undefined. */
  current(sessionId: string): StoredGoal | undefined;
  create(sessionId: string, projectId: string, state: GoalState): StoredGoal;
  save(goalId: number, state: GoalState): void;
  addVerdict(goalId: number, verdict: VerdictRecord): void;
  verdicts(goalId: number): VerdictRecord[];
  /** Goals of a project that have not ended (reloaded after a restart). */
  unfinished(projectId: string): StoredGoal[];
  /** Records which process (host:pid) runs the goal's judge, so another OpenCode process leaves it alone. */
  setJudgeOwner(goalId: number, owner: string): void;
}

interface GoalRow {
  id: number;
  session_id: string;
  project_id: string;
  condition: string;
  status: string;
  state_json: string;
  created_at: string;
  updated_at: string;
  judge_owner?: string | null;
}

interface VerdictRow {
  at: string;
  run: number;
  outcome: string;
  reason: string;
  evidence_json: string;
  missing_json: string;
  judge_session_id: string | null;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export interface GoalStoreOptions {
  /** Where each session's folder is (ProjectPaths.session); goals are kept in <folder>/state/goals.json. */
  sessionDir?: SessionDirOf;
}

export function openGoalStore(
  db: Database,
  now: () => Date = () => new Date(),
  options: GoalStoreOptions = {},
): GoalStore {
  const files = sessionStateFiles(db, options.sessionDir);
  prepareTables(db, files);
  const stamp = () => now().toISOString();
  const sessionOfGoal = (goalId: number) =>
    db.prepare("SELECT session_id FROM goals WHERE id = ?").get<{ session_id: string }>(goalId)?.session_id;
  /** A change and the rewrite of the session's file in one transaction: a file that cannot be written undoes it. */
  const changing = <T>(goalId: number | undefined, sessionId: string | undefined, change: () => T): T =>
    db.transaction(() => {
      const result = change();
      const session = sessionId ?? (goalId === undefined ? undefined : sessionOfGoal(goalId));
      if (files && session) files.write(session, STATE_NAME, snapshot(db, session));
      return result;
    });
  const toGoal = (row: GoalRow | undefined): StoredGoal | undefined => {
    if (!row) return undefined;
    return {
      id: row.id,
      sessionId: row.session_id,
      projectId: row.project_id,
      judgeOwner: row.judge_owner ?? null,
      state: readState(row),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  };
  return {
    current: (sessionId) =>
      toGoal(db.prepare("SELECT * FROM goals WHERE session_id = ? ORDER BY id DESC LIMIT 1").get<GoalRow>(sessionId)),
    create(sessionId, projectId, state) {
      const at = stamp();
      return changing(undefined, sessionId, () => {
        const result = db
          .prepare(
            "INSERT INTO goals (session_id, project_id, condition, status, state_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          )
          .run(sessionId, projectId, state.condition, state.status, JSON.stringify(state), at, at);
        return { id: Number(result.lastInsertRowid), sessionId, projectId, state, createdAt: at, updatedAt: at };
      });
    },
    save(goalId, state) {
      changing(goalId, undefined, () =>
        db
          .prepare("UPDATE goals SET status = ?, state_json = ?, updated_at = ? WHERE id = ?")
          .run(state.status, JSON.stringify(state), stamp(), goalId),
      );
    },
    addVerdict(goalId, v) {
      changing(goalId, undefined, () => insertVerdict(db, goalId, v));
    },
    verdicts: (goalId) =>
      db.prepare("SELECT * FROM goal_verdicts WHERE goal_id = ? ORDER BY id").all<VerdictRow>(goalId).map(toVerdict),
    setJudgeOwner(goalId, owner) {
      changing(goalId, undefined, () => db.prepare("UPDATE goals SET judge_owner = ? WHERE id = ?").run(owner, goalId));
    },
    unfinished: (projectId) =>
      db
        .prepare(
          `SELECT * FROM goals WHERE project_id = ? AND status NOT IN (${FINAL_STATUSES.map(() => "?").join(", ")}) ORDER BY id`,
        )
        .all<GoalRow>(projectId, ...FINAL_STATUSES)
        .flatMap((row) => toGoal(row) ?? []),
  };
}

function insertVerdict(db: Database, goalId: number, v: VerdictRecord): void {
  db.prepare(
    `INSERT INTO goal_verdicts (goal_id, at, run, outcome, reason, evidence_json, missing_json, judge_session_id, input_tokens, output_tokens, total_tokens)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    goalId,
    v.at,
    v.run,
    v.outcome,
    v.reason,
    JSON.stringify(v.evidence),
    JSON.stringify(v.missing),
    v.judgeSessionId,
    v.tokens.input,
    v.tokens.output,
    v.tokens.total,
  );
}

// ---- the session files ----

const tokensSchema = z.object({ input: z.number(), output: z.number(), total: z.number() });
const verdictSchema = z.object({
  at: z.string(),
  run: z.number().int(),
  outcome: z.enum(["met", "not met", "impossible", "judge failed"]),
  reason: z.string(),
  evidence: z.array(z.string()),
  missing: z.array(z.string()),
  judgeSessionId: z.string().nullable(),
  tokens: tokensSchema,
});
const fileSchema = z.object({
  sessionId: z.string().min(1),
  goals: z.array(
    z.object({
      id: z.number().int().positive(),
      projectId: z.string(),
      condition: z.string(),
      status: z.string(),
      stateJson: z.string(),
      judgeOwner: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
      verdicts: z.array(verdictSchema),
    }),
  ),
});

function snapshot(db: Database, sessionId: string): Omit<z.infer<typeof fileSchema>, "sessionId"> {
  const rows = db.prepare("SELECT * FROM goals WHERE session_id = ? ORDER BY id").all<GoalRow>(sessionId);
  return {
    goals: rows.map((row) => ({
      id: row.id,
      projectId: row.project_id,
      condition: row.condition,
      status: row.status,
      stateJson: row.state_json,
      judgeOwner: row.judge_owner ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      verdicts: db
        .prepare("SELECT * FROM goal_verdicts WHERE goal_id = ? ORDER BY id")
        .all<VerdictRow>(row.id)
        .map(toVerdict),
    })),
  };
}

/** Migrates; a fresh table set is refilled from the files, an older one written out to them once. */
function prepareTables(db: Database, files: SessionStateFiles | undefined): string | undefined {
  const { from } = migrate(db, "goal", MIGRATIONS);
  if (!files) return undefined;
  if (from === 0) return restoreAll(db, files);
  if (from < MIRRORED_SINCE && !files.readOnly) {
    for (const { session_id } of db.prepare("SELECT DISTINCT session_id FROM goals").all<{ session_id: string }>()) {
      try {
        files.write(session_id, STATE_NAME, snapshot(db, session_id));
      } catch {
        /* best effort: the next change of that session writes its file again */
      }
    }
  }
  return undefined;
}

/** Goal ids are kept when free, so a process holding one still finds its goal; sessions already present are left. */
function restoreAll(db: Database, files: SessionStateFiles): string | undefined {
  let goals = 0;
  let verdicts = 0;
  let unreadable = 0;
  const read = files.readValid(STATE_NAME, fileSchema);
  unreadable += read.unreadable;
  for (const state of read.states) {
    db.transaction(() => {
      if (db.prepare("SELECT 1 FROM goals WHERE session_id = ? LIMIT 1").get(state.sessionId)) return;
      for (const goal of state.goals) {
        const idFree = !db.prepare("SELECT 1 FROM goals WHERE id = ?").get(goal.id);
        const result = db
          .prepare(
            "INSERT INTO goals (id, session_id, project_id, condition, status, state_json, created_at, updated_at, judge_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          )
          .run(
            idFree ? goal.id : null,
            state.sessionId,
            goal.projectId,
            goal.condition,
            goal.status,
            goal.stateJson,
            goal.createdAt,
            goal.updatedAt,
            goal.judgeOwner,
          );
        const goalId = Number(result.lastInsertRowid);
        for (const verdict of goal.verdicts) insertVerdict(db, goalId, verdict);
        goals++;
        verdicts += goal.verdicts.length;
      }
    });
  }
  const parts = goals
    ? [`${goals} goal${goals === 1 ? "" : "s"} (${verdicts} verdict${verdicts === 1 ? "" : "s"})`]
    : [];
  if (unreadable) parts.push(`${unreadable} unreadable goals.json file${unreadable === 1 ? "" : "s"} skipped`);
  return parts.join(", ") || undefined;
}

registerStateRestorer(STATE_NAME, (db) => prepareTables(db, sessionStateFiles(db)));

/** A damaged state row never takes the session down: the goal comes back paused with a note saying why. */
function readState(row: GoalRow): GoalState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.state_json);
  } catch {
    parsed = undefined;
  }
  const result = stateSchema.safeParse(parsed);
  if (result.success) return result.data as GoalState;
  const status = statusSchema.safeParse(row.status);
  const keepFinal = status.success && (FINAL_STATUSES as readonly string[]).includes(status.data);
  return {
    ...newGoal(row.condition),
    status: (keepFinal ? status.data : "paused") as GoalStatus,
    note: "the stored loop state was unreadable; the goal was paused (use /goal resume)",
  };
}

function jsonList(text: string): string[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

function toVerdict(row: VerdictRow): VerdictRecord {
  return {
    at: row.at,
    run: row.run,
    outcome: row.outcome as VerdictOutcome,
    reason: row.reason,
    evidence: jsonList(row.evidence_json),
    missing: jsonList(row.missing_json),
    judgeSessionId: row.judge_session_id,
    tokens: { input: row.input_tokens, output: row.output_tokens, total: row.total_tokens },
  };
}
