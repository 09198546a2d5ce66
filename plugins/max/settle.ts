// How a Max round ends, the same in both modes: its stats are recorded, then it is cancelled (the user stopped it),
// out of time or without a valid candidate (the turn runs normally, told why), or it has a winner for the mode to use.
import type { UserTurn } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import type { MaxMode } from "./args.ts";
import { CANCELLED_PART, failurePart } from "./prompts.ts";
import type { RoundResult } from "./round.ts";
import { turnSummary, type TurnRecord } from "./stats.ts";
import type { TurnKit } from "./turn-kit.ts";

export interface Settled<R> {
  stats: TurnRecord;
  winner?: NonNullable<RoundResult<R>["winner"]>;
  cancelled?: true;
  answered?: true;
}

/** Ends a round the same way in both modes: cancelled, nothing valid, or a winner (the mode adds its part). */
export function settle<R>(
  kit: TurnKit,
  turn: UserTurn,
  mode: MaxMode,
  round: RoundResult<R>,
  timedOut: boolean,
): Settled<R> {
  const { reporter } = kit.context;
  const stats = recordTurn(kit, turn.sessionId, mode, round);
  if (round.aborted && !timedOut) {
    // Answered here, with no model call; only without the local report model does the model say it.
    const answered = turn.answerLocally?.("Cancelled.") ?? false;
    if (!answered) turn.addPart(CANCELLED_PART);
    reporter.notify(`Max Mode cancelled: ${stats.started} candidates stopped.`, "warning");
    return answered ? { stats, cancelled: true, answered: true } : { stats, cancelled: true };
  }
  if (round.aborted || !round.winner) {
    const reasons = timedOut
      ? [`Max Mode ran out of its time (${Math.round(kit.turnBudgetMs / 1000)} s) before it chose`]
      : round.outcomes.map((o) =>
          o.ok ? `candidate ${o.index}: ok` : `candidate ${o.index}: ${o.failure}: ${o.message}`,
        );
    turn.addPart(failurePart(reasons, round.outcomes.length));
    reporter.notify(
      `Max Mode: ${timedOut ? "out of time" : `all ${round.outcomes.length} candidates failed`}; this turn runs normally. ${turnSummary(stats)}`,
      "warning",
    );
    return { stats };
  }
  return { stats, winner: round.winner };
}

/** Why the winner won, for the part the main agent reads. */
export function why<R>(round: RoundResult<R>): string {
  const winner = round.winner!;
  if (round.consensus)
    return `scouts ${round.consensus.indexes.join(" and ")} agreed, so the other candidates and the judge were skipped`;
  if (winner.how === "judge" && round.judge?.ok)
    return `the judge's pick: ${round.judge.verdict.rationale.slice(0, 600)}`;
  return winner.note ?? winner.how;
}

/** What the turn cost and how it ended, kept for `/max stats` (a failed save is a problem, not a failed turn). */
function recordTurn<R>(kit: TurnKit, sessionId: string, mode: MaxMode, round: RoundResult<R>): TurnRecord {
  const ran = round.outcomes;
  const candidateTokens = ran.reduce((s, o) => s + o.spend.tokens, 0);
  const judge = round.judge?.spend;
  const turn: TurnRecord = {
    at: new Date().toISOString(),
    mode,
    requested: kit.settings.candidates,
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
    kit.store.add(sessionId, turn);
  } catch (error) {
    kit.context.reporter.problem(
      "max:stats",
      `Max Mode could not save its stats for ${sessionId}: ${errorText(error)}`,
    );
  }
  return turn;
}
