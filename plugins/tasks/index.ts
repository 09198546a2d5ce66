// Host adapter of the task tree: the `tasks` tool, the task gate on session.idle, progress files of subagents.
import { tool, type Hooks } from "@opencode-ai/plugin";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ToolInputError } from "../core/compose.ts";
import { continuationBody, type FeatureContext, type FeatureModule } from "../core/feature.ts";
import { memoryLocations } from "../memory/locations.ts";
import { runTaskAction, TASK_ACTIONS } from "./actions.ts";
import { decideGate, freshGateState, onUserMessage, type GateState } from "./gate.ts";
import { unfinishedTasks } from "./render.ts";
import { openTaskStore, TaskInputError, type TaskStore } from "./store.ts";

const TOOL_DESCRIPTION = `Your task tree for this session (ids T1, T1.2, T1.2.3). Use it for work with several steps.
Actions: create {title, parent?}; list; get {id} (with its event log); start {id}; block {id, note}; unblock {id};
done {id, note?}; abandon {id, note}; rename {id, title}; progress {id?, note} (subagents: report progress on the
task you were given; the first call binds you to it). Statuses: open, in_progress, blocked, done, abandoned.
Before you stop, every task must be done, blocked (waiting on something) or abandoned (with a reason).`;

export const tasksFeature: FeatureModule = {
  name: "tasks",
  needsDatabase: true,
  create(context) {
    const store = openTaskStore(context.db!);
    return createTaskHooks(context, store);
  },
};

export default tasksFeature;

function createTaskHooks(context: FeatureContext, store: TaskStore): Hooks {
  const { config, reporter, sessions, host } = context;
  const locations = memoryLocations(context.paths, context.project.id, context.project.root, config.memory.location);
  const gates = new Map<string, GateState>();
  const gateOf = (id: string) => gates.get(id) ?? freshGateState();

  const appendProgress = (ownerSessionId: string, taskId: string, entry: string) => {
    const dir = join(locations.sessionDir(ownerSessionId), "tasks", taskId);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "progress.md");
    appendFileSync(file, entry);
    return file;
  };

  /** A subagent works on the tree of the session at the top of its parent chain. */
  const ownerOf = async (sessionId: string): Promise<string> => {
    let current = sessionId;
    for (let depth = 0; depth < 8; depth++) {
      if (await sessions.isMain(current)) return current;
      const parent = sessions.parentOf(current);
      if (!parent) return current;
      current = parent;
    }
    return current;
  };

  const runGate = async (sessionId: string) => {
    if (!(await sessions.isMain(sessionId))) return;
    const state = gateOf(sessionId);
    const decision = decideGate({
      enabled: config.tasks.gate,
      maxPushes: config.tasks.maxGatePushes,
      state,
      unfinished: unfinishedTasks(store.list(sessionId)),
    });
    if (!decision.push) return;
    gates.set(sessionId, { ...state, pushes: state.pushes + 1 });
    reporter.log("info", `task gate: pushing session ${sessionId} (${state.pushes + 1}/${config.tasks.maxGatePushes})`);
    const sent = await host.client.session.promptAsync({ path: { id: sessionId }, body: continuationBody(decision.text, sessions.lastTurn(sessionId)) });
    if (sent.error) reporter.problem("tasks:gate", `task gate could not prompt session ${sessionId}: ${JSON.stringify(sent.error)}`);
  };

  return {
    tool: {
      tasks: tool({
        description: TOOL_DESCRIPTION,
        args: {
          action: tool.schema.enum(TASK_ACTIONS).describe("What to do."),
          id: tool.schema.string().optional().describe("Task id: T1, T1.2, T1.2.3."),
          title: tool.schema.string().optional().describe("create / rename: the title, one line."),
          parent: tool.schema.string().optional().describe("create: parent task id for a subtask."),
          note: tool.schema.string().optional().describe("block / abandon: why (required); progress: what was done (required)."),
        },
        async execute(args, ctx) {
          const owner = await ownerOf(ctx.sessionID);
          try {
            return runTaskAction(args, { store, ownerSessionId: owner, callerSessionId: ctx.sessionID, appendProgress });
          } catch (error) {
            if (error instanceof TaskInputError) throw new ToolInputError(error.message);
            throw error;
          }
        },
      }),
    },
    "chat.message": async (input, output) => {
      // Only what was typed (or sent by the gate): other features add synthetic parts such as memory recall.
      const text = output.parts.map((p) => (p.type === "text" && !p.synthetic ? p.text : "")).join("\n").trim();
      gates.set(input.sessionID, onUserMessage(gateOf(input.sessionID), text));
    },
    event: async ({ event }) => {
      const props = event.properties as Record<string, any>;
      if (event.type === "session.error" && props.sessionID) {
        gates.set(props.sessionID, { ...gateOf(props.sessionID), lastTurnFailed: true });
        return;
      }
      if (event.type === "message.updated" && props.info?.role === "assistant" && props.info.error) {
        gates.set(props.info.sessionID, { ...gateOf(props.info.sessionID), lastTurnFailed: true });
        return;
      }
      if (event.type === "session.idle" && props.sessionID) await runGate(props.sessionID);
    },
  };
}
