// The texts Max Mode sends: a candidate's prompt, the judge's prompt, and the part added to the user's turn.
// Each starts with a fixed line so the scripted model of the tests (and a person reading a child session) can
// tell them apart. The task and the session context are data, fenced and labelled as such.
import type { Lens } from "./lenses.ts";
import { renderPlan, type Plan } from "./plan.ts";

export const MARK = "[continuum max]";

const fence = (label: string, text: string) =>
  `<${label}>\n${text.replace(new RegExp(`</${label}>`, "gi"), `</ ${label}>`)}\n</${label}>`;

export function candidatePrompt(input: {
  task: string;
  context: string;
  lens: Lens;
  index: number;
  total: number;
}): string {
  return [
    `Max Mode candidate ${input.index} of ${input.total} · approach: ${input.lens.name}`,
    `Your approach: ${input.lens.brief}`,
    "Other candidates plan the same task with other approaches; a judge compares the plans against the code. Read what you need (read, grep, glob), then record your plan with one call to max_plan.",
    fence("task", input.task),
    input.context ? fence("session-context", input.context) : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}

export function judgePrompt(input: { task: string; context: string; plans: { index: number; plan: Plan }[] }): string {
  return [
    `Max Mode judge · ${input.plans.length} candidate plans`,
    // The rubric and the output contract are in the judge's own prompt; repeating them here would be paid twice.
    fence("task", input.task),
    input.context ? fence("session-context", input.context) : "",
    ...input.plans.map((p) => fence(`candidate-${p.index}`, renderPlan(p.plan))),
  ]
    .filter(Boolean)
    .join("\n\n");
}

export interface Execution {
  winner: number;
  total: number;
  why: string;
  plan: Plan;
}

/** The one part added to the user's turn: which candidate, of how many, why, and the plan. */
export function executionPart(e: Execution): string {
  return [
    `${MARK} Max Mode chose the plan of candidate ${e.winner} of ${e.total} (${e.why}).`,
    "Carry out this plan with your tools. Where the code contradicts it, follow the code and say so.",
    renderPlan(e.plan),
  ].join("\n");
}

export function failurePart(reasons: string[], total: number): string {
  const shown = reasons.slice(0, 8).map((r) => `- ${r.slice(0, 300)}`);
  return [
    `${MARK} Max Mode produced no plan: all ${total} candidates failed. Work on the user's request directly, as a normal turn.`,
    ...shown,
  ].join("\n");
}

export const CANCELLED_PART = `${MARK} Max Mode was cancelled by the user before it chose a plan. Do nothing; reply only "Cancelled."`;

// ---- patch mode ----------------------------------------------------------------------------------------------

export function builderPrompt(input: {
  task: string;
  context: string;
  lens: Lens;
  index: number;
  total: number;
  checks: readonly string[];
}): string {
  return [
    `Max Mode builder ${input.index} of ${input.total} · approach: ${input.lens.name}`,
    `Your approach: ${input.lens.brief}`,
    `You work in your own copy of the project (a git worktree): make the change there with your tools. Other builders try other approaches; code then takes each builder's diff and runs the project's checks on it${input.checks.length ? ` (${input.checks.join("; ")})` : ""}, and a judge compares the results. When your change is complete, call max_patch once with a short summary.`,
    fence("task", input.task),
    input.context ? fence("session-context", input.context) : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}

export interface PatchView {
  index: number;
  summary: string;
  diff: string;
  checks: string;
}

export function patchJudgePrompt(input: { task: string; context: string; patches: PatchView[] }): string {
  return [
    `Max Mode judge · ${input.patches.length} candidate patches`,
    "Each candidate changed a copy of the project: you see its summary, its diff against the project as it was, and what the project's checks said when code ran them on it. Check results are facts: a failing check counts heavily against correct and tested.",
    fence("task", input.task),
    input.context ? fence("session-context", input.context) : "",
    ...input.patches.map((p) =>
      fence(`candidate-${p.index}`, `Summary: ${p.summary}\nChecks: ${p.checks}\nDiff:\n${p.diff}`),
    ),
  ]
    .filter(Boolean)
    .join("\n\n");
}

export function patchAppliedPart(input: {
  winner: number;
  total: number;
  why: string;
  files: string[];
  checks: string;
  summary: string;
}): string {
  return [
    `${MARK} Max Mode applied the change of candidate ${input.winner} of ${input.total} to the working tree (${input.why}).`,
    `Its summary: ${input.summary}`,
    `Files changed: ${input.files.join(", ") || "(none)"}`,
    `Checks on it: ${input.checks}`,
    "Review the change (git diff), finish whatever the task still needs, run the checks, and report. Do not apply it again.",
  ].join("\n");
}

export function patchRefusedPart(input: {
  winner: number;
  total: number;
  reason: string;
  conflicts: string[];
  savedTo: string;
}): string {
  return [
    `${MARK} Max Mode chose the change of candidate ${input.winner} of ${input.total} but did NOT apply it: ${input.reason}.`,
    input.conflicts.length ? `Files in conflict: ${input.conflicts.join(", ")}` : "",
    `The diff is saved at ${input.savedTo}. Tell the user; do not apply it without their word.`,
  ]
    .filter(Boolean)
    .join("\n");
}

export interface UnappliedView {
  index: number;
  summary: string;
  checks: string;
  diff: string;
  savedTo?: string;
}

/**
 * No candidate passed the project's checks: code applies none of them. Each diff is shown with what its checks
 * said, and only the user can still take one (`/max apply N`).
 */
export function patchesFailedPart(input: { total: number; candidates: UnappliedView[] }): string {
  return [
    `${MARK} Max Mode applied NOTHING: the project's checks failed on every candidate's change (${input.candidates.length} of ${input.total} produced one). A change whose checks failed is never applied by Max Mode on its own.`,
    "Show the user each candidate below: its summary, its check output and its diff (or where it is saved). Do not apply any of them yourself. The user may take one with `/max apply N` in this session (it is refused if the working tree changed since).",
    ...input.candidates.map((c) =>
      fence(
        `candidate-${c.index}`,
        [`Summary: ${c.summary}`, `Checks: ${c.checks}`, c.savedTo ? `Saved to: ${c.savedTo}` : "", `Diff:\n${c.diff}`]
          .filter(Boolean)
          .join("\n"),
      ),
    ),
  ].join("\n\n");
}
