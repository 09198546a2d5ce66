// The task tree of a session: ids T1, T1.2, T1.2.3, five statuses, an event log per task. Primary copy: the
// session's state/tasks.json, rewritten atomically on every change; the SQLite tables are its queryable copy and
// are refilled from the files when the database is lost. Host-independent: the tool and the gate sit on top.
import { z } from "zod";
import type { Database } from "../core/storage/database.ts";
import { migrate, type Migration } from "../core/storage/migrations.ts";
import {
  registerStateRestorer,
  sessionStateFiles,
  StateWriteError,
  type SessionDirOf,
  type SessionStateFiles,
} from "../core/storage/state-files.ts";

export const TASK_STATUSES = ["open", "in_progress", "blocked", "done", "abandoned"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskRecord {
  sessionId: string;
  id: string;
  parentId: string | null;
  title: string;
  status: TaskStatus;
  createdAt: string;
  updatedAt: string;
}

export interface TaskEvent {
  taskId: string;
  at: string;
  kind: string;
  fromStatus: TaskStatus | null;
  toStatus: TaskStatus | null;
  note: string | null;
}

export type TransitionAction = "start" | "block" | "unblock" | "done" | "abandon";

/** Thrown for input a caller can fix (bad id, forbidden transition); the tool shows the message as is. */
export class TaskInputError extends Error {
  override name = "TaskInputError";
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "task tree and task events",
    sql: `
      CREATE TABLE tasks (
        session_id TEXT NOT NULL,
        id TEXT NOT NULL,
        parent_id TEXT,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (session_id, id)
      );
      CREATE TABLE task_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT,
        note TEXT
      );
      CREATE INDEX task_events_by_task ON task_events (session_id, task_id, seq);
      CREATE TABLE task_bindings (
        child_session_id TEXT PRIMARY KEY,
        owner_session_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        bound_at TEXT NOT NULL
      );
    `,
  },
  // No schema change: from this version on every session's tree is also in its state/tasks.json (see exportAll).
  { version: 2, description: "task trees mirrored to session state files", sql: "SELECT 1" },
];
const MIRRORED_SINCE = 2;
const STATE_NAME = "tasks";

/** Which transitions each action allows; anything else is refused with the allowed list. */
const TRANSITIONS: Record<TransitionAction, { from: TaskStatus[]; to: TaskStatus }> = {
  start: { from: ["open", "blocked"], to: "in_progress" },
  block: { from: ["open", "in_progress"], to: "blocked" },
  unblock: { from: ["blocked"], to: "open" },
  done: { from: ["open", "in_progress"], to: "done" },
  abandon: { from: ["open", "in_progress", "blocked"], to: "abandoned" },
};

export const TASK_ID = /^T[1-9]\d*(\.[1-9]\d*)*$/;
const MAX_TITLE = 200;
const MAX_NOTE = 2000;

export const isUnfinished = (status: TaskStatus) => status === "open" || status === "in_progress";
export const isSettled = (status: TaskStatus) => status === "done" || status === "abandoned";

export interface TaskStore {
  create(sessionId: string, title: string, parentId?: string): TaskRecord;
  list(sessionId: string): TaskRecord[];
  get(sessionId: string, id: string): TaskRecord;
  events(sessionId: string, id: string): TaskEvent[];
  transition(sessionId: string, id: string, action: TransitionAction, note?: string): TaskRecord;
  rename(sessionId: string, id: string, title: string): TaskRecord;
  /** Records a progress note in the task's event log (the file is written by the caller). */
  progress(sessionId: string, id: string, note: string): TaskRecord;
  bind(childSessionId: string, ownerSessionId: string, taskId: string): void;
  binding(childSessionId: string): { ownerSessionId: string; taskId: string } | undefined;
}

interface TaskRow {
  session_id: string;
  id: string;
  parent_id: string | null;
  title: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface TaskStoreOptions {
  /** Where each session's folder is (ProjectPaths.session); the tree is kept in <folder>/state/tasks.json. */
  sessionDir?: SessionDirOf;
}

export function openTaskStore(
  db: Database,
  now: () => Date = () => new Date(),
  options: TaskStoreOptions = {},
): TaskStore {
  const files = sessionStateFiles(db, options.sessionDir);
  prepareTables(db, files);
  const stamp = () => now().toISOString();
  /** Runs a change and rewrites the session's file inside one transaction: a file that cannot be written undoes it. */
  const changing = <T>(sessionId: string, change: () => T): T =>
    db.transaction(() => {
      const result = change();
      saveSession(db, files, sessionId);
      return result;
    });
  const logEvent = (
    sessionId: string,
    taskId: string,
    kind: string,
    from: TaskStatus | null,
    to: TaskStatus | null,
    note?: string,
  ) =>
    db
      .prepare(
        "INSERT INTO task_events (session_id, task_id, at, kind, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(sessionId, taskId, stamp(), kind, from, to, note ?? null);

  const { get, list, nextId, events } = taskReader(db);

  return {
    create(sessionId, title, parentId) {
      const cleanTitle = checkTitle(title);
      return changing(sessionId, () => {
        if (parentId !== undefined) {
          const parent = get(sessionId, parentId);
          if (isSettled(parent.status))
            throw new TaskInputError(`cannot add a subtask to ${parentId}: it is ${parent.status}`);
        }
        const id = nextId(sessionId, parentId);
        const at = stamp();
        db.prepare(
          "INSERT INTO tasks (session_id, id, parent_id, title, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?)",
        ).run(sessionId, id, parentId ?? null, cleanTitle, at, at);
        logEvent(sessionId, id, "created", null, "open", cleanTitle);
        return get(sessionId, id);
      });
    },
    list,
    get,
    events,
    transition(sessionId, id, action, note) {
      return changing(sessionId, () => {
        const task = get(sessionId, id);
        const rule = checkTransition(task, action, note, () => list(sessionId));
        db.prepare("UPDATE tasks SET status = ?, updated_at = ? WHERE session_id = ? AND id = ?").run(
          rule.to,
          stamp(),
          sessionId,
          id,
        );
        logEvent(sessionId, id, action, task.status, rule.to, note ? checkNote(note) : undefined);
        return get(sessionId, id);
      });
    },
    rename(sessionId, id, title) {
      const cleanTitle = checkTitle(title);
      return changing(sessionId, () => {
        const task = get(sessionId, id);
        db.prepare("UPDATE tasks SET title = ?, updated_at = ? WHERE session_id = ? AND id = ?").run(
          cleanTitle,
          stamp(),
          sessionId,
          id,
        );
        logEvent(sessionId, id, "renamed", null, null, `${task.title} → ${cleanTitle}`);
        return get(sessionId, id);
      });
    },
    progress(sessionId, id, note) {
      const clean = checkNote(note);
      return changing(sessionId, () => {
        const task = get(sessionId, id);
        logEvent(sessionId, id, "progress", null, null, clean);
        return task;
      });
    },
    bind(childSessionId, ownerSessionId, taskId) {
      changing(ownerSessionId, () => {
        get(ownerSessionId, taskId);
        const previous = db
          .prepare("SELECT owner_session_id FROM task_bindings WHERE child_session_id = ?")
          .get<{ owner_session_id: string }>(childSessionId);
        db.prepare(
          "INSERT INTO task_bindings (child_session_id, owner_session_id, task_id, bound_at) VALUES (?, ?, ?, ?) ON CONFLICT(child_session_id) DO UPDATE SET owner_session_id = excluded.owner_session_id, task_id = excluded.task_id, bound_at = excluded.bound_at",
        ).run(childSessionId, ownerSessionId, taskId, stamp());
        if (previous && previous.owner_session_id !== ownerSessionId) saveSession(db, files, previous.owner_session_id);
      });
    },
    binding(childSessionId) {
      const row = db
        .prepare("SELECT owner_session_id, task_id FROM task_bindings WHERE child_session_id = ?")
        .get<{ owner_session_id: string; task_id: string }>(childSessionId);
      return row ? { ownerSessionId: row.owner_session_id, taskId: row.task_id } : undefined;
    },
  };
}

/** The store's reads: one task, a session's tree in id order, the next free id, a task's event log. */
function taskReader(db: Database) {
  const get = (sessionId: string, id: string): TaskRecord => {
    checkId(id);
    const row = db.prepare("SELECT * FROM tasks WHERE session_id = ? AND id = ?").get<TaskRow>(sessionId, id);
    if (!row) throw new TaskInputError(`no task ${id} in this session; use action "list" to see the ids`);
    return toRecord(row);
  };
  const list = (sessionId: string): TaskRecord[] =>
    db
      .prepare("SELECT * FROM tasks WHERE session_id = ?")
      .all<TaskRow>(sessionId)
      .map(toRecord)
      .sort((a, b) => compareTaskIds(a.id, b.id));
  const nextId = (sessionId: string, parentId: string | undefined): string => {
    const siblings = list(sessionId).filter((t) => (t.parentId ?? undefined) === parentId);
    const highest = siblings.reduce((max, t) => Math.max(max, Number(t.id.split(".").pop()!.replace("T", ""))), 0);
    return parentId ? `${parentId}.${highest + 1}` : `T${highest + 1}`;
  };
  const events = (sessionId: string, id: string): TaskEvent[] => {
    get(sessionId, id);
    return db
      .prepare(
        "SELECT task_id, at, kind, from_status, to_status, note FROM task_events WHERE session_id = ? AND task_id = ? ORDER BY seq",
      )
      .all<{
        task_id: string;
        at: string;
        kind: string;
        from_status: string | null;
        to_status: string | null;
        note: string | null;
      }>(sessionId, id)
      .map((r) => ({
        taskId: r.task_id,
        at: r.at,
        kind: r.kind,
        fromStatus: r.from_status as TaskStatus | null,
        toStatus: r.to_status as TaskStatus | null,
        note: r.note,
      }));
  };
  return { get, list, nextId, events };
}

/** The rule a transition must follow (allowed from the task's status, a note where one is needed, subtasks settled). */
function checkTransition(
  task: TaskRecord,
  action: TransitionAction,
  note: string | undefined,
  tree: () => TaskRecord[],
): { from: TaskStatus[]; to: TaskStatus } {
  const rule = TRANSITIONS[action];
  const id = task.id;
  if (!rule.from.includes(task.status)) {
    throw new TaskInputError(
      `cannot ${action} ${id}: it is ${task.status}; "${action}" needs a task that is ${rule.from.join(" or ")}`,
    );
  }
  if ((action === "block" || action === "abandon") && !note?.trim()) {
    throw new TaskInputError(`"${action}" needs a note saying why (what blocks it / why it is dropped)`);
  }
  if (action === "done") {
    const unfinished = tree().filter((t) => t.parentId === id && !isSettled(t.status));
    if (unfinished.length > 0) {
      throw new TaskInputError(
        `cannot mark ${id} done: subtasks ${unfinished.map((t) => `${t.id} (${t.status})`).join(", ")} are not done or abandoned yet`,
      );
    }
  }
  return rule;
}

// ---- the session files ----

const statusSchema = z.enum(TASK_STATUSES);
const fileSchema = z.object({
  sessionId: z.string().min(1),
  tasks: z.array(
    z.object({
      id: z.string().regex(TASK_ID),
      parentId: z.string().regex(TASK_ID).nullable(),
      title: z.string(),
      status: statusSchema,
      createdAt: z.string(),
      updatedAt: z.string(),
    }),
  ),
  events: z.array(
    z.object({
      taskId: z.string(),
      at: z.string(),
      kind: z.string(),
      fromStatus: statusSchema.nullable(),
      toStatus: statusSchema.nullable(),
      note: z.string().nullable(),
    }),
  ),
  bindings: z.array(z.object({ childSessionId: z.string().min(1), taskId: z.string(), boundAt: z.string() })),
});

/** The whole state of one session as its file holds it. */
function snapshot(db: Database, sessionId: string): Omit<z.infer<typeof fileSchema>, "sessionId"> {
  const tasks = db
    .prepare("SELECT * FROM tasks WHERE session_id = ?")
    .all<TaskRow>(sessionId)
    .map(toRecord)
    .sort((a, b) => compareTaskIds(a.id, b.id))
    .map(({ sessionId: _s, ...task }) => task);
  const events = db
    .prepare(
      "SELECT task_id, at, kind, from_status, to_status, note FROM task_events WHERE session_id = ? ORDER BY seq",
    )
    .all<{
      task_id: string;
      at: string;
      kind: string;
      from_status: TaskStatus | null;
      to_status: TaskStatus | null;
      note: string | null;
    }>(sessionId)
    .map((r) => ({
      taskId: r.task_id,
      at: r.at,
      kind: r.kind,
      fromStatus: r.from_status,
      toStatus: r.to_status,
      note: r.note,
    }));
  const bindings = db
    .prepare(
      "SELECT child_session_id, task_id, bound_at FROM task_bindings WHERE owner_session_id = ? ORDER BY child_session_id",
    )
    .all<{ child_session_id: string; task_id: string; bound_at: string }>(sessionId)
    .map((r) => ({ childSessionId: r.child_session_id, taskId: r.task_id, boundAt: r.bound_at }));
  return { tasks, events, bindings };
}

function saveSession(db: Database, files: SessionStateFiles | undefined, sessionId: string): void {
  if (!files) return;
  try {
    files.write(sessionId, STATE_NAME, snapshot(db, sessionId));
  } catch (error) {
    // The tool shows TaskInputError messages as they are: this one names the file and why.
    if (error instanceof StateWriteError) throw new TaskInputError(`task tree not changed: ${error.message}`);
    throw error;
  }
}

/** Migrates; a fresh table set is refilled from the files, an older one written out to them once. */
function prepareTables(db: Database, files: SessionStateFiles | undefined): string | undefined {
  const { from } = migrate(db, "tasks", MIGRATIONS);
  if (!files) return undefined;
  if (from === 0) return restoreAll(db, files);
  if (from < MIRRORED_SINCE && !files.readOnly) exportAll(db, files);
  return undefined;
}

function exportAll(db: Database, files: SessionStateFiles): void {
  for (const { session_id } of db.prepare("SELECT DISTINCT session_id FROM tasks").all<{ session_id: string }>()) {
    try {
      files.write(session_id, STATE_NAME, snapshot(db, session_id));
    } catch {
      /* best effort: the next change of that session writes its file again */
    }
  }
}

/** Sessions already in the database are left as they are (another process may have restored them first). */
function restoreAll(db: Database, files: SessionStateFiles): string | undefined {
  let trees = 0;
  let tasks = 0;
  let unreadable = 0;
  const read = files.readValid(STATE_NAME, fileSchema);
  unreadable += read.unreadable;
  for (const state of read.states) {
    db.transaction(() => {
      if (db.prepare("SELECT 1 FROM tasks WHERE session_id = ? LIMIT 1").get(state.sessionId)) return;
      const insertTask = db.prepare(
        "INSERT OR IGNORE INTO tasks (session_id, id, parent_id, title, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      for (const t of state.tasks)
        insertTask.run(state.sessionId, t.id, t.parentId, t.title, t.status, t.createdAt, t.updatedAt);
      const insertEvent = db.prepare(
        "INSERT INTO task_events (session_id, task_id, at, kind, from_status, to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      for (const e of state.events)
        insertEvent.run(state.sessionId, e.taskId, e.at, e.kind, e.fromStatus, e.toStatus, e.note);
      const insertBinding = db.prepare(
        "INSERT OR IGNORE INTO task_bindings (child_session_id, owner_session_id, task_id, bound_at) VALUES (?, ?, ?, ?)",
      );
      for (const b of state.bindings) insertBinding.run(b.childSessionId, state.sessionId, b.taskId, b.boundAt);
      if (state.tasks.length) trees++;
      tasks += state.tasks.length;
    });
  }
  const parts = trees ? [`${trees} task tree${trees === 1 ? "" : "s"} (${tasks} task${tasks === 1 ? "" : "s"})`] : [];
  if (unreadable) parts.push(`${unreadable} unreadable tasks.json file${unreadable === 1 ? "" : "s"} skipped`);
  return parts.join(", ") || undefined;
}

registerStateRestorer(STATE_NAME, (db) => prepareTables(db, sessionStateFiles(db)));

function toRecord(row: TaskRow): TaskRecord {
  return {
    sessionId: row.session_id,
    id: row.id,
    parentId: row.parent_id,
    title: row.title,
    status: row.status as TaskStatus,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkId(id: string): void {
  if (!TASK_ID.test(id)) throw new TaskInputError(`"${id}" is not a task id; ids look like T1, T1.2 or T1.2.3`);
}

function checkTitle(title: string): string {
  const clean = title.replace(/\s+/g, " ").trim();
  if (!clean) throw new TaskInputError("a task needs a non-empty title");
  if (clean.length > MAX_TITLE)
    throw new TaskInputError(
      `a task title is at most ${MAX_TITLE} characters (got ${clean.length}); put details in a note`,
    );
  return clean;
}

function checkNote(note: string): string {
  const clean = note.trim();
  if (clean.length > MAX_NOTE)
    throw new TaskInputError(`a note is at most ${MAX_NOTE} characters (got ${clean.length})`);
  return clean;
}

/** T2 before T10, T1 before T1.1 before T1.2 before T2. */
export function compareTaskIds(a: string, b: string): number {
  const pa = a.slice(1).split(".").map(Number);
  const pb = b.slice(1).split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? -1;
    const y = pb[i] ?? -1;
    if (x !== y) return x - y;
  }
  return 0;
}
