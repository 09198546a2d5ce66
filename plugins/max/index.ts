// Max Mode: best-of-N for a user's turn. `/max <task>` (or any turn of the `max` agent) runs N candidates as
// hidden read-only agents in child sessions, stops early when two scouts agree, otherwise lets a judge pick, and
// adds the winning plan to the user's turn as one part; the agent of the turn then carries it out. Every
// candidate and judge run goes through the helper runner, so the ledger counts it under `max`.
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { join } from "node:path";
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts, UserTurn } from "../core/feature.ts";
import type { Confinement } from "../core/confinement.ts";
import type { HelperOutcome, ResultChannel } from "../core/helpers.ts";
import type { Worktree } from "../core/worktrees.ts";
import type { ModelRef } from "../core/host-types.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import { parseMaxArgs, type MaxMode } from "./args.ts";
import { runChecks } from "./checks.ts";
import { renderContext } from "./context.ts";
import { lensFor } from "./lenses.ts";
import { checkPlan, cleanText, planArgs, type Plan } from "./plan.ts";
import { clipDiff, detectChecks, diffFileList, patchesAgree, type CheckResult, type Patch } from "./patch.ts";
import {
  builderPrompt,
  CANCELLED_PART,
  candidatePrompt,
  executionPart,
  failurePart,
  judgePrompt,
  MARK,
  patchAppliedPart,
  patchJudgePrompt,
  patchRefusedPart,
} from "./prompts.ts";
import { runRound, type CandidateOutcome, type JudgeOutcome, type RoundResult, type Spend } from "./round.ts";
import { comparePlans } from "./similarity.ts";
import { openStatsStore, sessionReport, turnSummary, type TurnRecord } from "./stats.ts";
import { checkVerdict, verdictArgs, type Verdict } from "./verdict.ts";

export const MAIN_AGENT = "max";
export const CANDIDATE_AGENT = "max-candidate";
export const BUILDER_AGENT = "max-builder";
export const JUDGE_AGENT = "max-judge";
export const PLAN_TOOL = "max_plan";
export const VERDICT_TOOL = "max_verdict";
export const PATCH_TOOL = "max_patch";

export const maxFeature: FeatureModule = {
  name: "max",
  needsDatabase: false,
  assets: { agents: [MAIN_AGENT, CANDIDATE_AGENT, BUILDER_AGENT, JUDGE_AGENT], commands: ["max"] },
  internalTools: [
    { tool: PLAN_TOOL, agent: CANDIDATE_AGENT },
    { tool: PATCH_TOOL, agent: BUILDER_AGENT },
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

  const patchChannel = helpers.resultChannel(PATCH_TOOL, {
    description: "Record that your change in the worktree is complete, once, with a short summary of what you changed and why. Only a Max Mode builder may call this.",
    args: { summary: z.string().max(2000).describe("What you changed and why, in two or three sentences.") },
    reserved: `${PATCH_TOOL} is reserved for Max Mode builders; it does nothing here. Go on with your task.`,
    accept(args) {
      const summary = cleanText(args.summary);
      return summary ? { ok: true, value: summary, reply: "Recorded. You are done." } : { ok: false, problems: ["summary: empty; say what you changed"] };
    },
  });

  // Scouts, then the rest, then the judge, each bounded by the candidate timeout (patch mode: plus its checks).
  const checkBudget = (settings.checks?.length ?? 1) * settings.checkTimeoutMs;
  const turnBudgetMs = 2 * (settings.candidateTimeoutMs + checkBudget) + settings.candidateTimeoutMs + 60_000;

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
      ? `Max Mode costs about ${settings.scouts}× the tokens of one candidate when the ${settings.scouts} scouts agree, up to ${full}× (${settings.candidates} candidates + judge) when they do not, before the turn itself.`
      : `Max Mode costs about ${full}× the tokens of one candidate (${settings.candidates} candidates + judge), before the turn itself.`;
  };

  // ---- one Max turn -----------------------------------------------------------------------------------------

  interface TurnSetup {
    turn: UserTurn;
    task: string;
    contextText: string;
    candidateModel: ModelRef | undefined;
    judgeModel: ModelRef | undefined;
  }

  const candidateRun = async <T, C>(setup: TurnSetup, index: number, abort: AbortSignal, agent: string, channel: ResultChannel<T, C>, prompt: string, extra: { worktree?: Confinement } = {}) => {
    const total = settings.candidates;
    const lens = lensFor(index);
    const tool = channel.name;
    return helpers.run({
      feature: "max",
      agent,
      parentSessionId: setup.turn.sessionId,
      title: `max ${agent === BUILDER_AGENT ? "builder" : "candidate"} ${index}/${total} (${lens.name})`,
      prompt,
      channel,
      context: undefined as C,
      model: setup.candidateModel,
      timeoutMs: settings.candidateTimeoutMs,
      retries: 1,
      retryPrompt: (problem) => `Max Mode ${agent === BUILDER_AGENT ? "builder" : "candidate"} ${index} of ${total}: nothing was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${tool} once now, fixing what it named.`,
      signal: abort,
      reason: `${agent === BUILDER_AGENT ? "builder" : "candidate"} ${index}/${total} · ${lens.name}`,
      ...extra,
    });
  };

  const judgeRun = async (setup: TurnSetup, shown: number[], prompt: string, abort: AbortSignal): Promise<JudgeOutcome> => {
    const outcome = await helpers.run({
      feature: "max",
      agent: JUDGE_AGENT,
      parentSessionId: setup.turn.sessionId,
      title: `max judge (${shown.length} candidates)`,
      prompt,
      channel: verdictChannel,
      context: shown,
      model: setup.judgeModel,
      timeoutMs: settings.candidateTimeoutMs,
      retries: 1,
      retryPrompt: (problem) => `Max Mode judge: no verdict was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${VERDICT_TOOL} once now, fixing what it named.`,
      signal: abort,
      reason: `judge of ${shown.length} candidates`,
    });
    return outcome.ok ? { spend: spendOf(outcome), ok: true, verdict: outcome.value as Verdict } : { spend: spendOf(outcome), ok: false, message: outcome.message };
  };

  const failed = <R>(index: number, outcome: HelperOutcome<unknown> | undefined, failure: string, message: string): CandidateOutcome<R> => ({
    index,
    spend: outcome ? spendOf(outcome) : { tokens: 0, cost: 0, estimated: false },
    durationMs: outcome?.usage.durationMs ?? 0,
    ok: false,
    failure,
    message,
  });

  const runPlanRound = (setup: TurnSetup, signal: AbortSignal): Promise<RoundResult<Plan>> =>
    runRound<Plan>(
      settings,
      {
        candidate: async (index, abort): Promise<CandidateOutcome<Plan>> => {
          const prompt = candidatePrompt({ task: setup.task, context: setup.contextText, lens: lensFor(index), index, total: settings.candidates });
          const outcome = await candidateRun(setup, index, abort, CANDIDATE_AGENT, planChannel, prompt);
          if (!outcome.ok) return failed(index, outcome, outcome.failure, outcome.message);
          return { index, spend: spendOf(outcome), durationMs: outcome.usage.durationMs, ok: true, result: outcome.value };
        },
        judge: (valid, abort) =>
          judgeRun(setup, valid.map((v) => v.index), judgePrompt({ task: setup.task, context: setup.contextText, plans: valid.map((v) => ({ index: v.index, plan: v.result })) }), abort),
        agree: (a, b) => comparePlans(a, b).agree,
        progress: (message) => log.log("info", `${setup.turn.sessionId}: ${message}`),
      },
      signal,
    );

  const projectChecks = (): string[] => {
    if (settings.checks) return settings.checks;
    const dir = host.directory;
    let packageJson: string | undefined;
    try {
      packageJson = existsSync(join(dir, "package.json")) ? readFileSync(join(dir, "package.json"), "utf8") : undefined;
    } catch {
      packageJson = undefined;
    }
    return detectChecks({ packageJson, has: (name) => existsSync(join(dir, name)) });
  };

  const runPatchRound = (setup: TurnSetup, checks: string[], signal: AbortSignal): Promise<RoundResult<Patch>> =>
    runRound<Patch>(
      settings,
      {
        candidate: async (index, abort): Promise<CandidateOutcome<Patch>> => {
          let worktree: Worktree;
          try {
            worktree = await context.worktrees.create("max", `builder ${index}`);
          } catch (error) {
            return failed(index, undefined, "error", `could not create its worktree: ${errorText(error)}`);
          }
          try {
            const prompt = builderPrompt({ task: setup.task, context: setup.contextText, lens: lensFor(index), index, total: settings.candidates, checks });
            const outcome = await candidateRun(setup, index, abort, BUILDER_AGENT, patchChannel, prompt, { worktree: { dir: worktree.dir, projectDir: host.directory } });
            if (!outcome.ok) return failed(index, outcome, outcome.failure, outcome.message);
            if (abort.aborted) return failed(index, outcome, "aborted", "aborted");
            const diff = await context.worktrees.diff(worktree);
            if (!diff.trim()) return failed(index, outcome, "no-change", "it changed nothing");
            const results = checks.length ? await runChecks(checks, worktree.dir, settings.checkTimeoutMs, abort) : [];
            const passed = checks.length ? results.length === checks.length && results.every((r) => r.passed) : undefined;
            return { index, spend: spendOf(outcome), durationMs: outcome.usage.durationMs, ok: true, result: { summary: outcome.value, diff, files: diffFileList(diff), checks: results, passed } };
          } catch (error) {
            return failed(index, undefined, "error", errorText(error));
          } finally {
            await context.worktrees.remove(worktree).catch((error) => log.log("warn", `could not remove worktree ${worktree.dir}: ${errorText(error)}`));
          }
        },
        judge: (valid, abort) => {
          const perDiff = Math.max(2000, Math.floor(48_000 / valid.length));
          const patches = valid.map((v) => ({ index: v.index, summary: v.result.summary, diff: clipDiff(v.result.diff, perDiff), checks: checkText(v.result.checks, checks) }));
          return judgeRun(setup, valid.map((v) => v.index), patchJudgePrompt({ task: setup.task, context: setup.contextText, patches }), abort);
        },
        agree: patchesAgree,
        passed: (patch) => patch.passed,
        progress: (message) => log.log("info", `${setup.turn.sessionId}: ${message}`),
      },
      signal,
    );

  const record = <R>(sessionId: string, mode: MaxMode, round: RoundResult<R>): TurnRecord => {
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

  const why = <R>(round: RoundResult<R>): string => {
    const winner = round.winner!;
    if (round.consensus) return `scouts ${round.consensus.indexes.join(" and ")} agreed, so the other candidates and the judge were skipped`;
    if (winner.how === "judge" && round.judge?.ok) return `the judge's pick: ${round.judge.verdict.rationale.slice(0, 600)}`;
    return winner.note ?? winner.how;
  };

  /** Ends a round the same way in both modes: cancelled, nothing valid, or a winner (the mode adds its part). */
  const settle = <R>(turn: UserTurn, mode: MaxMode, round: RoundResult<R>, timedOut: boolean): { stats: TurnRecord; winner?: NonNullable<RoundResult<R>["winner"]> } => {
    const stats = record(turn.sessionId, mode, round);
    const state = stateOf(turn.sessionId);
    if (round.aborted && !timedOut) {
      state.abortNextTurn = true;
      turn.addPart(CANCELLED_PART);
      reporter.notify(`Max Mode cancelled: ${stats.started} candidates stopped.`, "warning");
      return { stats };
    }
    if (round.aborted || !round.winner) {
      const reasons = timedOut
        ? [`Max Mode ran out of its time (${Math.round(turnBudgetMs / 1000)} s) before it chose`]
        : round.outcomes.map((o) => (o.ok ? `candidate ${o.index}: ok` : `candidate ${o.index}: ${o.failure}: ${o.message}`));
      turn.addPart(failurePart(reasons, round.outcomes.length));
      reporter.notify(`Max Mode: ${timedOut ? "out of time" : `all ${round.outcomes.length} candidates failed`}; this turn runs normally. ${turnSummary(stats)}`, "warning");
      return { stats };
    }
    return { stats, winner: round.winner };
  };

  const applyWinner = async (turn: UserTurn, round: RoundResult<Patch>, winner: NonNullable<RoundResult<Patch>["winner"]>, fingerprint: string, checks: string[]) => {
    const patch = winner.result;
    const applied = await context.worktrees.apply(patch.diff, { expectFingerprint: fingerprint, label: `max candidate ${winner.index}` });
    if (applied.ok) {
      turn.addPart(patchAppliedPart({ winner: winner.index, total: settings.candidates, why: why(round), files: applied.files, checks: checkText(patch.checks, checks), summary: patch.summary }));
      return true;
    }
    turn.addPart(patchRefusedPart({ winner: winner.index, total: settings.candidates, reason: applied.reason, conflicts: applied.conflicts, savedTo: applied.savedTo }));
    reporter.notify(`Max Mode did not apply candidate ${winner.index}'s change: ${applied.reason}. Saved to ${applied.savedTo}.`, "warning");
    return false;
  };

  const runTurn = async (turn: UserTurn, task: string, requested: MaxMode) => {
    const state = stateOf(turn.sessionId);
    if (state.active) {
      reporter.notify("A Max turn is already running in this session; this message runs as a normal turn.", "warning");
      return;
    }
    let mode = requested;
    if (mode === "patch" && !(await context.worktrees.isRepo().catch(() => false))) {
      reporter.notify("Max patch mode needs a git repository (each candidate works in its own worktree); this turn runs in plan mode.", "warning");
      mode = "plan";
    }
    if (!state.noticeShown && store.turns(turn.sessionId).length === 0) reporter.notify(expectedNotice(), "info");
    state.noticeShown = true;
    const controller = new AbortController();
    state.active = controller;
    let timedOut = false;
    // Our own limit comes before the hook's: past it the turn must not go on without us (or apply a change late).
    const deadline = setTimeout(() => ((timedOut = true), controller.abort()), turnBudgetMs - 5000);
    (deadline as { unref?: () => void }).unref?.();
    try {
      const scouts = settings.consensus === "scouts" && settings.scouts >= 2 && settings.scouts < settings.candidates ? ` (${settings.scouts} scouts first)` : "";
      reporter.notify(`Max Mode (${mode}): ${settings.candidates} candidates${scouts} are working…`, "info");
      const setup: TurnSetup = {
        turn,
        task,
        contextText: await sessionContext(turn.sessionId),
        candidateModel: modelFor(settings.candidateModel ?? agentModels.candidate, "candidateModel", turn.model),
        judgeModel: modelFor(settings.judgeModel ?? agentModels.judge, "judgeModel", turn.model),
      };
      if (mode === "plan") {
        const round = await runPlanRound(setup, controller.signal);
        const { stats, winner } = settle(turn, mode, round, timedOut);
        if (!winner) return;
        turn.addPart(executionPart({ winner: winner.index, total: settings.candidates, why: why(round), plan: winner.result }));
        reporter.notify(turnSummary(stats), "info");
        return;
      }
      const checks = projectChecks();
      const fingerprint = await context.worktrees.fingerprint();
      const round = await runPatchRound(setup, checks, controller.signal);
      const { stats, winner } = settle(turn, mode, round, timedOut);
      if (!winner || controller.signal.aborted) return;
      if (await applyWinner(turn, round, winner, fingerprint, checks)) reporter.notify(turnSummary(stats), "info");
    } finally {
      clearTimeout(deadline);
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
    tools: { [PLAN_TOOL]: planChannel.tool, [PATCH_TOOL]: patchChannel.tool, [VERDICT_TOOL]: verdictChannel.tool },
    modelCall(call) {
      const diverse = call.agent === CANDIDATE_AGENT || call.agent === BUILDER_AGENT;
      if (diverse && sessions.helperOf(call.sessionId)?.feature === "max") call.setTemperature?.(settings.temperature);
    },
    commands: { max: ({ sessionId, arguments: args }) => onCommand(sessionId, args) },
    userTurn: {
      timeoutMs: turnBudgetMs,
      handle: onUserTurn,
    },
  };
}

/** One line per check for the judge and the main agent: command, pass/fail, and the output's end when it failed. */
function checkText(results: readonly CheckResult[], configured: readonly string[]): string {
  if (configured.length === 0) return "none configured or detected";
  if (results.length === 0) return "not run";
  return results
    .map((r) => `\`${r.command}\` ${r.passed ? "passed" : r.timedOut ? "timed out" : `failed (exit ${r.exitCode ?? "?"})`}${r.passed ? "" : `:\n${r.tail.slice(-800)}`}`)
    .join("\n");
}
