// Host adapter of the goal feature: `/goal` commands, the judge on session.idle of a main session, the
// goal_verdict tool, continuation prompts. All decisions are made by state-machine.ts; this file only gathers
// facts from OpenCode, applies the machine's actions, and persists every step (so a restart loses nothing).
import { tool, type Hooks } from "@opencode-ai/plugin";
import { RefuseToolCall } from "../core/compose.ts";
import { continuationBody, type FeatureContext, type FeatureModule } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { memoryLocations } from "../memory/locations.ts";
import { unfinishedTasks } from "../tasks/render.ts";
import { openTaskStore, type TaskStore } from "../tasks/store.ts";
import { formatTokens, isPersonMessage, parseGoalArgs, statusText, totalTokens, workFingerprint } from "./format.ts";
import { createJudge, type JudgeRound, type Model } from "./judge.ts";
import type { TranscriptMessage } from "./judge-prompt.ts";
import { checkCondition, CONTINUATION_MARKER, newGoal, step, type GoalAction, type GoalInput, type IdleFacts, type Verdict } from "./state-machine.ts";
import { judgeRunsElsewhere, PROCESS_ID } from "./owner.ts";
import { JUDGE_AGENT, VERDICT_TOOL } from "./permissions.ts";
import { openGoalStore, type GoalStore, type StoredGoal, type VerdictOutcome } from "./store.ts";

/**
 * Thrown from command.execute.before after `/goal` (status, pause, clear, a refusal) has answered by itself:
 * OpenCode 1.18 has no way for a command to skip its model call, so the command is cancelled instead. It
 * extends RefuseToolCall because that is the one error the hook isolation lets through.
 */
export class GoalCommandHandled extends RefuseToolCall {
  override name = "GoalCommandHandled";
}

export const goalFeature: FeatureModule = {
  name: "goal",
  needsDatabase: true,
  assets: { agents: [JUDGE_AGENT], commands: ["goal"] },
  internalTools: [{ tool: VERDICT_TOOL, agent: JUDGE_AGENT }],
  create(context) {
    return createGoalHooks(context, openGoalStore(context.db!));
  },
};

export default goalFeature;

function createGoalHooks(context: FeatureContext, store: GoalStore): Hooks {
  const { config, reporter, sessions, host } = context;
  const client = host.client;
  const log = reporter.child("goal");
  const locations = memoryLocations(context.paths, context.project.id, context.project.root, config.memory.location);
  const taskStore = openTasksIfUsed(context);
  const ownPrompts = new Map<string, number>();
  const turnEndings = new Map<string, "abort" | "error">();
  const diffs = new Map<string, string>();
  const busy = new Set<string>();
  const queues = new Map<string, Promise<unknown>>();
  let judgeAgentModel: string | undefined;
  const machineOptions = () => ({
    maxContinuations: config.goal.maxContinuations,
    maxTaskDeferrals: taskStore && config.tasks.gate ? config.tasks.maxGatePushes : 0,
  });

  /** One session's goal steps run one at a time, in arrival order. */
  const serial = <T>(sessionId: string, work: () => Promise<T>): Promise<T> => {
    const previous = queues.get(sessionId) ?? Promise.resolve();
    const next = previous.then(work, work);
    queues.set(sessionId, next.catch(() => undefined));
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
    const sent = await client.session.promptAsync({ path: { id: sessionId }, body: continuationBody(text, sessions.lastTurn(sessionId)) });
    if (sent.error) {
      reporter.problem("goal:continue", `the goal could not send its continuation to session ${sessionId}: ${JSON.stringify(sent.error)}`);
    }
  };

  // ---- the judge -------------------------------------------------------------------------------------------

  const judge = createJudge({
    client,
    context,
    taskStore,
    sessionDir: (id) => locations.sessionDir(id),
    readMessages: (id) => readMessages(id),
    model: (id) => judgeModel(id),
  });

  /** One judge round, then its verdict (or failure) is recorded and fed to the machine, unless it went stale. */
  const runJudge = async (mainSessionId: string, goal: StoredGoal, run: number, attempt: number) => {
    const round = await judge.run(mainSessionId, goal, attempt);
    await serial(mainSessionId, async () => {
      const current = store.current(mainSessionId);
      const stale = !current || current.id !== goal.id || current.state.judgeRun !== run || current.state.status !== "judging";
      const notes = [round.estimated ? "(judge tokens estimated: the call was cut off before usage was reported)" : "", stale ? "(stale: the goal changed while the judge ran)" : ""];
      recordVerdict(goal.id, run, round, notes.filter(Boolean).join(" "));
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

  const recordVerdict = (goalId: number, run: number, round: JudgeRound, note: string) => {
    const verdict = "verdict" in round.outcome ? round.outcome.verdict : undefined;
    const kind: VerdictOutcome = !verdict ? "judge failed" : verdict.met ? "met" : verdict.impossible ? "impossible" : "not met";
    const reason = verdict ? verdict.reason : (round.outcome as { error: string }).error;
    store.addVerdict(goalId, {
      at: new Date().toISOString(),
      run,
      outcome: kind,
      reason: note ? `${reason} ${note}` : reason,
      evidence: verdict?.evidence ?? [],
      missing: verdict?.missing ?? [],
      judgeSessionId: round.judgeSessionId,
      tokens: round.tokens,
    });
  };

  /** judgeModel config, else the judge agent's own model, else the model the main session is using. */
  const judgeModel = (mainSessionId: string): Model | undefined => {
    const configured = config.goal.judgeModel ?? judgeAgentModel;
    if (configured) {
      const slash = configured.indexOf("/");
      if (slash > 0) return { providerID: configured.slice(0, slash), modelID: configured.slice(slash + 1) };
      reporter.problem("goal:judge-model", `goal.judgeModel "${configured}" is not "provider/model"; using the session's model`);
    }
    return sessions.lastTurn(mainSessionId)?.model;
  };

  const readMessages = async (sessionId: string): Promise<TranscriptMessage[]> => {
    const listed = await client.session.messages({ path: { id: sessionId } });
    if (!listed.data) throw new Error(`could not read the session's messages: ${JSON.stringify(listed.error)}`);
    return listed.data as unknown as TranscriptMessage[];
  };

  // ---- idle: gather facts, let the machine decide ------------------------------------------------------------

  const onIdle = async (sessionId: string) => {
    // How this turn ended is taken now, at its idle, so it never leaks into a later turn.
    const flagged = turnEndings.get(sessionId);
    turnEndings.delete(sessionId);
    if (sessions.internalPurpose(sessionId) || !(await sessions.isMain(sessionId))) return;
    await serial(sessionId, async () => {
      const goal = store.current(sessionId);
      if (!goal || goal.state.status !== "active") return;
      const facts = await idleFacts(sessionId, flagged);
      await apply(sessionId, { type: "idle", facts }, goal);
    });
  };

  const idleFacts = async (sessionId: string, flagged: "abort" | "error" | undefined): Promise<IdleFacts> => {
    const messages = await readMessages(sessionId);
    const lastAssistant = [...messages].reverse().find((m) => m.info.role === "assistant");
    const lastError = (lastAssistant?.info.error as { name?: string } | undefined)?.name;
    const endedBy = flagged ?? (lastError === "MessageAbortedError" ? "abort" : lastError ? "error" : "normal");
    const openTasks = taskStore ? unfinishedTasks(taskStore.list(sessionId)).map((t) => `${t.id} ${t.title} (${t.status})`) : [];
    return { endedBy, userTypedSince: false, openTasks, fingerprint: workFingerprint(messages, diffs.get(sessionId) ?? "") };
  };

  // ---- /goal -------------------------------------------------------------------------------------------------

  /** Shows text in the session without a model call: a display-only (ignored) message plus a toast. */
  const answer = async (sessionId: string, text: string, variant: "info" | "warning" = "info"): Promise<never> => {
    // While a turn runs, a new message would be picked up by the running loop and cost a model call: toast only.
    if (!busy.has(sessionId)) {
      const shown = await client.session.prompt({
        path: { id: sessionId },
        body: { noReply: true, parts: [{ type: "text", text: `${CONTINUATION_MARKER} ${text}`, ignored: true }] },
      });
      if (shown.error) log.log("warn", `could not show the /goal answer in the session: ${JSON.stringify(shown.error)}`);
    }
    log.log("info", `/goal answer for ${sessionId}: ${text}`);
    reporter.notify(text.split("\n")[0]!, variant);
    throw new GoalCommandHandled(`/goal answered without a model call: ${text.split("\n")[0]}`);
  };

  /** Every branch either lets the command's prompt go (set, resume) or answers and cancels it (answer throws). */
  const onGoalCommand = async (sessionId: string, args: string, output: { parts: unknown[] }) => {
    if (!(await sessions.isMain(sessionId))) {
      return answer(sessionId, "Goals belong to a main session; this is a child session (a subagent or helper). Set the goal in the main session.", "warning");
    }
    const command = parseGoalArgs(args);
    await serial(sessionId, async () => {
      const goal = store.current(sessionId);
      switch (command.kind) {
        case "status":
          return answer(sessionId, statusText(goal?.state, goal ? store.verdicts(goal.id) : [], config.goal.maxContinuations));
        case "pause":
        case "clear":
          return pauseOrClear(sessionId, command.kind, goal);
        case "resume":
          return resume(sessionId, goal, output);
        case "set":
          return setGoal(sessionId, command.condition, goal, output);
      }
    });
  };

  const pauseOrClear = async (sessionId: string, kind: "pause" | "clear", goal: StoredGoal | undefined) => {
    if (!goal) return answer(sessionId, "No goal in this session. Set one with /goal <condition>.");
    const actions = await apply(sessionId, { type: kind }, goal);
    const noop = actions.find((a) => a.type === "noop");
    return answer(sessionId, noop?.type === "noop" ? `Nothing to ${kind}: ${noop.reason}.` : `Goal ${kind === "pause" ? "paused" : "cleared"}.`);
  };

  const resume = async (sessionId: string, goal: StoredGoal | undefined, output: { parts: unknown[] }) => {
    if (!goal) return answer(sessionId, "No goal in this session.");
    // An active goal whose turn was cut off (say by a restart) is nudged the same way a paused one resumes.
    const resumable = goal.state.status === "paused" || (goal.state.status === "active" && !busy.has(sessionId));
    if (!resumable) return answer(sessionId, `Nothing to resume: the goal is ${goal.state.status}. Set a new one with /goal <condition>.`);
    if (goal.state.status === "paused") await apply(sessionId, { type: "resume" }, goal);
    replaceParts(output, `${CONTINUATION_MARKER} The goal is resumed. Continue working toward it.\nGoal: ${goal.state.condition}`);
    reporter.notify("Goal resumed.", "info");
  };

  const setGoal = async (sessionId: string, raw: string, previous: StoredGoal | undefined, output: { parts: unknown[] }) => {
    const checked = checkCondition(raw);
    if (!checked.ok) return answer(sessionId, checked.message, "warning");
    const condition = checked.condition;
    let replaced = "";
    if (previous && (previous.state.status === "active" || previous.state.status === "judging" || previous.state.status === "paused")) {
      store.save(previous.id, { ...previous.state, status: "cleared", note: "replaced by a new goal", judgeRun: previous.state.judgeRun + 1 });
      replaced = " (it replaces the previous goal)";
    }
    store.create(sessionId, context.project.id, newGoal(condition));
    replaceParts(output, condition);
    expectOwnPrompt(sessionId);
    reporter.notify(`Goal set${replaced}. An independent judge checks it whenever the agent stops (at most ${config.goal.maxContinuations} continuations).`, "info");
  };

  const expectOwnPrompt = (sessionId: string) => ownPrompts.set(sessionId, (ownPrompts.get(sessionId) ?? 0) + 1);

  // ---- restart: goals whose judge died with the previous process ------------------------------------------------

  const resumeAfterRestart = () => {
    for (const goal of store.unfinished(context.project.id)) {
      if (goal.state.status === "judging" && judgeRunsElsewhere(goal.judgeOwner)) continue;
      void serial(goal.sessionId, () => apply(goal.sessionId, { type: "restart" }, goal)).catch((error) =>
        reporter.problem("goal:restart", `could not reload the goal of ${goal.sessionId}: ${errorText(error)}`),
      );
    }
  };
  setTimeout(resumeAfterRestart, 0);

  return {
    config: async (cfg) => {
      const mutable = cfg as { agent?: Record<string, { model?: string } | undefined>; permission?: unknown };
      judgeAgentModel = mutable.agent?.[JUDGE_AGENT]?.model;
    },
    tool: {
      [VERDICT_TOOL]: tool({
        description:
          "Record the goal judge's verdict. Only the goal judge may call this, exactly once. met needs evidence; impossible only when the goal cannot be reached at all; missing lists what is still missing when not met.",
        args: {
          met: tool.schema.boolean().describe("True only when the evidence shows the goal's condition holds."),
          impossible: tool.schema.boolean().describe("True only when the goal cannot be reached at all (never with met)."),
          reason: tool.schema.string().min(1).max(2000).describe("One or two sentences a person can check."),
          evidence: tool.schema.array(tool.schema.string().max(1000)).max(30).describe("Concrete items relied on; at least one when met."),
          missing: tool.schema.array(tool.schema.string().max(1000)).max(30).describe("When not met: what is still missing, as short imperative items."),
        },
        async execute(args, ctx) {
          return judge.acceptVerdict(ctx.sessionID, args);
        },
      }),
    },
    "command.execute.before": async (input, output) => {
      if (input.command !== "goal") return;
      await onGoalCommand(input.sessionID, input.arguments ?? "", output as { parts: unknown[] });
    },
    "chat.message": async (input, output) => {
      const sessionId = input.sessionID;
      if (sessions.internalPurpose(sessionId)) return;
      if (!isPersonMessage(output.parts as never)) return;
      // The prompt of `/goal <condition>` itself is not an interruption.
      const own = ownPrompts.get(sessionId) ?? 0;
      if (own > 0) {
        ownPrompts.set(sessionId, own - 1);
        return;
      }
      await serial(sessionId, async () => {
        const goal = store.current(sessionId);
        if (goal && (goal.state.status === "active" || goal.state.status === "judging")) await apply(sessionId, { type: "userMessage" }, goal);
      });
    },
    event: async ({ event }) => {
      const props = event.properties as Record<string, any>;
      switch (event.type as string) {
        case "session.idle":
          if (props.sessionID) void onIdle(props.sessionID).catch((error) => reporter.problem("goal:idle", `goal check on idle failed: ${errorText(error)}`));
          return;
        case "session.error":
          if (props.sessionID && !judge.isJudgeSession(props.sessionID)) onTurnError(props.sessionID, props.error?.name);
          return;
        case "session.status":
          if (props.sessionID && props.status?.type === "idle") busy.delete(props.sessionID);
          else if (props.sessionID) busy.add(props.sessionID);
          return;
        case "session.diff":
          if (props.sessionID) diffs.set(props.sessionID, JSON.stringify((props.diff ?? []).map((d: any) => [d.file, d.additions, d.deletions])));
          return;
      }
    },
  };

  function onTurnError(sessionId: string, name: string | undefined) {
    const aborted = name === "MessageAbortedError";
    turnEndings.set(sessionId, aborted ? "abort" : "error");
    if (!aborted) return;
    // An abort pauses at once, not only at the next idle.
    void serial(sessionId, async () => {
      const goal = store.current(sessionId);
      if (goal && (goal.state.status === "active" || goal.state.status === "judging")) await apply(sessionId, { type: "abort" }, goal);
    });
  }
}

function openTasksIfUsed(context: FeatureContext): TaskStore | undefined {
  if (!context.config.tasks.enabled || !context.db) return undefined;
  try {
    return openTaskStore(context.db);
  } catch (error) {
    context.reporter.log("warn", `goal: task tree unavailable to the judge: ${errorText(error)}`);
    return undefined;
  }
}

function replaceParts(output: { parts: unknown[] }, text: string) {
  const first = output.parts.find((p) => (p as { type?: string }).type === "text") as { text?: string } | undefined;
  const files = output.parts.filter((p) => (p as { type?: string }).type === "file");
  output.parts.splice(0, output.parts.length, ...(first ? [{ ...first, text }] : [{ type: "text", text }]), ...files);
}
