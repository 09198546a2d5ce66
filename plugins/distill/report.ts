// How a /distill run ends: distill_report lists every candidate considered. A candidate said to be created or
// extended must have gone through distill_asset, so the report cannot claim a file that was never written.
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import type { ResultChannel } from "../core/helpers.ts";
import type { DistillRunState } from "./asset-tool.ts";
import { DISTILL_ASSET_TOOL, DISTILL_REPORT_TOOL } from "./names.ts";
import type { ReportedCandidate } from "./records.ts";

const candidateArgs = z.object({
  id: z.string().max(20).optional().describe("the mined candidate's id (c1, c2, …) when it came from the list"),
  name: z.string().min(1).max(80),
  evidence: z.string().min(1).max(600),
  sessions: z.array(z.string().min(1).max(64)).max(50),
  form: z.enum(["skill", "command", "agent", "none"]),
  action: z.enum(["created", "extended", "skipped", "none", "would-create", "would-extend"]),
});
const reportArgs = {
  candidates: z.array(candidateArgs).max(30).describe("every candidate considered, written or not"),
};

export function distillReportChannel(
  helpers: FeatureContext["helpers"],
): ResultChannel<ReportedCandidate[], DistillRunState> {
  return helpers.resultChannel(DISTILL_REPORT_TOOL, {
    description:
      "End the distill run: every candidate considered, with its evidence, sessions, the form chosen and what was done.",
    args: reportArgs,
    reserved: `${DISTILL_REPORT_TOOL} belongs to a running /distill; it does nothing here.`,
    accept(args, state: DistillRunState) {
      const writtenNames = new Set(state.written.flatMap((w) => [w.plan.name, w.asked]));
      const problems = args.candidates
        .filter(
          (c) =>
            (c.action === "created" || c.action === "extended" || c.action.startsWith("would-")) &&
            !writtenNames.has(c.name),
        )
        .map(
          (c) =>
            `candidate "${c.name}" says ${c.action} but no asset of that name went through ${DISTILL_ASSET_TOOL}; report it as skipped or none`,
        );
      if (problems.length) return { ok: false, problems };
      return {
        ok: true,
        value: args.candidates as ReportedCandidate[],
        reply: "Recorded. Reply with the single word done.",
      };
    },
  });
}
