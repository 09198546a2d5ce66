// Text views of the task tree, shared by the tasks tool, checkpoint §4, the rebuild's task ledger and the goal
// judge. Pure: give it the records (from TaskStore.list) and it returns markdown.
import { compareTaskIds, isUnfinished, type TaskRecord, type TaskStatus } from "./store.ts";

const MARK: Record<TaskStatus, string> = {
  open: "[ ]",
  in_progress: "[~]",
  blocked: "[!]",
  done: "[x]",
  abandoned: "[-]",
};

/** One line per task, indented by depth: `- [~] T1.2 Title (in_progress)`. Empty tree → "(no tasks)". */
export function renderTaskTree(tasks: readonly TaskRecord[]): string {
  if (tasks.length === 0) return "(no tasks)";
  return [...tasks]
    .sort((a, b) => compareTaskIds(a.id, b.id))
    .map((t) => `${"  ".repeat(t.id.split(".").length - 1)}- ${MARK[t.status]} ${t.id} ${t.title} (${t.status})`)
    .join("\n");
}

export interface TaskCounts {
  total: number;
  open: number;
  in_progress: number;
  blocked: number;
  done: number;
  abandoned: number;
}

export function countTasks(tasks: readonly TaskRecord[]): TaskCounts {
  const counts: TaskCounts = { total: tasks.length, open: 0, in_progress: 0, blocked: 0, done: 0, abandoned: 0 };
  for (const t of tasks) counts[t.status]++;
  return counts;
}

/** Tasks the agent still owes an outcome for (open or in progress). */
export function unfinishedTasks(tasks: readonly TaskRecord[]): TaskRecord[] {
  return tasks.filter((t) => isUnfinished(t.status)).sort((a, b) => compareTaskIds(a.id, b.id));
}

/** Tree plus a one-line tally; what the ledger and the judge show. */
export function renderTaskLedger(tasks: readonly TaskRecord[]): string {
  if (tasks.length === 0) return "(no tasks)";
  const c = countTasks(tasks);
  const tally = `${c.total} tasks: ${c.done} done, ${c.in_progress} in progress, ${c.open} open, ${c.blocked} blocked, ${c.abandoned} abandoned`;
  return `${tally}\n${renderTaskTree(tasks)}`;
}
