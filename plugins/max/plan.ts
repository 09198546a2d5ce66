// A candidate's plan: the shape max_plan accepts, the checks beyond the schema, and its rendering for the judge
// and for the user's turn. Host-neutral and pure.
import { z } from "zod";

export interface Plan {
  summary: string;
  steps: string[];
  files: string[];
  risks: string[];
  tests: string[];
}

export const PLAN_LIMITS = {
  summary: 2000,
  item: 1000,
  path: 400,
  steps: 40,
  files: 80,
  risks: 20,
  tests: 20,
} as const;

/** The arguments of max_plan (the host does not validate them; defineTool does, strictly). */
export const planArgs = {
  summary: z
    .string()
    .max(PLAN_LIMITS.summary)
    .describe("What the plan does and why this approach, in two or three sentences."),
  steps: z
    .array(z.string().max(PLAN_LIMITS.item))
    .max(PLAN_LIMITS.steps)
    .describe("Ordered, concrete steps another agent can carry out (file, function, command)."),
  files: z
    .array(z.string().max(PLAN_LIMITS.path))
    .max(PLAN_LIMITS.files)
    .describe("Project-relative paths the plan creates or changes."),
  risks: z
    .array(z.string().max(PLAN_LIMITS.item))
    .max(PLAN_LIMITS.risks)
    .describe("What could go wrong, and how the plan guards against it."),
  tests: z
    .array(z.string().max(PLAN_LIMITS.item))
    .max(PLAN_LIMITS.tests)
    .describe("How to prove it works: tests to add or commands to run."),
};

export type PlanArgs = z.infer<z.ZodObject<typeof planArgs>>;

/** Control characters (but newline and tab) are dropped; runs of spaces collapse; the ends are trimmed. */
export function cleanText(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200b\ufeff]/g, "")
    .replace(/[ \t]+/g, " ")
    .trim();
}

/** A project-relative path in one spelling: forward slashes, no "./", no doubled or trailing slash. */
export function normalizePath(path: string): string {
  let p = cleanText(path)
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/");
  while (p.startsWith("./")) p = p.slice(2);
  return p.replace(/\/$/, "");
}

export type PlanCheck = { ok: true; plan: Plan } | { ok: false; problems: string[] };

/** The rules the schema cannot state: no empty summary or step, paths inside the project, no duplicates. */
export function checkPlan(args: PlanArgs): PlanCheck {
  const problems: string[] = [];
  const summary = cleanText(args.summary);
  if (!summary) problems.push("summary: empty; say what the plan does");
  const steps = args.steps.map(cleanText);
  if (steps.length === 0) problems.push("steps: at least one step is needed");
  steps.forEach((step, i) => {
    if (!step) problems.push(`steps.${i}: empty step`);
  });
  const files: string[] = [];
  args.files.forEach((raw, i) => {
    const path = normalizePath(raw);
    if (!path) return problems.push(`files.${i}: empty path`);
    if (path.startsWith("/") || /^[a-zA-Z]:/.test(path))
      return problems.push(`files.${i}: "${path.slice(0, 80)}" is absolute; give it relative to the project`);
    if (path.split("/").includes(".."))
      return problems.push(`files.${i}: "${path.slice(0, 80)}" leaves the project ("..")`);
    if (!files.includes(path)) files.push(path);
  });
  if (problems.length) return { ok: false, problems };
  const list = (items: string[]) => items.map(cleanText).filter(Boolean);
  return { ok: true, plan: { summary, steps, files, risks: list(args.risks), tests: list(args.tests) } };
}

/**
 * The plan as markdown, in one fixed layout (the judge and the executing agent read the same text); compact on
 * purpose, since the judge reads N of these and the main agent one on every Max turn.
 */
export function renderPlan(plan: Plan): string {
  const lines = [`Summary: ${plan.summary}`, ...plan.steps.map((s, i) => `${i + 1}. ${s}`)];
  lines.push(`Files: ${plan.files.length ? plan.files.join(", ") : "(none named)"}`);
  if (plan.risks.length) lines.push(`Risks: ${plan.risks.join("; ")}`);
  if (plan.tests.length) lines.push(`Tests: ${plan.tests.join("; ")}`);
  return lines.join("\n");
}
