// The task tree as the CLI reads it (`continuum checkpoint list/show` shows each session's tasks): the store's rows
// and the ledger rendering, read-only. The task tree has no command of its own.
import type { Database } from "../core/storage/database.ts";
import { renderTaskLedger } from "./render.ts";
import { openTaskStore, type TaskRecord } from "./store.ts";

export interface TaskView {
  list(sessionId: string): TaskRecord[];
  /** The tree as the checkpoint's task ledger section shows it. */
  ledger(tasks: readonly TaskRecord[]): string;
}

/** Opening the store migrates its table, so the reads find it even in a project that never used tasks. */
export function openTaskView(db: Database): TaskView {
  const store = openTaskStore(db);
  return { list: (sessionId) => store.list(sessionId), ledger: renderTaskLedger };
}
