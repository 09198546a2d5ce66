// Host adapter of /distill: the command (run, --dry-run, status), the distill agent's tools, the opt-in schedule
// and the per-run token budget. The mining is in miner.ts, the run in run.ts, the rules in agents/distill.md.
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import {
  announceRun,
  commandReport as report,
  parseRunArgs,
  scheduleRuns,
  type RunCommand,
} from "../core/helper-run.ts";
import { watchBudget } from "../core/helper-budget.ts";
import { formatDistillRecord, type DistillRecord } from "./records.ts";
import { DISTILL_AGENT, DISTILL_ASSET_TOOL, DISTILL_REPORT_TOOL } from "./names.ts";
import { createDistiller, type Distiller } from "./run.ts";

export const distillFeature: FeatureModule = {
  name: "distill",
  needsDatabase: true,
  assets: { agents: [DISTILL_AGENT], commands: ["distill"] },
  internalTools: [
    { tool: DISTILL_ASSET_TOOL, agent: DISTILL_AGENT },
    { tool: DISTILL_REPORT_TOOL, agent: DISTILL_AGENT },
  ],
  create: (context) => createDistill(context),
};

export default distillFeature;

export type DistillCommand = RunCommand<"status">;

export function parseDistillArgs(raw: string): DistillCommand {
  return parseRunArgs(raw, ["status"], "/distill [--dry-run] [focus] or /distill status");
}

function createDistill(context: FeatureContext): FeatureParts {
  const settings = context.config.distill;
  const distiller = createDistiller(context);
  watchBudget(context, "distill", settings.budgetTokens);
  const announce = (done: Promise<DistillRecord>) =>
    announceRun(context.reporter, "distill", done, (record) => record.status !== "failed");
  if (settings.auto) scheduleDistill(context, distiller, announce);

  return {
    tools: distiller.tools,
    commands: {
      distill: ({ sessionId, arguments: args }) => {
        const command = parseDistillArgs(args);
        if (command.kind === "error") return report(`[continuum /distill] ${command.message}`, "warning");
        if (command.kind === "status") {
          const last = distiller.last();
          return report(
            last
              ? formatDistillRecord(last)
              : "[continuum /distill] No distill has run in this project yet. /distill starts one; /distill --dry-run lists what it would write.",
          );
        }
        const started = distiller.start({
          parentSessionId: sessionId,
          focus: command.focus,
          dryRun: command.dryRun,
          reason: command.dryRun ? "/distill --dry-run" : "/distill",
        });
        if (!started.started)
          return report(formatDistillRecord(started.record), started.record.status === "busy" ? "warning" : "info");
        announce(started.done);
        return report(
          `[continuum /distill${command.dryRun ? " --dry-run" : ""}] Distill started in the background (a hidden child session; your session goes on). A toast says when it ends; /distill status shows the report.`,
        );
      },
    },
  };
}

/** distill.auto: like dream.auto, every distill.intervalDays when at least two sessions are new since the last run. */
function scheduleDistill(
  context: FeatureContext,
  distiller: Distiller,
  announce: (done: Promise<DistillRecord>) => void,
): void {
  scheduleRuns(context, "distill", {
    intervalDays: context.config.distill.intervalDays,
    running: () => distiller.running(),
    last: () => distiller.last(),
    sessionsSince: (since) => distiller.sessionsSince(since),
    start(parentSessionId) {
      const started = distiller.start({
        parentSessionId,
        focus: "",
        dryRun: false,
        reason: "scheduled (distill.auto)",
      });
      if (started.started) announce(started.done);
    },
  });
}
