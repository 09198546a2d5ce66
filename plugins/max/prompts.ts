// The texts Max Mode sends: a candidate's prompt, the judge's prompt, and the part added to the user's turn.
// Each starts with a fixed line so the scripted model of the tests (and a person reading a child session) can
// tell them apart. The task and the session context are data, fenced and labelled as such.
import type { Lens } from "./lenses.ts";
import { renderPlan, type Plan } from "./plan.ts";
import { RUBRIC } from "./verdict.ts";

export const MARK = "[continuum max]";

const fence = (label: string, text: string) => `<${label}>\n${text.replace(new RegExp(`</${label}>`, "gi"), `</ ${label}>`)}\n</${label}>`;

export function candidatePrompt(input: { task: string; context: string; lens: Lens; index: number; total: number }): string {
  return [
    `Max Mode candidate ${input.index} of ${input.total} · approach: ${input.lens.name}`,
    `Your approach: ${input.lens.brief}`,
    "Other candidates plan the same task with other approaches; a judge compares the plans against the code. Read what you need (read, grep, glob, list, read-only git), then record your plan with one call to max_plan.",
    fence("task", input.task),
    input.context ? fence("session-context", input.context) : "",
  ]
    .filter(Boolean)
    .join("\n\n");
}

export function judgePrompt(input: { task: string; context: string; plans: { index: number; plan: Plan }[] }): string {
  return [
    `Max Mode judge · ${input.plans.length} candidate plans`,
    `Score every candidate on each criterion from 0 to 5: ${RUBRIC.join(", ")}. Check claims against the code (read, grep) before trusting them. Then call max_verdict once with the winner, one score entry per candidate, and a short rationale.`,
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
  return [`${MARK} Max Mode produced no plan: all ${total} candidates failed. Work on the user's request directly, as a normal turn.`, ...shown].join("\n");
}

export const CANCELLED_PART = `${MARK} Max Mode was cancelled by the user before it chose a plan. Do nothing; reply only "Cancelled."`;
