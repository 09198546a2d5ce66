// `/goal`: every branch answers, with a report (status, pause, clear, a refusal) or the prompt that starts the
// work (set, resume). Changes to the goal go through the engine, one step at a time per session.
import type { CommandReply } from "../core/feature.ts";
import { parseGoalArgs, statusText } from "./format.ts";
import { checkCondition, CONTINUATION_MARKER, newGoal } from "./state-machine.ts";
import type { GoalEngine } from "./engine.ts";
import type { GoalDeps } from "./session.ts";
import type { StoredGoal } from "./store.ts";

export function goalCommand(
  deps: GoalDeps,
  engine: GoalEngine,
): (sessionId: string, args: string) => Promise<CommandReply> {
  const { context, store, log } = deps;
  const { config, reporter, sessions } = context;

  /** A report shown without a model call. */
  const answer = (sessionId: string, text: string, variant: "info" | "warning" = "info"): CommandReply => {
    log.log("info", `/goal answer for ${sessionId}: ${text}`);
    return { kind: "report", text: `${CONTINUATION_MARKER} ${text}`, variant };
  };

  const pauseOrClear = async (sessionId: string, kind: "pause" | "clear", goal: StoredGoal | undefined) => {
    if (!goal) return answer(sessionId, "No goal in this session. Set one with /goal <condition>.");
    const actions = await engine.apply(sessionId, { type: kind }, goal);
    const noop = actions.find((a) => a.type === "noop");
    return answer(
      sessionId,
      noop?.type === "noop"
        ? `Nothing to ${kind}: ${noop.reason}.`
        : `Goal ${kind === "pause" ? "paused" : "cleared"}.`,
    );
  };

  const resume = async (sessionId: string, goal: StoredGoal | undefined): Promise<CommandReply> => {
    if (!goal) return answer(sessionId, "No goal in this session.");
    // An active goal whose turn was cut off (say by a restart) is nudged the same way a paused one resumes.
    const resumable =
      goal.state.status === "paused" || (goal.state.status === "active" && !sessions.peek(sessionId)?.busy);
    if (!resumable)
      return answer(
        sessionId,
        `Nothing to resume: the goal is ${goal.state.status}. Set a new one with /goal <condition>.`,
      );
    if (goal.state.status === "paused") await engine.apply(sessionId, { type: "resume" }, goal);
    reporter.notify("Goal resumed.", "info");
    return {
      kind: "prompt",
      notice: `${CONTINUATION_MARKER} Goal resumed.`,
      text: `${CONTINUATION_MARKER} The goal is resumed. Continue working toward it.\nGoal: ${goal.state.condition}`,
    };
  };

  const setGoal = async (sessionId: string, raw: string, previous: StoredGoal | undefined): Promise<CommandReply> => {
    const checked = checkCondition(raw);
    if (!checked.ok) return answer(sessionId, checked.message, "warning");
    const condition = checked.condition;
    let replaced = "";
    if (
      previous &&
      (previous.state.status === "active" || previous.state.status === "judging" || previous.state.status === "paused")
    ) {
      store.save(previous.id, {
        ...previous.state,
        status: "cleared",
        note: "replaced by a new goal",
        judgeRun: previous.state.judgeRun + 1,
      });
      replaced = " (it replaces the previous goal)";
    }
    store.create(sessionId, context.project.id, newGoal(condition));
    deps.stateOf(sessionId).ownPrompts++;
    reporter.notify(
      `Goal set${replaced}. An independent judge checks it whenever the agent stops (at most ${config.goal.maxContinuations} continuations).`,
      "info",
    );
    return {
      kind: "prompt",
      notice: `${CONTINUATION_MARKER} Goal set${replaced}: the agent works on it now, and an independent judge checks it whenever the agent stops.`,
      text: condition,
    };
  };

  return async (sessionId, args) => {
    if (!(await sessions.isMain(sessionId))) {
      return answer(
        sessionId,
        "Goals belong to a main session; this is a child session (a subagent or helper). Set the goal in the main session.",
        "warning",
      );
    }
    const command = parseGoalArgs(args);
    return engine.serial(sessionId, async (): Promise<CommandReply> => {
      const goal = store.current(sessionId);
      switch (command.kind) {
        case "status":
          return answer(
            sessionId,
            statusText(goal?.state, goal ? store.verdicts(goal.id) : [], config.goal.maxContinuations),
          );
        case "pause":
        case "clear":
          return pauseOrClear(sessionId, command.kind, goal);
        case "resume":
          return resume(sessionId, goal);
        case "set":
          return setGoal(sessionId, command.condition, goal);
      }
    });
  };
}
