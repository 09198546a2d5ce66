// When the automatic learning dream may start: there is material (pending candidates), the last automatic run is
// at least `everyHours` old, and what automatic runs spent over the last 24 hours leaves room in the daily budget.
// Pure: the caller reads the times and the ledger.

export interface GateInput {
  now: number;
  pending: number;
  /** When the last automatic learning dream started (ms), undefined when none has. */
  lastAutoAt: number | undefined;
  everyHours: number;
  /** Tokens the automatic learning dreams spent in the last 24 hours (the ledger). */
  spentToday: number;
  dailyTokens: number;
  /** The per-run budget (dream.budgetTokens): an automatic run gets the smaller of it and what is left today. */
  runBudget: number;
}

export type Gate = { start: true; budget: number } | { start: false; why: string };

/** Below this many tokens left today, a run could not even read its prompt: wait for tomorrow. */
export const MIN_RUN_TOKENS = 2000;

export function learnGate(input: GateInput): Gate {
  if (input.pending === 0) return { start: false, why: "no candidates" };
  if (input.lastAutoAt !== undefined && input.now - input.lastAutoAt < input.everyHours * 3_600_000)
    return { start: false, why: `last automatic dream less than ${input.everyHours} h ago` };
  const left = input.dailyTokens - input.spentToday;
  if (left < MIN_RUN_TOKENS)
    return { start: false, why: `daily budget spent (${input.spentToday} of ${input.dailyTokens} tokens)` };
  return { start: true, budget: Math.min(input.runBudget, left) };
}

/** Tokens of the given runs started in the 24 hours before `now`. */
export function spentSince(runs: { startedAt: number; tokens: number }[], now: number): number {
  return runs.filter((r) => r.startedAt > now - 86_400_000).reduce((sum, r) => sum + r.tokens, 0);
}
