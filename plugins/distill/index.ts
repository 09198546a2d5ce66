// Host adapter of /distill: the command (run, --dry-run, status), the distill agent's tools, the opt-in schedule
// and the per-run token budget. The mining is in miner.ts, the run in run.ts, the rules in agents/distill.md.
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { watchBudget } from "../core/helper-budget.ts";
import { formatDistillRecord, type DistillRecord } from "./records.ts";
import { createDistiller, DISTILL_AGENT, DISTILL_ASSET_TOOL, DISTILL_REPORT_TOOL, type Distiller } from "./run.ts";

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

export type DistillCommand = { kind: "run"; dryRun: boolean; focus: string } | { kind: "status" } | { kind: "error"; message: string };

export function parseDistillArgs(raw: string): DistillCommand {
  const words = raw.trim().split(/\s+/).filter(Boolean);
  if (words.length === 1 && words[0] === "status") return { kind: "status" };
  const isDry = (w: string) => w === "--dry-run" || w === "--dryrun";
  const unknown = words.filter((w) => w.startsWith("--") && !isDry(w));
  if (unknown.length) return { kind: "error", message: `unknown option ${unknown[0]!.slice(0, 40)}; use /distill [--dry-run] [focus] or /distill status` };
  return { kind: "run", dryRun: words.some(isDry), focus: words.filter((w) => !isDry(w)).join(" ").slice(0, 500) };
}

function createDistill(context: FeatureContext): FeatureParts {
  const settings = context.config.distill;
  const distiller = createDistiller(context);
  const report = (text: string, variant?: "info" | "warning"): CommandReply => ({ kind: "report", text, ...(variant ? { variant } : {}) });
  watchBudget(context, "distill", settings.budgetTokens);
  const announce = (done: Promise<DistillRecord>) =>
    void done.then((record) => {
      const cost = record.runId ? ` (${record.tokens.total.toLocaleString("en-US")} tokens, $${record.cost.toFixed(4)})` : "";
      context.reporter.notify(`${record.message}${cost} /distill status shows the report.`, record.status === "failed" ? "warning" : "success");
    });
  if (settings.auto) scheduleDistill(context, distiller, announce);

  return {
    tools: distiller.tools,
    commands: {
      distill: ({ sessionId, arguments: args }) => {
        const command = parseDistillArgs(args);
        if (command.kind === "error") return report(`[continuum /distill] ${command.message}`, "warning");
        if (command.kind === "status") {
          const last = distiller.last();
          return report(last ? formatDistillRecord(last) : "[continuum /distill] No distill has run in this project yet. /distill starts one; /distill --dry-run lists what it would write.");
        }
        const started = distiller.start({ parentSessionId: sessionId, focus: command.focus, dryRun: command.dryRun, reason: command.dryRun ? "/distill --dry-run" : "/distill" });
        if (!started.started) return report(formatDistillRecord(started.record), started.record.status === "busy" ? "warning" : "info");
        announce(started.done);
        return report(
          `[continuum /distill${command.dryRun ? " --dry-run" : ""}] Distill started in the background (a hidden child session; your session goes on). A toast says when it ends; /distill status shows the report.`,
        );
      },
    },
  };
}

/** distill.auto: like dream.auto, every distill.intervalDays when at least two sessions are new since the last run. */
function scheduleDistill(context: FeatureContext, distiller: Distiller, announce: (done: Promise<DistillRecord>) => void): void {
  const settings = context.config.distill;
  context.sessions.on("distill", "session.created", (event) => {
    if (event.parentId || context.sessions.helperOf(event.sessionId) || distiller.running()) return;
    try {
      const last = distiller.last();
      const lastAt = Date.parse(last?.finishedAt ?? last?.startedAt ?? "") || 0;
      if (Date.now() - lastAt < settings.intervalDays * 86_400_000) return;
      if (distiller.sessionsSince(lastAt) < 2) return;
      const started = distiller.start({ parentSessionId: event.sessionId, focus: "", dryRun: false, reason: "scheduled (distill.auto)" });
      if (started.started) announce(started.done);
    } catch (error) {
      context.reporter.log("warn", `distill schedule: ${errorText(error)}`);
    }
  });
}
