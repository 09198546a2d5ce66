// Host adapter of the task tree: the `tasks` tool, the task gate on session.idle, progress files of subagents.
import { appendStoredText } from "../core/storage/stored-text.ts";
import { join } from "node:path";
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import { decideGate, freshGateState, onUserMessage, type GateState } from "./gate.ts";
import { renderTaskLedger, renderTaskTree, unfinishedTasks } from "./render.ts";
import { isSettled, openTaskStore, type TaskStore } from "./store.ts";
import { tasksTool, TASKS_TOOL } from "./tool.ts";

export const tasksFeature: FeatureModule = {
  name: "tasks",
  needsDatabase: true,
  provides: ["tasks"],
  create(context) {
    const store = openTaskStore(context.db!, undefined, { sessionDir: context.projectPaths.session });
    context.provide("tasks", {
      summary: (sessionId) => {
        const list = store.list(sessionId);
        return { count: list.length, allSettled: list.length > 0 && list.every((t) => isSettled(t.status)) };
      },
      ledger: (sessionId) => renderTaskLedger(store.list(sessionId)),
      tree: (sessionId) => renderTaskTree(store.list(sessionId)),
      unfinished: (sessionId) => unfinishedTasks(store.list(sessionId)).map((t) => ({ id: t.id, title: t.title, status: t.status })),
    });
    return createTasks(context, store);
  },
};

export default tasksFeature;

const gateSlot = slot<GateState>("tasks.gate", freshGateState);

function createTasks(context: FeatureContext, store: TaskStore): FeatureParts {
  const { config, reporter, sessions, host } = context;
  const gateOf = (id: string) => sessions.session(id).get(gateSlot);
  const setGate = (id: string, state: GateState) => sessions.session(id).set(gateSlot, state);

  const appendProgress = (ownerSessionId: string, taskId: string, entry: string) => {
    const dir = join(context.projectPaths.session(ownerSessionId), "tasks", taskId);
    const file = join(dir, "progress.md");
    appendStoredText(file, entry);
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
    setGate(sessionId, { ...state, pushes: state.pushes + 1 });
    reporter.log("info", `task gate: pushing session ${sessionId} (${state.pushes + 1}/${config.tasks.maxGatePushes})`);
    const turn = sessions.session(sessionId).lastTurn;
    await host.sendPrompt(sessionId, { text: decision.text, agent: turn.agent, model: turn.model }).catch((error) =>
      reporter.problem("tasks:gate", `task gate could not prompt session ${sessionId}: ${errorText(error)}`),
    );
  };

  // Only what was typed (or sent by the gate): other features add synthetic parts such as memory recall.
  sessions.on("tasks", "turn.started", (event) => setGate(event.sessionId, onUserMessage(gateOf(event.sessionId), event.text)));
  sessions.on("tasks", "turn.failed", (event) => setGate(event.sessionId, { ...gateOf(event.sessionId), lastTurnFailed: true }));
  sessions.on("tasks", "turn.ended", async (event) => {
    if (event.how !== "idle") setGate(event.sessionId, { ...gateOf(event.sessionId), lastTurnFailed: true });
    await runGate(event.sessionId);
  });

  return {
    tools: { [TASKS_TOOL]: tasksTool({ store, appendProgress, ownerOf }) },
  };
}
