// Max Mode: best-of-N for a user's turn. `/max <task>` (or any turn of the `max` agent) runs N candidates as
// hidden read-only agents in child sessions, stops early when two scouts agree, otherwise lets a judge pick, and
// adds the winning plan to the user's turn as one part; the agent of the turn then carries it out. Every
// candidate and judge run goes through the helper runner, so the ledger counts it under `max`.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts, UserTurn } from "../core/feature.ts";
import type { HelperOutcome } from "../core/helpers.ts";
import type { ModelRef } from "../core/host-types.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import { parseMaxArgs, type MaxMode } from "./args.ts";
import { renderContext } from "./context.ts";
import { lensFor } from "./lenses.ts";
import { checkPlan, planArgs, type Plan } from "./plan.ts";
import { CANCELLED_PART, candidatePrompt, executionPart, failurePart, judgePrompt, MARK } from "./prompts.ts";
import { runRound, type CandidateOutcome, type JudgeOutcome, type RoundResult, type Spend } from "./round.ts";
import { comparePlans } from "./similarity.ts";
import { openStatsStore, sessionReport, turnSummary, type TurnRecord } from "./stats.ts";
import { checkVerdict, verdictArgs, type Verdict } from "./verdict.ts";

export const MAIN_AGENT = "max";
export const CANDIDATE_AGENT = "max-candidate";
export const JUDGE_AGENT = "max-judge";
export const PLAN_TOOL = "max_plan";
export const VERDICT_TOOL = "max_verdict";

export const maxFeature: FeatureModule = {
  name: "max",
  needsDatabase: false,
  assets: { agents: [MAIN_AGENT, CANDIDATE_AGENT, JUDGE_AGENT], commands: ["max"] },
  internalTools: [
    { tool: PLAN_TOOL, agent: CANDIDATE_AGENT },
    { tool: VERDICT_TOOL, agent: JUDGE_AGENT },
  ],
  create: (context) => createMax(context),
};

export default maxFeature;

interface MaxSession {
  /** `/max <task>` was answered with a prompt: its user message is the Max turn. */
  pending?: { task: string; mode?: MaxMode };
  noticeShown: boolean;
  active?: AbortController;
  /** The user aborted a Max turn before its plan: the turn that follows is stopped as it starts. */
  abortNextTurn: boolean;
}
const maxSlot = slot<MaxSession>("max", () => ({ noticeShown: false, abortNextTurn: false }));

function createMax(context: FeatureContext): FeatureParts {
  const { config, reporter, sessions, helpers, host } = context;
  const settings = config.max;
  const log = reporter.child("max");
  const store = openStatsStore(context.projectPaths.session, (m) => log.log("warn", m));
  const agentModels: { candidate?: string; judge?: string } = {};
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(maxSlot);

  const planChannel = helpers.resultChannel(PLAN_TOOL, {
    description:
      "Record your Max Mode plan, once: summary, ordered concrete steps, the project-relative files it touches, risks, and how to test it. Only a Max Mode candidate may call this.",
    args: planArgs,
    reserved: `${PLAN_TOOL} is reserved for Max Mode candidates; it does nothing here. Go on with your task.`,
    accept(args) {
      const checked = checkPlan(args);
      return checked.ok ? { ok: true, value: checked.plan, reply: "Plan recorded. You are done." } : { ok: false, problems: checked.problems };
    },
  });

  const verdictChannel = helpers.resultChannel(VERDICT_TOOL, {
    description: "Record the Max Mode judge's verdict, once: the winner's number, one score entry per candidate (each criterion 0-5), and the rationale.",
    args: verdictArgs,
    reserved: `${VERDICT_TOOL} is reserved for the Max Mode judge; it does nothing here. Go on with your task.`,
    accept(args, shown: number[]) {
      const checked = checkVerdict(args, shown);
      return checked.ok ? { ok: true, value: checked.verdict, reply: "Verdict recorded. You are done." } : { ok: false, problems: checked.problems };
    },
  });

  const modelFor = (configured: string | undefined, key: string, fallback: ModelRef | undefined): ModelRef | undefined => {
    if (!configured) return fallback;
    const slash = configured.indexOf("/");
    if (slash > 0) return { providerID: configured.slice(0, slash), modelID: configured.slice(slash + 1) };
    reporter.problem(`max:${key}`, `max.${key} "${configured.slice(0, 80)}" is not "provider/model"; using the session's model`);
    return fallback;
  };

  const readCheckpoint = (sessionId: string): string | undefined => {
    const file = join(context.projectPaths.session(sessionId), "checkpoint.md");
    try {
      return existsSync(file) ? readFileSync(file, "utf8") : undefined;
    } catch {
      return undefined;
    }
  };

  const sessionContext = async (sessionId: string): Promise<string> =>
    renderContext({
      checkpoint: readCheckpoint(sessionId),
      tasks: context.services.tasks?.tree(sessionId),
      messages: await host.messages(sessionId).catch(() => []),
      redact,
    });

  const spendOf = (outcome: HelperOutcome<unknown>): Spend => {
    const t = outcome.usage.tokens;
    return { tokens: t.input + t.output + t.reasoning + t.cacheRead + t.cacheWrite, cost: outcome.usage.cost, estimated: outcome.usage.estimated };
  };

  const expectedNotice = () => {
    const full = settings.candidates + 1;
    const scouts = settings.consensus === "scouts" && settings.scouts >= 2 && settings.scouts < settings.candidates;
    return scouts
      ? `Max Mode costs about ${settings.scouts}× the tokens of one plan when the ${settings.scouts} scouts agree, up to ${full}× (${settings.candidates} candidates + judge) when they do not, before the turn itself.`
      : `Max Mode costs about ${full}× the tokens of one plan (${settings.candidates} candidates + judge), before the turn itself.`;
  };

  // ---- one Max turn -----------------------------------------------------------------------------------------

  const runPlanTurn = async (turn: UserTurn, task: string, signal: AbortSignal): Promise<RoundResult<Plan>> => {
    const total = settings.candidates;
    const contextText = await sessionContext(turn.sessionId);
    const candidateModel = modelFor(settings.candidateModel ?? agentModels.candidate, "candidateModel", turn.model);
    const judgeModel = modelFor(settings.judgeModel ?? agentModels.judge, "judgeModel", turn.model);
    return runRound<Plan>(
      settings,
      {
        candidate: async (index, abort): Promise<CandidateOutcome<Plan>> => {
          const lens = lensFor(index);
          const outcome = await helpers.run({
            feature: "max",
            agent: CANDIDATE_AGENT,
            parentSessionId: turn.sessionId,
            title: `max candidate ${index}/${total} (${lens.name})`,
            prompt: candidatePrompt({ task, context: contextText, lens, index, total }),
            channel: planChannel,
            context: undefined,
            model: candidateModel,
            timeoutMs: settings.candidateTimeoutMs,
            retries: 1,
            retryPrompt: (problem) => `Max Mode candidate ${index} of ${total}: no plan was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${PLAN_TOOL} once now, fixing what it named.`,
            signal: abort,
            reason: `candidate ${index}/${total} · ${lens.name}`,
          });
          const base = { index, spend: spendOf(outcome), durationMs: outcome.usage.durationMs };
          return outcome.ok ? { ...base, ok: true, result: outcome.value } : { ...base, ok: false, failure: outcome.failure, message: outcome.message };
        },
        judge: async (valid, abort): Promise<JudgeOutcome> => {
          const shown = valid.map((v) => v.index);
          const outcome = await helpers.run({
            feature: "max",
            agent: JUDGE_AGENT,
            parentSessionId: turn.sessionId,
            title: `max judge (${valid.length} candidates)`,
            prompt: judgePrompt({ task, context: contextText, plans: valid.map((v) => ({ index: v.index, plan: v.result })) }),
            channel: verdictChannel,
            context: shown,
            model: judgeModel,
            timeoutMs: settings.candidateTimeoutMs,
            retries: 1,
            retryPrompt: (problem) => `Max Mode judge: no verdict was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${VERDICT_TOOL} once now, fixing what it named.`,
            signal: abort,
            reason: `judge of ${valid.length} candidates`,
          });
          return outcome.ok ? { spend: spendOf(outcome), ok: true, verdict: outcome.value as Verdict } : { spend: spendOf(outcome), ok: false, message: outcome.message };
        },
        agree: (a, b) => comparePlans(a, b).agree,
        progress: (message) => log.log("info", `${turn.sessionId}: ${message}`),
      },
      signal,
    );
  };

  const record = (sessionId: string, mode: MaxMode, round: RoundResult<Plan>): TurnRecord => {
    const ran = round.outcomes;
    const candidateTokens = ran.reduce((s, o) => s + o.spend.tokens, 0);
    const judge = round.judge?.spend;
    const turn: TurnRecord = {
      at: new Date().toISOString(),
      mode,
      requested: settings.candidates,
      started: ran.length,
      valid: ran.filter((o) => o.ok).length,
      consensus: round.consensus !== undefined,
      judged: round.judge !== undefined,
      winner: round.winner?.index ?? null,
      how: round.aborted ? "aborted" : round.consensus ? "consensus" : (round.winner?.how ?? "none"),
      tokens: candidateTokens + (judge?.tokens ?? 0),
      cost: ran.reduce((s, o) => s + o.spend.cost, 0) + (judge?.cost ?? 0),
      perCandidate: ran.length ? candidateTokens / ran.length : 0,
      estimated: ran.some((o) => o.spend.estimated) || judge?.estimated === true,
    };
    try {
      store.add(sessionId, turn);
    } catch (error) {
      reporter.problem("max:stats", `Max Mode could not save its stats for ${sessionId}: ${errorText(error)}`);
    }
    return turn;
  };

  const why = (round: RoundResult<Plan>): string => {
    const winner = round.winner!;
    if (round.consensus) return `scouts ${round.consensus.indexes.join(" and ")} agreed, so the other candidates and the judge were skipped`;
    if (winner.how === "judge" && round.judge?.ok) return `the judge's pick: ${round.judge.verdict.rationale.slice(0, 600)}`;
    return winner.note ?? winner.how;
  };

  const runTurn = async (turn: UserTurn, task: string, requested: MaxMode) => {
    const state = stateOf(turn.sessionId);
    if (state.active) {
      reporter.notify("A Max turn is already running in this session; this message runs as a normal turn.", "warning");
      return;
    }
    let mode = requested;
    if (mode === "patch") {
      reporter.notify("Max patch mode is not available in this build yet; this turn runs in plan mode.", "warning");
      mode = "plan";
    }
    if (!state.noticeShown && store.turns(turn.sessionId).length === 0) reporter.notify(expectedNotice(), "info");
    state.noticeShown = true;
    const controller = new AbortController();
    state.active = controller;
    try {
      reporter.notify(`Max Mode: ${settings.candidates} candidates${settings.consensus === "scouts" && settings.scouts >= 2 && settings.scouts < settings.candidates ? ` (${settings.scouts} scouts first)` : ""} are planning…`, "info");
      const round = await runPlanTurn(turn, task, controller.signal);
      const stats = record(turn.sessionId, mode, round);
      if (round.aborted) {
        state.abortNextTurn = true;
        turn.addPart(CANCELLED_PART);
        reporter.notify(`Max Mode cancelled: ${stats.started} candidates stopped.`, "warning");
        return;
      }
      if (!round.winner) {
        const reasons = round.outcomes.map((o) => (o.ok ? `candidate ${o.index}: ok` : `candidate ${o.index}: ${o.failure}: ${o.message}`));
        turn.addPart(failurePart(reasons, round.outcomes.length));
        reporter.notify(`Max Mode: all ${round.outcomes.length} candidates failed; this turn runs normally. ${turnSummary(stats)}`, "warning");
        return;
      }
      turn.addPart(executionPart({ winner: round.winner.index, total: settings.candidates, why: why(round), plan: round.winner.result }));
      reporter.notify(turnSummary(stats), "info");
    } finally {
      state.active = undefined;
    }
  };

  const onUserTurn = async (turn: UserTurn) => {
    if (sessions.helperOf(turn.sessionId)) return;
    const state = stateOf(turn.sessionId);
    let request: { task: string; mode: MaxMode } | undefined;
    if (state.pending && turn.text === state.pending.task) {
      request = { task: state.pending.task, mode: state.pending.mode ?? settings.mode };
      state.pending = undefined;
    } else if (turn.agent === MAIN_AGENT && turn.origin === "person" && turn.text) {
      const parsed = parseMaxArgs(turn.text);
      request = parsed.kind === "task" ? { task: parsed.task, mode: parsed.mode ?? settings.mode } : { task: turn.text, mode: settings.mode };
    }
    if (!request) return;
    try {
      await runTurn(turn, request.task, request.mode);
    } catch (error) {
      reporter.problem("max:turn", `Max Mode failed in ${turn.sessionId}; the turn runs normally: ${errorText(error)}`);
      turn.addPart(failurePart([errorText(error)], 0));
    }
  };

  // ---- /max --------------------------------------------------------------------------------------------------

  const report = (text: string, variant: "info" | "warning" = "info"): CommandReply => ({ kind: "report", text: `${MARK} ${text}`, variant });

  const onCommand = async (sessionId: string, raw: string): Promise<CommandReply> => {
    const parsed = parseMaxArgs(raw);
    if (parsed.kind === "error") return report(parsed.message, "warning");
    if (parsed.kind === "stats") {
      const ledger = context.ledger?.stats({ projectId: context.project.id, sessionId }).features.max;
      const ledgerLine = ledger ? `Ledger (feature max): ${ledger.runs} runs · ${ledger.inputTokens.toLocaleString("en-US")} in · ${ledger.outputTokens.toLocaleString("en-US")} out${ledger.cost ? ` · $${ledger.cost.toFixed(4)}` : ""}` : undefined;
      return { kind: "report", text: sessionReport(store.turns(sessionId), ledgerLine) };
    }
    if (!(await sessions.isMain(sessionId))) return report("Max Mode runs in a main session; this is a child session.", "warning");
    stateOf(sessionId).pending = { task: parsed.task, mode: parsed.mode };
    return { kind: "prompt", text: parsed.task };
  };

  // ---- session events ------------------------------------------------------------------------------------------

  sessions.on("max", "turn.failed", (event) => {
    // The user stopped the session while its candidates run: all of them, and the judge, stop.
    if (event.aborted) sessions.peek(event.sessionId)?.get(maxSlot).active?.abort();
  });
  sessions.on("max", "session.deleted", (event) => sessions.peek(event.sessionId)?.get(maxSlot).active?.abort());
  sessions.on("max", "turn.busy", async (event) => {
    const state = sessions.peek(event.sessionId)?.get(maxSlot);
    if (!state?.abortNextTurn) return;
    state.abortNextTurn = false;
    await host.abort(event.sessionId).catch(() => undefined);
  });

  return {
    config(cfg) {
      agentModels.candidate = cfg.agent?.[CANDIDATE_AGENT]?.model;
      agentModels.judge = cfg.agent?.[JUDGE_AGENT]?.model;
    },
    tools: { [PLAN_TOOL]: planChannel.tool, [VERDICT_TOOL]: verdictChannel.tool },
    modelCall(call) {
      if (call.agent === CANDIDATE_AGENT && sessions.helperOf(call.sessionId)?.feature === "max") call.setTemperature?.(settings.temperature);
    },
    commands: { max: ({ sessionId, arguments: args }) => onCommand(sessionId, args) },
    userTurn: {
      // Scouts, then the rest, then the judge, each bounded by the candidate timeout; the margin covers start-up.
      timeoutMs: settings.candidateTimeoutMs * 3 + 60_000,
      handle: onUserTurn,
    },
  };
}
