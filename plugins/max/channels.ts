// The three ways a Max helper hands its result back: a candidate's plan, a builder's "my change is done", and the
// judge's verdict. Each is checked in code before it is accepted; a refusal tells the helper what to fix.
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import { PATCH_TOOL, PLAN_TOOL, VERDICT_TOOL } from "./names.ts";
import { checkPlan, cleanText, planArgs } from "./plan.ts";
import type { MaxChannels } from "./turn-kit.ts";
import { checkVerdict, verdictArgs } from "./verdict.ts";

export function createMaxChannels(helpers: FeatureContext["helpers"]): MaxChannels {
  const plan = helpers.resultChannel(PLAN_TOOL, {
    description:
      "Record your Max Mode plan, once: summary, ordered concrete steps, the project-relative files it touches, risks, and how to test it. Only a Max Mode candidate may call this.",
    args: planArgs,
    reserved: `${PLAN_TOOL} is reserved for Max Mode candidates; it does nothing here. Go on with your task.`,
    accept(args) {
      const checked = checkPlan(args);
      return checked.ok
        ? { ok: true, value: checked.plan, reply: "Plan recorded. You are done." }
        : { ok: false, problems: checked.problems };
    },
  });

  const verdict = helpers.resultChannel(VERDICT_TOOL, {
    description: "Record your verdict as the Max Mode judge, once.",
    args: verdictArgs,
    reserved: `${VERDICT_TOOL} is reserved for the Max Mode judge; it does nothing here. Go on with your task.`,
    accept(args, shown: number[]) {
      const checked = checkVerdict(args, shown);
      return checked.ok
        ? { ok: true, value: checked.verdict, reply: "Verdict recorded. You are done." }
        : { ok: false, problems: checked.problems };
    },
  });

  const patch = helpers.resultChannel(PATCH_TOOL, {
    description:
      "Record that your change in the worktree is complete, once, with a short summary of what you changed and why. Only a Max Mode builder may call this.",
    args: { summary: z.string().max(2000).describe("What you changed and why, in two or three sentences.") },
    reserved: `${PATCH_TOOL} is reserved for Max Mode builders; it does nothing here. Go on with your task.`,
    accept(args) {
      const summary = cleanText(args.summary);
      return summary
        ? { ok: true, value: summary, reply: "Recorded. You are done." }
        : { ok: false, problems: ["summary: empty; say what you changed"] };
    },
  });

  return { plan, patch, verdict };
}
