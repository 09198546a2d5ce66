// Patch mode's pure parts: what a patch candidate yields, when two diffs are "the same change", and which checks
// a project has. Running and finding the checks is in core/checks.ts.
import { jaccard } from "./similarity.ts";
import { detectChecks, type CheckResult } from "../core/checks.ts";

export type { CheckResult };

export interface Patch {
  summary: string;
  diff: string;
  files: string[];
  checks: CheckResult[];
  /** undefined when the project has no checks. */
  passed: boolean | undefined;
}

/** The changed lines of a diff ("+"/"-" lines, headers left out) with all whitespace removed; blank ones dropped. */
export function changedLines(diff: string): string[] {
  const out: string[] = [];
  for (const line of diff.split("\n")) {
    if (line.startsWith("+++ ") || line.startsWith("--- ")) continue;
    if (line[0] !== "+" && line[0] !== "-") continue;
    const squeezed = line[0] + line.slice(1).replace(/\s+/g, "");
    if (squeezed.length > 1) out.push(squeezed);
  }
  return out;
}

/** Files a diff touches, from its `diff --git` headers. */
export function diffFileList(diff: string): string[] {
  const files = new Set<string>();
  for (const line of diff.split("\n")) {
    const match = /^diff --git a\/(.+?) b\/(.+)$/.exec(line);
    if (match) files.add(match[2]!);
  }
  return [...files].sort();
}

/** Changed-line similarity at or above this, both passing their checks, counts as the same change. */
export const NEAR_IDENTICAL = 0.9;

/**
 * Two patches agree when they change the same files in the same way once whitespace is ignored, or when both
 * pass the checks and their changed lines are near-identical. A patch whose checks failed agrees with nothing: the
 * consensus exit must never let a failing change through without the others being tried.
 */
export function patchesAgree(a: Pick<Patch, "diff" | "passed">, b: Pick<Patch, "diff" | "passed">): boolean {
  if (a.passed === false || b.passed === false) return false;
  const filesA = diffFileList(a.diff);
  if (filesA.length === 0 || filesA.join("\n") !== diffFileList(b.diff).join("\n")) return false;
  const la = changedLines(a.diff);
  const lb = changedLines(b.diff);
  if (la.join("\n") === lb.join("\n")) return true;
  return a.passed === true && b.passed === true && jaccard(new Set(la), new Set(lb)) >= NEAR_IDENTICAL;
}

export { detectChecks };

/** A bounded view of a diff for the judge and the main agent. */
export function clipDiff(diff: string, maxChars: number): string {
  if (diff.length <= maxChars) return diff;
  return `${diff.slice(0, maxChars)}\n[… diff cut at ${maxChars} of ${diff.length} characters]`;
}
