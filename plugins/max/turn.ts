// One Max turn, both modes: the session's context for the candidates, the round (rounds.ts), how it ends
// (settle.ts), and in patch mode what happens to the winner (patch-result.ts). The feature module (index.ts) decides
// when a turn is a Max turn and owns the session state.
import type { FeatureContext, UserTurn } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import type { MaxMode } from "./args.ts";
import { renderContext } from "./context.ts";
import { modelFor } from "./helper-runs.ts";
import { applyWinner, holdBackFailed } from "./patch-result.ts";
import { executionPart } from "./prompts.ts";
import { projectChecks, runPatchRound, runPlanRound } from "./rounds.ts";
import { settle, why } from "./settle.ts";
import { turnSummary } from "./stats.ts";
import type { TurnDeps, TurnEnd, TurnKit, TurnSetup } from "./turn-kit.ts";

export type { HeldChanges, MaxChannels, TurnDeps, TurnEnd } from "./turn-kit.ts";

/** Scouts, then the rest, then the judge, each bounded by the candidate timeout (patch mode: plus its checks). */
export function maxTurnBudgetMs(settings: FeatureContext["config"]["max"]): number {
  const checkBudget = (settings.checks?.length ?? 1) * settings.checkTimeoutMs;
  return 2 * (settings.candidateTimeoutMs + checkBudget) + settings.candidateTimeoutMs + 60_000;
}

export function createTurns(deps: TurnDeps) {
  const { context, agentModels } = deps;
  const { config, reporter, host } = context;
  const settings = config.max;
  const turnBudgetMs = maxTurnBudgetMs(settings);
  const kit: TurnKit = { ...deps, settings, turnBudgetMs };

  const readCheckpoint = (sessionId: string): string | undefined =>
    context.services.checkpoint?.latest(sessionId)?.text;

  const sessionContext = async (sessionId: string): Promise<string> =>
    renderContext({
      checkpoint: readCheckpoint(sessionId),
      // An empty tree tells a candidate nothing; N+1 copies of "(no tasks)" would still be paid for.
      tasks: context.services.tasks?.summary(sessionId).count ? context.services.tasks.tree(sessionId) : undefined,
      messages: await host.messages(sessionId).catch(() => []),
      redact,
    });

  /** Plan mode: the winning plan goes to the main agent to carry out. */
  const playPlan = async (setup: TurnSetup, signal: AbortSignal, timedOut: () => boolean): Promise<TurnEnd> => {
    const round = await runPlanRound(kit, setup, signal);
    const { stats, winner, cancelled, answered } = settle(kit, setup.turn, "plan", round, timedOut());
    if (!winner) return cancelled && !answered ? "cancelled" : "done";
    setup.turn.addPart(
      executionPart({ winner: winner.index, total: settings.candidates, why: why(round), plan: winner.result }),
    );
    reporter.notify(turnSummary(stats), "info");
    return "done";
  };

  /** Patch mode: the winning change is applied by code, or, when none passed its checks, held back. */
  const playPatch = async (setup: TurnSetup, signal: AbortSignal, timedOut: () => boolean): Promise<TurnEnd> => {
    const checks = projectChecks(kit);
    const fingerprint = await context.worktrees.fingerprint();
    const round = await runPatchRound(kit, setup, checks, signal);
    const { stats, winner, cancelled, answered } = settle(kit, setup.turn, "patch", round, timedOut());
    if (!winner || signal.aborted) return cancelled && !answered ? "cancelled" : "done";
    // chooseWinner prefers a passing candidate: a winner that failed means none passed.
    if (winner.result.passed === false) {
      holdBackFailed(kit, setup.turn, round, fingerprint, checks);
      return "done";
    }
    if (await applyWinner(kit, setup.turn, winner, why(round), fingerprint, checks))
      reporter.notify(turnSummary(stats), "info");
    return "done";
  };

  /** Runs the candidates (and the judge) of one turn, records it, and adds the outcome to the turn as one part. */
  const play = async (
    turn: UserTurn,
    task: string,
    mode: MaxMode,
    signal: AbortSignal,
    timedOut: () => boolean,
  ): Promise<TurnEnd> => {
    const setup: TurnSetup = {
      turn,
      task,
      contextText: await sessionContext(turn.sessionId),
      candidateModel: modelFor(
        reporter,
        settings.candidateModel ?? agentModels.candidate,
        "candidateModel",
        turn.model,
      ),
      judgeModel: modelFor(reporter, settings.judgeModel ?? agentModels.judge, "judgeModel", turn.model),
    };
    return mode === "plan" ? playPlan(setup, signal, timedOut) : playPatch(setup, signal, timedOut);
  };

  return { play, budgetMs: turnBudgetMs };
}
