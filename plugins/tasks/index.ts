// Host adapter of the task tree: the `tasks` tool, the task gate's decider (the arbiter pushes at idle), progress
// files of subagents.
import { appendStoredText } from "../core/storage/stored-text.ts";
import { join } from "node:path";
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { decideGate, freshGateState } from "./gate.ts";
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
      unfinished: (sessionId) =>
        unfinishedTasks(store.list(sessionId)).map((t) => ({ id: t.id, title: t.title, status: t.status })),
    });
    return createTasks(context, store);
  },
};

export default tasksFeature;

/** Open tasks come after an unverified change (compose) and before the goal's continuation in a combined push. */
const TASKS_PRIORITY = 20;

function createTasks(context: FeatureContext, store: TaskStore): FeatureParts {
  const { config, sessions, continuation } = context;

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

  // The gate's decision at an idle; the arbiter owns the push count, the failed-turn rule and the prompt.
  continuation.register("tasks", (sessionId, { pushes }) => {
    const unfinished = unfinishedTasks(store.list(sessionId));
    const state = { ...freshGateState(), pushes };
    const decision = decideGate({
      enabled: config.tasks.gate,
      maxPushes: config.tasks.maxGatePushes,
      state,
      unfinished,
    });
    if (!decision.push) return undefined;
    return {
      reason: `${unfinished.length} open task(s), push ${pushes + 1}/${config.tasks.maxGatePushes}`,
      text: decision.text,
      priority: TASKS_PRIORITY,
    };
  });

  return {
    tools: { [TASKS_TOOL]: tasksTool({ store, appendProgress, ownerOf }) },
  };
}
