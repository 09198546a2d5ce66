// How a dream ends: the agent calls dream_report with what it consolidated, updated, deleted and skipped. The call is
// refused while the draft breaks a limit, so the agent gets the chance to fix it before code looks at the result.
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import type { ResultChannel } from "../core/helpers.ts";
import { limitProblems } from "./limits.ts";
import type { DreamRecord } from "./records.ts";
import { DREAM_REPORT_TOOL, type ActiveDraft } from "./tool.ts";

const item = z.string().min(1).max(600);
const reportArgs = {
  consolidated: z.array(item).max(100).describe("facts promoted or merged, each with its source sessions"),
  updated: z.array(item).max(100).describe("entries rewritten"),
  deleted: z.array(item).max(100).describe("entries removed, and why (superseded, single-session, stale)"),
  skipped: z.array(item).max(100).describe("candidates not promoted, and why"),
};
export type DreamReport = DreamRecord["report"];

export function dreamReportChannel(helpers: FeatureContext["helpers"]): ResultChannel<DreamReport, ActiveDraft> {
  return helpers.resultChannel(DREAM_REPORT_TOOL, {
    description:
      "End the dream: what was consolidated, updated, deleted and skipped. Code then checks the draft (limits, deletions) and writes it.",
    args: reportArgs,
    reserved: `${DREAM_REPORT_TOOL} belongs to a running dream (/dream); it does nothing here.`,
    accept(args, state: ActiveDraft) {
      const problems = limitProblems(state.draft, state.limits);
      if (problems.length) return { ok: false, problems };
      return {
        ok: true,
        value: args as DreamReport,
        reply: "Dream recorded; code checks and writes it now. Reply with the single word done.",
      };
    },
  });
}

export function retryPrompt(problem: string | undefined): string {
  return problem
    ? `Not recorded: ${problem}. Fix the draft with dream_memory (or undo your removals), then call ${DREAM_REPORT_TOOL} again.`
    : `You did not end the dream. Call ${DREAM_REPORT_TOOL} now.`;
}
