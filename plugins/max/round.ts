// One Max round, independent of the host: start the scouts, stop early when two of them agree, otherwise start
// the rest and let the judge pick; code chooses the final winner (see verdict.ts). Candidates and the judge are
// functions given by the caller, so the round is unit-tested without OpenCode.
import { chooseWinner, type Choice, type Contender, type Verdict } from "./verdict.ts";

export interface Spend {
  tokens: number;
  cost: number;
  estimated: boolean;
}

export type CandidateOutcome<R> = { index: number; spend: Spend; durationMs: number } & (
  | { ok: true; result: R }
  | { ok: false; failure: string; message: string }
);

export type JudgeOutcome = { spend: Spend } & ({ ok: true; verdict: Verdict } | { ok: false; message: string });

export interface RoundSettings {
  candidates: number;
  scouts: number;
  consensus: "scouts" | "off";
}

export interface RoundDeps<R> {
  candidate(index: number, signal: AbortSignal): Promise<CandidateOutcome<R>>;
  judge(valid: { index: number; result: R }[], signal: AbortSignal): Promise<JudgeOutcome>;
  /** Do two results materially agree (consensus)? */
  agree(a: R, b: R): boolean;
  /** Patch mode: did the checks pass? */
  passed?(result: R): boolean | undefined;
  /** Progress for the user (scouts started, consensus, judge…). */
  progress?(message: string): void;
}

export interface RoundResult<R> {
  outcomes: CandidateOutcome<R>[];
  /** Candidates started (the consensus path starts only the scouts). */
  started: number;
  consensus?: { indexes: [number, number] };
  judge?: JudgeOutcome;
  winner?: Choice & { result: R };
  aborted: boolean;
}

/** Scouts make sense only with consensus on, at least two of them, and fewer than all candidates. */
export const usesScouts = (settings: RoundSettings): boolean =>
  settings.consensus === "scouts" && settings.scouts >= 2 && settings.scouts < settings.candidates;

export async function runRound<R>(
  settings: RoundSettings,
  deps: RoundDeps<R>,
  signal: AbortSignal,
): Promise<RoundResult<R>> {
  const total = settings.candidates;
  const useScouts = usesScouts(settings);
  const first = useScouts ? settings.scouts : total;
  const outcomes: CandidateOutcome<R>[] = [];
  const result = (extra: Partial<RoundResult<R>> = {}): RoundResult<R> => ({
    outcomes,
    started: outcomes.length,
    aborted: signal.aborted,
    ...extra,
  });
  const start = async (from: number, to: number) => {
    const batch = await Promise.all(range(from, to).map((index) => deps.candidate(index, signal)));
    outcomes.push(...batch);
  };
  const valid = () => outcomes.flatMap((o) => (o.ok ? [{ index: o.index, result: o.result }] : []));

  deps.progress?.(useScouts ? `${first} scouts of ${total} candidates started` : `${total} candidates started`);
  await start(1, first);
  if (signal.aborted) return result();
  if (useScouts) {
    const pair = firstPair(valid(), deps.agree);
    if (pair) {
      const [a, b] = pair;
      deps.progress?.(`scouts ${a.index} and ${b.index} agree: the other candidates and the judge are skipped`);
      return result({
        consensus: { indexes: [a.index, b.index] },
        winner: {
          index: a.index,
          how: "first",
          note: `consensus of scouts ${a.index} and ${b.index}`,
          result: a.result,
        },
      });
    }
    deps.progress?.(`scouts differ: starting candidates ${first + 1}-${total}`);
    await start(first + 1, total);
    if (signal.aborted) return result();
  }
  const ok = valid();
  if (ok.length === 0) return result();
  const contenders: Contender[] = ok.map((c) => ({ index: c.index, passed: deps.passed?.(c.result) }));
  const pick = (choice: Choice | undefined) =>
    choice ? { ...choice, result: ok.find((c) => c.index === choice.index)!.result } : undefined;
  if (ok.length === 1)
    return result({ winner: pick({ index: ok[0]!.index, how: "first", note: "the only valid candidate" }) });
  deps.progress?.(`judging ${ok.length} candidates`);
  const judge = await deps.judge(ok, signal);
  if (signal.aborted) return result({ judge });
  const choice = judge.ok
    ? chooseWinner(contenders, judge.verdict)
    : chooseWinner(contenders, undefined, judge.message);
  return result({ judge, winner: pick(choice) });
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

function firstPair<R>(items: { index: number; result: R }[], agree: (a: R, b: R) => boolean) {
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++)
      if (agree(items[i]!.result, items[j]!.result)) return [items[i]!, items[j]!] as const;
  }
  return undefined;
}
