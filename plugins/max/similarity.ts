// When do two plans "materially agree"? Same files (after normalising their spelling) and substantially the same
// steps. Steps are compared as sets of content words: each step of one plan is matched with its most similar step
// of the other (Jaccard of their words), and the mean over both directions is the step similarity. It ignores
// order, case, punctuation and filler words, so two scouts that say the same thing in different words still agree
// when the words that carry meaning (names, files, verbs) overlap. Pure; unit- and property-tested.
import { normalizePath, type Plan } from "./plan.ts";

/** Step similarity at or above this, with the same files, is agreement. */
export const STEP_AGREEMENT = 0.6;

const FILLER = new Set(
  "a an the and or but of to in on at by for with from into onto as is are be been being was were it its this that these those then than so such we you i they he she them our your their there here do does did done will would should could can may might must not no yes if else when which who what how all any each every some more most also just only very via per".split(
    " ",
  ),
);

/** The content words of a text: lowercase letters and digits, filler words and one-letter words dropped. */
export function contentWords(text: string): Set<string> {
  const words = text
    .toLowerCase()
    .normalize("NFKC")
    .split(/[^\p{L}\p{N}_]+/u);
  return new Set(words.filter((w) => w.length > 1 && !FILLER.has(w)).map(stem));
}

/** A light stemmer: "tests"/"testing"/"tested" meet at "test". */
function stem(word: string): string {
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (word.length > suffix.length + 2 && word.endsWith(suffix)) return word.slice(0, -suffix.length);
  }
  return word;
}

/** |A ∩ B| / |A ∪ B|; two empty sets are the same (1). */
export function jaccard<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

export function fileSimilarity(a: readonly string[], b: readonly string[]): number {
  return jaccard(new Set(a.map(normalizePath).filter(Boolean)), new Set(b.map(normalizePath).filter(Boolean)));
}

function meanBest(from: Set<string>[], to: Set<string>[]): number {
  if (from.length === 0) return to.length === 0 ? 1 : 0;
  let sum = 0;
  for (const step of from) sum += Math.max(0, ...to.map((other) => jaccard(step, other)));
  return sum / from.length;
}

export function stepSimilarity(a: readonly string[], b: readonly string[]): number {
  const wa = a.map(contentWords);
  const wb = b.map(contentWords);
  return (meanBest(wa, wb) + meanBest(wb, wa)) / 2;
}

export interface Agreement {
  files: number;
  steps: number;
  agree: boolean;
}

export function comparePlans(
  a: Pick<Plan, "files" | "steps">,
  b: Pick<Plan, "files" | "steps">,
  threshold = STEP_AGREEMENT,
): Agreement {
  const files = fileSimilarity(a.files, b.files);
  const steps = stepSimilarity(a.steps, b.steps);
  return { files, steps, agree: files === 1 && steps >= threshold };
}

/** The first pair (by candidate order) of plans that agree, or undefined. */
export function firstAgreeingPair<T extends { plan: Pick<Plan, "files" | "steps"> }>(
  items: readonly T[],
  threshold = STEP_AGREEMENT,
): [T, T, Agreement] | undefined {
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const agreement = comparePlans(items[i]!.plan, items[j]!.plan, threshold);
      if (agreement.agree) return [items[i]!, items[j]!, agreement];
    }
  }
  return undefined;
}
