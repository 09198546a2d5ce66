// Host adapter of the goal feature: `/goal` commands, the judge on session.idle of a main session, the
// goal_verdict tool, continuation prompts. All decisions are made by state-machine.ts; this file only gathers
// facts from OpenCode, applies the machine's actions, and persists every step (so a restart loses nothing).
import { parseModelRef } from "../core/host-types.ts";
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { slot, type TurnEnd } from "../core/sessions.ts";
import { formatTokens, parseGoalArgs, statusText, totalTokens, workFingerprint } from "./format.ts";
import { createJudge, verdictRecord, type Model } from "./judge.ts";
import type { TranscriptMessage } from "./judge-prompt.ts";
import { checkCondition, CONTINUATION_MARKER, newGoal, step, type GoalAction, type GoalInput, type IdleFacts, type Verdict } from "./state-machine.ts";
import { judgeRunsElsewhere, PROCESS_ID } from "./owner.ts";
import { JUDGE_AGENT, VERDICT_TOOL } from "./permissions.ts";
import { openGoalStore, type GoalStore, type StoredGoal } from "./store.ts";

export const goalFeature: FeatureModule = {
  name: "goal",
  needsDatabase: true,
  uses: ["tasks", "checkpoint"],
  assets: { agents: [JUDGE_AGENT], commands: ["goal"] },
  internalTools: [{ tool: VERDICT_TOOL, agent: JUDGE_AGENT }],
  create(context) {
    return createGoal(context, openGoalStore(context.db!, undefined, { sessionDir: context.projectPaths.session }));
  },
};

export default goalFeature;

/** Per session: the /goal prompts still to come back as user turns, the last diff, and the queue of goal steps. */
interface GoalSession {
  ownPrompts: number;
  diff: string;
  queue: Promise<unknown>;
}
const goalSlot = slot<GoalSession>("goal", () => ({ ownPrompts: 0, diff: "", queue: Promise.resolve() }));

function createGoal(context: FeatureContext, store: GoalStore): FeatureParts {
  const { config, reporter, sessions, host } = context;
  const log = reporter.child("goal");
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(goalSlot);
  const tasksUsed = config.tasks.enabled && context.services.tasks !== undefined;
  let judgeAgentModel: string | undefined;
  const machineOptions = () => ({
    maxContinuations: config.goal.maxContinuations,
    maxTaskDeferrals: tasksUsed && config.tasks.gate ? config.tasks.maxGatePushes : 0,
  });

  /** One session's goal steps run one at a time, in arrival order. */
  const serial = <T>(sessionId: string, work: () => Promise<T>): Promise<T> => {
    const state = stateOf(sessionId);
    const next = state.queue.then(work, work);
    state.queue = next.catch(() => undefined);
    return next;
  };

  /** Feeds one input to the machine for the session's current goal, saves, and carries out the actions. */
  const apply = async (sessionId: string, input: GoalInput, goal = store.current(sessionId)): Promise<GoalAction[]> => {
    if (!goal) return [];
    const { state, actions } = step(goal.state, input, machineOptions());
    if (state !== goal.state) store.save(goal.id, state);
    for (const action of actions) await perform(sessionId, { ...goal, state }, action);
    return actions;
  };

  const perform = async (sessionId: string, goal: StoredGoal, action: GoalAction) => {
    switch (action.type) {
      case "startJudge":
        store.setJudgeOwner(goal.id, PROCESS_ID);
        void runJudge(sessionId, goal, action.run, action.attempt).catch((error) =>
          reporter.problem("goal:judge", `the goal judge of session ${sessionId} failed unexpectedly: ${errorText(error)}`),
        );
        return;
      case "continue":
        await sendOwnPrompt(sessionId, action.prompt);
        log.log("info", `continuation ${action.continuation}/${config.goal.maxContinuations} sent to ${sessionId}: ${action.reason}`);
        return;
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
    const evidence = status === "met" && goal.state.evidence.length ? ` Evidence: ${goal.state.evidence.join("; ")}.` : "";
    reporter.notify(`Goal ${status}: ${reason}.${evidence} (judge used ${tokens} in total)`, variant);
  };

  const sendOwnPrompt = async (sessionId: string, text: string) => {
    // The marker at the start of the text tells chat.message this is the pack speaking, not the user.
    const turn = sessions.session(sessionId).lastTurn;
    await host.sendPrompt(sessionId, { text, agent: turn.agent, model: turn.model }).catch((error) =>
      reporter.problem("goal:continue", `the goal could not send its continuation to session ${sessionId}: ${errorText(error)}`),
    );
  };

  // ---- the judge -------------------------------------------------------------------------------------------

  const judge = createJudge({ context, readMessages: (id) => readMessages(id), model: (id) => judgeModel(id) });

  /** One judge round, then its verdict (or failure) is recorded and fed to the machine, unless it went stale. */
  const runJudge = async (mainSessionId: string, goal: StoredGoal, run: number, attempt: number) => {
    const round = await judge.run(mainSessionId, goal, attempt);
    await serial(mainSessionId, async () => {
      const current = store.current(mainSessionId);
      const stale = !current || current.id !== goal.id || current.state.judgeRun !== run || current.state.status !== "judging";
      const notes = [round.estimated ? "(judge tokens estimated: the call was cut off before usage was reported)" : "", stale ? "(stale: the goal changed while the judge ran)" : ""];
      store.addVerdict(goal.id, verdictRecord(round, run, notes.filter(Boolean).join(" ")));
      if (stale) return;
      const { outcome, tokens } = round;
      const input: GoalInput = "verdict" in outcome ? { type: "verdict", run, verdict: outcome.verdict } : { type: "judgeFailed", run, error: outcome.error };
      log.log("info", `goal judge round for ${mainSessionId}: ${"verdict" in outcome ? verdictSummary(outcome.verdict) : `failed: ${outcome.error}`}; ${formatTokens(tokens)}`);
      if ("error" in outcome) reporter.notify(`Goal judge failed (attempt ${attempt}): ${outcome.error}`, "warning");
      else if (!outcome.verdict.met && !outcome.verdict.impossible) reporter.notify(`Goal not met yet: ${outcome.verdict.reason} (judge: ${formatTokens(tokens)})`, "info");
      await apply(mainSessionId, input, current);
    });
  };

  const verdictSummary = (v: Verdict) => (v.met ? "met" : v.impossible ? "impossible" : "not met") + `: ${v.reason}`;


  /** judgeModel config, else the judge agent's own model, else the model the main session is using. */
  const judgeModel = (mainSessionId: string): Model | undefined => {
    const configured = config.goal.judgeModel ?? judgeAgentModel;
    if (configured) {
      const parsed = parseModelRef(configured);
      if (parsed) return parsed;
      reporter.problem("goal:judge-model", `goal.judgeModel "${configured}" is not "provider/model"; using the session's model`);
    }
    return sessions.session(mainSessionId).lastTurn.model;
  };

  const readMessages = async (sessionId: string): Promise<TranscriptMessage[]> => (await host.messages(sessionId)) as unknown as TranscriptMessage[];

  // ---- idle: gather facts, let the machine decide ------------------------------------------------------------

  const onIdle = async (sessionId: string, how: TurnEnd) => {
    if (sessions.helperOf(sessionId) || !(await sessions.isMain(sessionId))) return;
    await serial(sessionId, async () => {
      const goal = store.current(sessionId);
      if (!goal || goal.state.status !== "active") return;
      const facts = await idleFacts(sessionId, how);
      await apply(sessionId, { type: "idle", facts }, goal);
    });
  };

  const idleFacts = async (sessionId: string, how: TurnEnd): Promise<IdleFacts> => {
    const messages = await readMessages(sessionId);
    const lastAssistant = [...messages].reverse().find((m) => m.info.role === "assistant");
    const lastError = (lastAssistant?.info.error as { name?: string } | undefined)?.name;
    const flagged = how === "aborted" ? "abort" : how === "error" ? "error" : undefined;
    const endedBy = flagged ?? (lastError === "MessageAbortedError" ? "abort" : lastError ? "error" : "normal");
    const openTasks = tasksUsed ? (context.services.tasks?.unfinished(sessionId) ?? []).map((t) => `${t.id} ${t.title} (${t.status})`) : [];
    return { endedBy, userTypedSince: false, openTasks, fingerprint: workFingerprint(messages, stateOf(sessionId).diff) };
  };

  // ---- /goal -------------------------------------------------------------------------------------------------

  /** A report shown without a model call. */
  const answer = (sessionId: string, text: string, variant: "info" | "warning" = "info"): CommandReply => {
    log.log("info", `/goal answer for ${sessionId}: ${text}`);
    return { kind: "report", text: `${CONTINUATION_MARKER} ${text}`, variant };
  };

  /** Every branch answers: a report (status, pause, clear, a refusal) or the prompt that starts the work (set, resume). */
  const onGoalCommand = async (sessionId: string, args: string): Promise<CommandReply> => {
    if (!(await sessions.isMain(sessionId))) {
      return answer(sessionId, "Goals belong to a main session; this is a child session (a subagent or helper). Set the goal in the main session.", "warning");
    }
    const command = parseGoalArgs(args);
    return serial(sessionId, async (): Promise<CommandReply> => {
      const goal = store.current(sessionId);
      switch (command.kind) {
        case "status":
          return answer(sessionId, statusText(goal?.state, goal ? store.verdicts(goal.id) : [], config.goal.maxContinuations));
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

  const pauseOrClear = async (sessionId: string, kind: "pause" | "clear", goal: StoredGoal | undefined) => {
    if (!goal) return answer(sessionId, "No goal in this session. Set one with /goal <condition>.");
    const actions = await apply(sessionId, { type: kind }, goal);
    const noop = actions.find((a) => a.type === "noop");
    return answer(sessionId, noop?.type === "noop" ? `Nothing to ${kind}: ${noop.reason}.` : `Goal ${kind === "pause" ? "paused" : "cleared"}.`);
  };

  const resume = async (sessionId: string, goal: StoredGoal | undefined): Promise<CommandReply> => {
    if (!goal) return answer(sessionId, "No goal in this session.");
    // An active goal whose turn was cut off (say by a restart) is nudged the same way a paused one resumes.
    const resumable = goal.state.status === "paused" || (goal.state.status === "active" && !sessions.peek(sessionId)?.busy);
    if (!resumable) return answer(sessionId, `Nothing to resume: the goal is ${goal.state.status}. Set a new one with /goal <condition>.`);
    if (goal.state.status === "paused") await apply(sessionId, { type: "resume" }, goal);
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
    if (previous && (previous.state.status === "active" || previous.state.status === "judging" || previous.state.status === "paused")) {
      store.save(previous.id, { ...previous.state, status: "cleared", note: "replaced by a new goal", judgeRun: previous.state.judgeRun + 1 });
      replaced = " (it replaces the previous goal)";
    }
    store.create(sessionId, context.project.id, newGoal(condition));
    stateOf(sessionId).ownPrompts++;
    reporter.notify(`Goal set${replaced}. An independent judge checks it whenever the agent stops (at most ${config.goal.maxContinuations} continuations).`, "info");
    return { kind: "prompt", notice: `${CONTINUATION_MARKER} Goal set${replaced}: the agent works on it now, and an independent judge checks it whenever the agent stops.`, text: condition };
  };


  // ---- restart: goals whose judge died with the previous process ------------------------------------------------

  const resumeAfterRestart = () => {
    for (const goal of store.unfinished(context.project.id)) {
      if (goal.state.status === "judging" && judgeRunsElsewhere(goal.judgeOwner)) continue;
      void serial(goal.sessionId, () => apply(goal.sessionId, { type: "restart" }, goal)).catch((error) =>
        reporter.problem("goal:restart", `could not reload the goal of ${goal.sessionId}: ${errorText(error)}`),
      );
    }
  };
  // After start-up, not during it; never after shutdown began (the database is closed then).
  const restartTimer = setTimeout(() => {
    if (!sessions.closed) resumeAfterRestart();
  }, 0);

  sessions.on("goal", "turn.started", async (event) => {
    const sessionId = event.sessionId;
    if (sessions.helperOf(sessionId) || event.origin !== "person") return;
    // The prompt of `/goal <condition>` itself is not an interruption.
    const state = stateOf(sessionId);
    if (state.ownPrompts > 0) {
      state.ownPrompts--;
      return;
    }
    await serial(sessionId, async () => {
      const goal = store.current(sessionId);
      if (goal && (goal.state.status === "active" || goal.state.status === "judging")) await apply(sessionId, { type: "userMessage" }, goal);
    });
  });
  sessions.on("goal", "turn.ended", (event) => {
    // Not awaited: the judge may run long, and the session layer must go on with other events.
    void onIdle(event.sessionId, event.how).catch((error) => {
      if (!sessions.closed) reporter.problem("goal:idle", `goal check on idle failed: ${errorText(error)}`);
    });
  });
  sessions.on("goal", "turn.failed", (event) => {
    if (sessions.helperOf(event.sessionId) || !event.aborted) return;
    // An abort pauses at once, not only at the next idle.
    void serial(event.sessionId, async () => {
      const goal = store.current(event.sessionId);
      if (goal && (goal.state.status === "active" || goal.state.status === "judging")) await apply(event.sessionId, { type: "abort" }, goal);
    });
  });
  sessions.on("goal", "diff.updated", (event) => void (stateOf(event.sessionId).diff = event.fingerprint));

  return {
    config(cfg) {
      judgeAgentModel = cfg.agent?.[JUDGE_AGENT]?.model;
    },
    tools: { [VERDICT_TOOL]: judge.tool },
    commands: { goal: ({ sessionId, arguments: args }) => onGoalCommand(sessionId, args) },
    dispose: () => clearTimeout(restartTimer),
  };
}
