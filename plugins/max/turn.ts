// One Max turn, both modes: the candidates (read-only planners, or builders in their own worktrees whose diffs code
// checks), the judge, code's final choice, the record of what it cost, and the one part added to the user's turn.
// The feature module (index.ts) decides when a turn is a Max turn and owns the session state.
import { join } from "node:path";
import type { Confinement } from "../core/confinement.ts";
import type { FeatureContext, UserTurn } from "../core/feature.ts";
import type { HelperOutcome, ResultChannel } from "../core/helpers.ts";
import { parseModelRef, type ModelRef } from "../core/host-types.ts";
import { fileStamp } from "../core/file-stamp.ts";
import { redact } from "../core/redaction.ts";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { errorText, type Reporter } from "../core/report.ts";
import type { Worktree } from "../core/worktrees.ts";
import type { MaxMode } from "./args.ts";
import { detectProjectChecks, runChecks } from "../core/checks.ts";
import { renderContext } from "./context.ts";
import { lensFor } from "./lenses.ts";
import { BUILDER_AGENT, CANDIDATE_AGENT, JUDGE_AGENT, VERDICT_TOOL } from "./names.ts";
import { clipDiff, diffFileList, patchesAgree, type CheckResult, type Patch } from "./patch.ts";
import type { Plan } from "./plan.ts";
import { builderPrompt, CANCELLED_PART, candidatePrompt, executionPart, failurePart, judgePrompt, patchAppliedPart, patchesFailedPart, patchJudgePrompt, patchRefusedPart } from "./prompts.ts";
import { runRound, type CandidateOutcome, type JudgeOutcome, type RoundResult, type Spend } from "./round.ts";
import { comparePlans } from "./similarity.ts";
import { turnSummary, type MaxStatsStore, type TurnRecord } from "./stats.ts";
import type { Verdict } from "./verdict.ts";

export interface MaxChannels {
  plan: ResultChannel<Plan, unknown>;
  patch: ResultChannel<string, unknown>;
  verdict: ResultChannel<Verdict, number[]>;
}

export interface TurnDeps {
  context: FeatureContext;
  channels: MaxChannels;
  store: MaxStatsStore;
  /** Models set on the pack's agents in the user's config (read at start). */
  agentModels: { candidate?: string; judge?: string };
  log: Reporter;
  /** Changes held back because their checks failed: kept for `/max apply N` in this session. */
  holdBack(sessionId: string, held: HeldChanges): void;
}

/** The changes of one patch turn whose checks all failed, as the session keeps them for `/max apply N`. */
export interface HeldChanges {
  /** The working tree when the turn started: an apply is refused if it moved since. */
  fingerprint: string;
  at: string;
  changes: { index: number; diff: string; summary: string; checks: string; savedTo?: string }[];
}

/** "cancelled": the user aborted before a choice and the turn could not be answered locally: it should be stopped. */
export type TurnEnd = "done" | "cancelled";

/** Scouts, then the rest, then the judge, each bounded by the candidate timeout (patch mode: plus its checks). */
export function maxTurnBudgetMs(settings: FeatureContext["config"]["max"]): number {
  const checkBudget = (settings.checks?.length ?? 1) * settings.checkTimeoutMs;
  return 2 * (settings.candidateTimeoutMs + checkBudget) + settings.candidateTimeoutMs + 60_000;
}

export function createTurns(deps: TurnDeps) {
  const { context, channels, store, agentModels, log, holdBack } = deps;
  const { config, reporter, helpers, host } = context;
  const settings = config.max;
  const turnBudgetMs = maxTurnBudgetMs(settings);

  const modelFor = (configured: string | undefined, key: string, fallback: ModelRef | undefined): ModelRef | undefined => {
    if (!configured) return fallback;
    const parsed = parseModelRef(configured);
    if (parsed) return parsed;
    reporter.problem(`max:${key}`, `max.${key} "${configured.slice(0, 80)}" is not "provider/model"; using the session's model`);
    return fallback;
  };

  const readCheckpoint = (sessionId: string): string | undefined => context.services.checkpoint?.latest(sessionId)?.text;

  const sessionContext = async (sessionId: string): Promise<string> =>
    renderContext({
      checkpoint: readCheckpoint(sessionId),
      // An empty tree tells a candidate nothing; N+1 copies of "(no tasks)" would still be paid for.
      tasks: context.services.tasks?.summary(sessionId).count ? context.services.tasks.tree(sessionId) : undefined,
      messages: await host.messages(sessionId).catch(() => []),
      redact,
    });

  const spendOf = (outcome: HelperOutcome<unknown>): Spend => {
    const t = outcome.usage.tokens;
    return { tokens: t.input + t.output + t.reasoning + t.cacheRead + t.cacheWrite, cost: outcome.usage.cost, estimated: outcome.usage.estimated };
  };

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
      channel: channels.verdict,
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
          const outcome = await candidateRun(setup, index, abort, CANDIDATE_AGENT, channels.plan, prompt);
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

  const projectChecks = (): string[] => settings.checks ?? detectProjectChecks(host.directory);

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
            const outcome = await candidateRun(setup, index, abort, BUILDER_AGENT, channels.patch, prompt, { worktree: { dir: worktree.dir, projectDir: host.directory } });
            if (!outcome.ok) return failed(index, outcome, outcome.failure, outcome.message);
            if (abort.aborted) return failed(index, outcome, "aborted", "aborted");
            const diff = await context.worktrees.diff(worktree);
            if (!diff.trim()) return failed(index, outcome, "no-change", "it changed nothing");
            const results = checks.length ? await runChecks(checks, worktree.dir, settings.checkTimeoutMs, abort, context.sandbox()) : [];
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

  const settle = <R>(turn: UserTurn, mode: MaxMode, round: RoundResult<R>, timedOut: boolean): { stats: TurnRecord; winner?: NonNullable<RoundResult<R>["winner"]>; cancelled?: true; answered?: true } => {
    const stats = record(turn.sessionId, mode, round);
    if (round.aborted && !timedOut) {
      // Answered here, with no model call; only without the local report model does the model say it.
      const answered = turn.answerLocally?.("Cancelled.") ?? false;
      if (!answered) turn.addPart(CANCELLED_PART);
      reporter.notify(`Max Mode cancelled: ${stats.started} candidates stopped.`, "warning");
      return answered ? { stats, cancelled: true, answered: true } : { stats, cancelled: true };
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


  /**
   * No candidate passed the checks: nothing is applied, whatever the judge preferred. Every valid change is saved
   * (redacted, as a record) and kept in memory for `/max apply N`; the turn shows each with its check output.
   */
  const holdBackFailed = (turn: UserTurn, round: RoundResult<Patch>, fingerprint: string, checks: string[]) => {
    const dir = join(context.projectPaths.session(turn.sessionId), "max");
    const stamp = fileStamp();
    const perDiff = Math.max(2000, Math.floor(24_000 / Math.max(1, round.outcomes.length)));
    const changes: HeldChanges["changes"] = [];
    for (const outcome of round.outcomes) {
      if (!outcome.ok) continue;
      const patch = outcome.result;
      let savedTo: string | undefined = join(dir, `${stamp}-candidate-${outcome.index}.diff`);
      try {
        writeStoredFile(savedTo, patch.diff);
      } catch (error) {
        log.log("warn", `could not save candidate ${outcome.index}'s diff: ${errorText(error)}`);
        savedTo = undefined;
      }
      changes.push({ index: outcome.index, diff: patch.diff, summary: patch.summary, checks: checkText(patch.checks, checks), ...(savedTo ? { savedTo } : {}) });
    }
    holdBack(turn.sessionId, { fingerprint, at: new Date().toISOString(), changes });
    turn.addPart(patchesFailedPart({ total: settings.candidates, candidates: changes.map((c) => ({ ...c, diff: clipDiff(redact(c.diff), perDiff) })) }));
    reporter.notify(`Max Mode applied nothing: the checks failed on all ${changes.length} changes. /max apply N takes one anyway.`, "warning");
  };

  /** Runs the candidates (and the judge) of one turn, records it, and adds the outcome to the turn as one part. */
  const play = async (turn: UserTurn, task: string, mode: MaxMode, signal: AbortSignal, timedOut: () => boolean): Promise<TurnEnd> => {
    const setup: TurnSetup = {
      turn,
      task,
      contextText: await sessionContext(turn.sessionId),
      candidateModel: modelFor(settings.candidateModel ?? agentModels.candidate, "candidateModel", turn.model),
      judgeModel: modelFor(settings.judgeModel ?? agentModels.judge, "judgeModel", turn.model),
    };
    if (mode === "plan") {
      const round = await runPlanRound(setup, signal);
      const { stats, winner, cancelled, answered } = settle(turn, mode, round, timedOut());
      if (!winner) return cancelled && !answered ? "cancelled" : "done";
      turn.addPart(executionPart({ winner: winner.index, total: settings.candidates, why: why(round), plan: winner.result }));
      reporter.notify(turnSummary(stats), "info");
      return "done";
    }
    const checks = projectChecks();
    const fingerprint = await context.worktrees.fingerprint();
    const round = await runPatchRound(setup, checks, signal);
    const { stats, winner, cancelled, answered } = settle(turn, mode, round, timedOut());
    if (!winner || signal.aborted) return cancelled && !answered ? "cancelled" : "done";
    // chooseWinner prefers a passing candidate: a winner that failed means none passed.
    if (winner.result.passed === false) {
      holdBackFailed(turn, round, fingerprint, checks);
      return "done";
    }
    if (await applyWinner(turn, round, winner, fingerprint, checks)) reporter.notify(turnSummary(stats), "info");
    return "done";
  };

  return { play, budgetMs: turnBudgetMs };
}

/** One line per check for the judge and the main agent: command, pass/fail, and the output's end when it failed. */
function checkText(results: readonly CheckResult[], configured: readonly string[]): string {
  if (configured.length === 0) return "none configured or detected";
  if (results.length === 0) return "not run";
  return results
    .map((r) => `\`${r.command}\` ${r.passed ? "passed" : r.timedOut ? "timed out" : `failed (exit ${r.exitCode ?? "?"})`}${r.passed ? "" : `:\n${r.tail.slice(-800)}`}`)
    .join("\n");
}
