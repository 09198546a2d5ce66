// Runs the goal state machine for one session: one step at a time, each saved before its actions are carried out
// (so a restart loses nothing). Starting a judge and sending a continuation are handed to their own modules.
import { errorText } from "../core/report.ts";
import { formatTokens, totalTokens } from "./format.ts";
import { PROCESS_ID } from "./owner.ts";
import { step, type GoalAction, type GoalInput } from "./state-machine.ts";
import type { GoalDeps } from "./session.ts";
import type { StoredGoal } from "./store.ts";

export interface GoalEngine {
  /** One session's goal steps run one at a time, in arrival order. */
  serial<T>(sessionId: string, work: () => Promise<T>): Promise<T>;
  /** Feeds one input to the machine for the session's current goal, saves, and carries out the actions. */
  apply(sessionId: string, input: GoalInput, goal?: StoredGoal): Promise<GoalAction[]>;
}

export interface EngineActions {
  /** Starts one judge round in the background (its verdict comes back through apply). */
  startJudge(sessionId: string, goal: StoredGoal, run: number, attempt: number): Promise<void>;
  continueWork(sessionId: string, text: string, reason: string): Promise<void>;
}

export function createEngine(deps: GoalDeps, actions: () => EngineActions): GoalEngine {
  const { context, store, log } = deps;
  const { config, reporter } = context;
  const tasksGate = deps.tasksUsed && config.tasks.gate;
  const machineOptions = () => ({
    maxContinuations: config.goal.maxContinuations,
    maxTaskDeferrals: tasksGate ? config.tasks.maxGatePushes : 0,
  });

  const serial = <T>(sessionId: string, work: () => Promise<T>): Promise<T> => {
    const state = deps.stateOf(sessionId);
    const next = state.queue.then(work, work);
    state.queue = next.catch(() => undefined);
    return next;
  };

  const apply = async (sessionId: string, input: GoalInput, goal = store.current(sessionId)): Promise<GoalAction[]> => {
    if (!goal) return [];
    const { state, actions: todo } = step(goal.state, input, machineOptions());
    if (state !== goal.state) store.save(goal.id, state);
    for (const action of todo) await perform(sessionId, { ...goal, state }, action);
    return todo;
  };

  const perform = async (sessionId: string, goal: StoredGoal, action: GoalAction) => {
    switch (action.type) {
      case "startJudge":
        store.setJudgeOwner(goal.id, PROCESS_ID);
        void actions()
          .startJudge(sessionId, goal, action.run, action.attempt)
          .catch((error) =>
            reporter.problem(
              "goal:judge",
              `the goal judge of session ${sessionId} failed unexpectedly: ${errorText(error)}`,
            ),
          );
        return;
      case "continue": {
        const budget = `${action.continuation}/${config.goal.maxContinuations}`;
        await actions().continueWork(
          sessionId,
          action.prompt,
          `goal not met, continuation ${budget}: ${action.reason}`,
        );
        log.log("info", `continuation ${budget} offered to ${sessionId}: ${action.reason}`);
        return;
      }
      case "finished":
        announceEnd(goal, action.status, action.reason);
        return;
      case "paused":
        reporter.notify(`Goal paused: ${action.reason}. /goal resume continues, /goal clear drops it.`, "warning");
        return;
      case "deferToTasks":
        log.log("info", `goal judge waits: ${action.openTasks.length} open task(s) go to the task gate first`);
        return;
      case "resumed":
      case "noop":
        return;
    }
  };

  const announceEnd = (goal: StoredGoal, status: string, reason: string) => {
    const tokens = formatTokens(totalTokens(store.verdicts(goal.id)));
    const variant = status === "met" ? "success" : status === "cleared" ? "info" : "warning";
    const evidence =
      status === "met" && goal.state.evidence.length ? ` Evidence: ${goal.state.evidence.join("; ")}.` : "";
    reporter.notify(`Goal ${status}: ${reason}.${evidence} (judge used ${tokens} in total)`, variant);
  };

  return { serial, apply };
}
