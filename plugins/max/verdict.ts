// The judge's verdict (max_verdict), and choosing the winner from it. Code has the last word: an unusable
// verdict falls back to the best-scored, else the first valid candidate; in patch mode a candidate whose checks
// failed never beats one whose checks passed, whatever the judge says.
import { z } from "zod";

export const RUBRIC = ["correct", "grounded", "complete", "safe", "tested", "small"] as const;
export type Criterion = (typeof RUBRIC)[number];

// Whole numbers 0-5, stated once in the scores' description and checked in checkVerdict: six copies of the
// bounds in the schema would be paid on every judge request (zod's int() alone emits the safe-integer bounds).
const mark = z.number();

export const verdictArgs = {
  winner: z.number().describe("The number of the best candidate."),
  scores: z
    .array(
      z
        .object({
          candidate: z.number(),
          correct: mark,
          grounded: mark,
          complete: mark,
          safe: mark,
          tested: mark,
          small: mark,
        })
        .strict(),
    )
    .max(8)
    .describe("One per candidate shown; each criterion a whole number 0 (bad) to 5 (excellent)."),
  rationale: z.string().max(3000).describe("Why the winner beats the others."),
};

export type VerdictArgs = z.infer<z.ZodObject<typeof verdictArgs>>;

export interface Verdict {
  winner: number;
  scores: { candidate: number; total: number }[];
  rationale: string;
}

/** The verdict is about the candidates shown: every number must be one of them. */
export function checkVerdict(
  args: VerdictArgs,
  shown: readonly number[],
): { ok: true; verdict: Verdict } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const list = shown.join(", ");
  if (!shown.includes(args.winner))
    problems.push(`winner: ${args.winner} is not one of the candidates shown (${list})`);
  const seen = new Set<number>();
  for (const [i, s] of args.scores.entries()) {
    if (!shown.includes(s.candidate))
      problems.push(`scores.${i}.candidate: ${s.candidate} is not one of the candidates shown (${list})`);
    if (seen.has(s.candidate)) problems.push(`scores.${i}.candidate: candidate ${s.candidate} is scored twice`);
    for (const criterion of RUBRIC)
      if (!Number.isInteger(s[criterion]) || s[criterion] < 0 || s[criterion] > 5)
        problems.push(`scores.${i}.${criterion}: ${s[criterion]} is not a whole number from 0 to 5`);
    seen.add(s.candidate);
  }
  if (!args.rationale.trim()) problems.push("rationale: empty; say why the winner is best");
  if (problems.length) return { ok: false, problems };
  const scores = args.scores.map((s) => ({ candidate: s.candidate, total: RUBRIC.reduce((sum, c) => sum + s[c], 0) }));
  return { ok: true, verdict: { winner: args.winner, scores, rationale: args.rationale.trim() } };
}

export interface Contender {
  index: number;
  /** Patch mode: did the project's checks pass on it? undefined in plan mode. */
  passed?: boolean;
}

export type Choice = { index: number; how: "judge" | "scores" | "first" | "checks"; note?: string };

/**
 * The winner: the judge's pick when usable; else the best total score; else the first valid candidate. With
 * check results, only passing candidates can win when any passed.
 */
export function chooseWinner(
  contenders: readonly Contender[],
  verdict: Verdict | undefined,
  judgeProblem?: string,
): Choice | undefined {
  if (contenders.length === 0) return undefined;
  const anyPassed = contenders.some((c) => c.passed === true);
  const eligible = anyPassed ? contenders.filter((c) => c.passed === true) : [...contenders];
  const isEligible = (index: number) => eligible.some((c) => c.index === index);
  const bestScored = () => {
    const ranked = (verdict?.scores ?? [])
      .filter((s) => isEligible(s.candidate))
      .sort((a, b) => b.total - a.total || a.candidate - b.candidate);
    return ranked[0]?.candidate;
  };
  if (verdict && isEligible(verdict.winner)) return { index: verdict.winner, how: "judge" };
  if (verdict && anyPassed) {
    const scored = bestScored();
    const index = scored ?? eligible[0]!.index;
    return {
      index,
      how: "checks",
      note: `the judge preferred candidate ${verdict.winner}, whose checks failed; candidate ${index} passed them${scored ? " and scored best among those that did" : ""}`,
    };
  }
  const scored = bestScored();
  const why = judgeProblem ? `the judge gave no usable verdict (${judgeProblem})` : "the judge gave no usable verdict";
  if (scored !== undefined)
    return { index: scored, how: "scores", note: `${why}; the best-scored candidate was taken` };
  return { index: eligible[0]!.index, how: "first", note: `${why}; the first valid candidate was taken` };
}
