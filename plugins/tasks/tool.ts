// The `tasks` tool: the task tree's one tool, defined through core/tool.ts so its raw arguments are validated
// (types, lengths, which arguments each action needs) before the store is touched. The actions live in actions.ts.
import { z } from "zod";
import { ToolInputError } from "../core/tool.ts";
import { actionRules, defineTool, type PackTool } from "../core/tool.ts";
import { runTaskAction, TASK_ACTIONS, type ActionContext } from "./actions.ts";
import { TaskInputError } from "./store.ts";

export const TASKS_TOOL = "tasks";
// The store's own limits (store.ts), stated in the schema so the model sees them.
const MAX_TITLE_CHARS = 200;
const MAX_NOTE_CHARS = 2000;

const DESCRIPTION =
  "Task tree of this session (T1, T1.2, …) for work with several steps: create {title, parent?}, list, get {id}, start {id}, " +
  "block {id, note: why}, unblock {id}, done {id}, abandon {id, note: why}, rename {id, title}, progress {id?, note} (a subagent's report). " +
  "Before stopping, settle every task: done, blocked or abandoned.";

const args = {
  action: z.enum(TASK_ACTIONS),
  id: z.string().min(1).max(40).optional(),
  title: z.string().min(1).max(MAX_TITLE_CHARS).optional(),
  parent: z.string().min(1).max(40).optional(),
  note: z.string().max(MAX_NOTE_CHARS).optional(),
};

const rules = actionRules<(typeof TASK_ACTIONS)[number]>({
  create: { needs: ["title"], takes: ["parent"] },
  list: {},
  get: { needs: ["id"] },
  start: { needs: ["id"], takes: ["note"] },
  block: { needs: ["id", "note"] },
  unblock: { needs: ["id"], takes: ["note"] },
  done: { needs: ["id"], takes: ["note"] },
  abandon: { needs: ["id", "note"] },
  rename: { needs: ["id", "title"] },
  progress: { needs: ["note"], takes: ["id"] },
});

export interface TasksToolDeps extends Omit<ActionContext, "ownerSessionId" | "callerSessionId"> {
  /** The session whose tree a caller works on: itself, or its root session for a subagent. */
  ownerOf(sessionId: string): Promise<string>;
}

export function tasksTool(deps: TasksToolDeps): PackTool {
  return defineTool(TASKS_TOOL, {
    description: DESCRIPTION,
    args,
    check: rules,
    async execute(input, ctx) {
      const owner = await deps.ownerOf(ctx.sessionID);
      try {
        return runTaskAction(input, { ...deps, ownerSessionId: owner, callerSessionId: ctx.sessionID });
      } catch (error) {
        if (error instanceof TaskInputError) throw new ToolInputError(error.message);
        throw error;
      }
    },
  });
}
