// The `tasks` tool's actions, host-independent: argument shape checks, the store call, the text the model sees.
// Subagents (child sessions) work on their root session's tree; `progress` binds the child to a task and
// appends to tasks/<TID>/progress.md in the root session's folder.
import { z } from "zod";
import { renderTaskLedger, renderTaskTree } from "./render.ts";
import { TaskInputError, TASK_ID, type TaskStore } from "./store.ts";

export const TASK_ACTIONS = [
  "create",
  "list",
  "get",
  "start",
  "block",
  "unblock",
  "done",
  "abandon",
  "rename",
  "progress",
] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export const taskArgsShape = {
  action: z.enum(TASK_ACTIONS).describe("What to do."),
  id: z
    .string()
    .optional()
    .describe(
      "Task id (T1, T1.2, …). Required for get/start/block/unblock/done/abandon/rename; optional for progress once bound.",
    ),
  title: z.string().optional().describe("create, rename: the task's title (one line)."),
  parent: z.string().optional().describe("create: id of the parent task, to make a subtask."),
  note: z
    .string()
    .optional()
    .describe("block/abandon: why (required). done/start: optional note. progress: what was done (required)."),
};
const argsSchema = z.object(taskArgsShape);
export type TaskArgs = z.infer<typeof argsSchema>;

export interface ActionContext {
  store: TaskStore;
  /** The session whose tree is used: the calling session, or its root session for a subagent. */
  ownerSessionId: string;
  /** The calling session (differs from the owner for subagents). */
  callerSessionId: string;
  appendProgress(ownerSessionId: string, taskId: string, entry: string): string;
  now?: () => Date;
}

const NEEDS_ID: TaskAction[] = ["get", "start", "block", "unblock", "done", "abandon", "rename"];

export function runTaskAction(rawArgs: unknown, ctx: ActionContext): string {
  const parsed = argsSchema.safeParse(rawArgs);
  if (!parsed.success)
    throw new TaskInputError(
      `bad arguments for tasks: ${parsed.error.issues.map((i) => `${i.path.join(".") || "args"}: ${i.message}`).join("; ")}`,
    );
  const args = parsed.data;
  const id = args.id?.trim();
  if (NEEDS_ID.includes(args.action) && !id) throw new TaskInputError(`"${args.action}" needs an id (e.g. T1 or T1.2)`);
  if (id && !TASK_ID.test(id)) throw new TaskInputError(`"${id}" is not a task id; ids look like T1, T1.2 or T1.2.3`);
  const { store, ownerSessionId: owner } = ctx;

  switch (args.action) {
    case "create": {
      if (!args.title) throw new TaskInputError('"create" needs a title');
      const parent = args.parent?.trim() || undefined;
      if (parent && !TASK_ID.test(parent))
        throw new TaskInputError(`parent "${parent}" is not a task id; ids look like T1 or T1.2`);
      const task = store.create(owner, args.title, parent);
      return `created ${task.id} ${task.title}\n\n${renderTaskTree(store.list(owner))}`;
    }
    case "list":
      return renderTaskLedger(store.list(owner));
    case "get": {
      const task = store.get(owner, id!);
      const events = store
        .events(owner, id!)
        .map((e) => `- ${e.at} ${e.kind}${e.toStatus ? ` → ${e.toStatus}` : ""}${e.note ? `: ${e.note}` : ""}`);
      return [
        `${task.id} ${task.title}`,
        `status: ${task.status}`,
        task.parentId ? `parent: ${task.parentId}` : "",
        "events:",
        ...events,
      ]
        .filter(Boolean)
        .join("\n");
    }
    case "start":
    case "block":
    case "unblock":
    case "done":
    case "abandon": {
      const task = store.transition(owner, id!, args.action, args.note);
      return `${task.id} is now ${task.status}\n\n${renderTaskTree(store.list(owner))}`;
    }
    case "rename": {
      if (!args.title) throw new TaskInputError('"rename" needs the new title');
      const task = store.rename(owner, id!, args.title);
      return `renamed ${task.id}: ${task.title}`;
    }
    case "progress":
      return recordProgress(ctx, id, args.note);
  }
}

function recordProgress(ctx: ActionContext, id: string | undefined, note: string | undefined): string {
  if (!note?.trim()) throw new TaskInputError('"progress" needs a note saying what was done or found');
  const bound = ctx.store.binding(ctx.callerSessionId);
  const taskId = id ?? bound?.taskId;
  if (!taskId)
    throw new TaskInputError(
      '"progress" needs the id of the task you work on (only the first call; later calls reuse it)',
    );
  const task = ctx.store.progress(ctx.ownerSessionId, taskId, note);
  if (ctx.callerSessionId !== ctx.ownerSessionId) ctx.store.bind(ctx.callerSessionId, ctx.ownerSessionId, taskId);
  const at = (ctx.now?.() ?? new Date()).toISOString();
  const file = ctx.appendProgress(ctx.ownerSessionId, taskId, `## [${at}] ${ctx.callerSessionId}\n${note.trim()}\n\n`);
  return `progress recorded for ${task.id} (${task.status}) in ${file}`;
}
