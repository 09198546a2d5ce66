// Host adapter of /dream: the command (run, --dry-run, status, undo), the dream agent's tools, the opt-in schedule,
// automatic learning (learn.ts, on by default) and the per-run token budget. The work itself is in run.ts; the
// rules the agent follows in agents/dream.md.
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import {
  announceRun,
  commandReport as report,
  parseRunArgs,
  scheduleRuns,
  type RunCommand,
} from "../core/helper-run.ts";
import { createDreamer, formatRecord, type Dreamer } from "./run.ts";
import { dreamDir, type DreamRecord } from "./records.ts";
import { createLearner, scheduleLearning } from "./learn.ts";
import { DREAM_AGENT, DREAM_MEMORY_TOOL, DREAM_REPORT_TOOL } from "./tool.ts";
import { watchBudget } from "../core/helper-budget.ts";

export const dreamFeature: FeatureModule = {
  name: "dream",
  needsDatabase: true,
  // Memory is used, not needed: without it /dream still answers, saying why it is off.
  uses: ["memory", "checkpoint"],
  assets: { agents: [DREAM_AGENT], commands: ["dream"] },
  internalTools: [
    { tool: DREAM_MEMORY_TOOL, agent: DREAM_AGENT },
    { tool: DREAM_REPORT_TOOL, agent: DREAM_AGENT },
  ],
  create: (context) => createDream(context),
};

export default dreamFeature;

export type DreamCommand = RunCommand<"status" | "undo">;

/** `/dream [--dry-run] [focus…]`, `/dream status`, `/dream undo`. Unknown --options are refused, not taken as focus. */
export function parseDreamArgs(raw: string): DreamCommand {
  return parseRunArgs(raw, ["status", "undo"], "/dream [--dry-run] [focus], /dream status or /dream undo");
}

const OK_STATUSES = new Set(["written", "dry-run", "unchanged", "empty"]);

function createDream(context: FeatureContext): FeatureParts {
  const memory = context.services.memory;
  if (!memory) {
    // A configuration choice, not a fault: said when /dream is used, not as an error at every start.
    context.reporter.log("info", "dream is off: it needs the memory feature (memory.enabled: true)");
    return {
      commands: {
        dream: () => ({
          kind: "report",
          text: "[continuum /dream] Dream is off here: it curates memory, and the memory feature is switched off (continuum.jsonc: memory.enabled: false).",
          variant: "warning",
        }),
      },
    };
  }
  const settings = context.config.dream;
  const dreamer = createDreamer(context, memory);
  watchBudget(context, "dream", settings.budgetTokens);

  const announce = (done: Promise<DreamRecord>) =>
    announceRun(
      context.reporter,
      "dream",
      done,
      (record) => record.status === "written" || record.status === "dry-run" || record.status === "unchanged",
    );

  if (settings.auto) scheduleDreams(context, dreamer, announce);
  // Automatic learning needs checkpoints to harvest: with the checkpoint feature off there is nothing to learn from.
  const checkpoints = context.services.checkpoint;
  if (settings.learn && checkpoints) {
    const dir = dreamDir(context.projectPaths.root);
    scheduleLearning(context, createLearner(context, dreamer, memory, checkpoints, dir, announce));
  }

  return {
    tools: dreamer.tools,
    ...(context.host.oneShot ? { commandTimeoutMs: settings.timeoutMs + 60_000 } : {}),
    commands: {
      dream: async ({ sessionId, arguments: args }) => {
        const command = parseDreamArgs(args);
        switch (command.kind) {
          case "error":
            return report(`[continuum /dream] ${command.message}`, "warning");
          case "status": {
            const last = dreamer.last();
            return report(
              last
                ? formatRecord(last)
                : "[continuum /dream] No dream has run in this project yet. /dream starts one; /dream --dry-run shows what it would change.",
            );
          }
          case "undo": {
            const undone = await dreamer.undo();
            return report(`[continuum /dream undo] ${undone.message}`, undone.ok ? undefined : "warning");
          }
          case "run": {
            const started = dreamer.start({
              parentSessionId: sessionId,
              focus: command.focus,
              dryRun: command.dryRun,
              reason: command.dryRun ? "/dream --dry-run" : "/dream",
            });
            if (!started.started)
              return report(formatRecord(started.record), started.record.status === "busy" ? "warning" : "info");
            // `opencode run` exits when this turn ends: the dream would be cut off, so the answer waits for it.
            if (context.host.oneShot) {
              const record = await started.done;
              return report(formatRecord(record), OK_STATUSES.has(record.status) ? "info" : "warning");
            }
            announce(started.done);
            return report(
              `[continuum /dream${command.dryRun ? " --dry-run" : ""}] Dream started in the background (a hidden child session; your session goes on). ${command.dryRun ? "Nothing will be written. " : ""}A toast says when it ends; /dream status shows the report and the diff.`,
            );
          }
        }
      },
    },
  };
}

/** dream.auto: a scheduled dream reads only the material newer than the last dream. */
function scheduleDreams(
  context: FeatureContext,
  dreamer: Dreamer,
  announce: (done: Promise<DreamRecord>) => void,
): void {
  // A scheduled dream runs in the background: a one-shot `opencode run` would cut it off at its first idle.
  if (context.host.oneShot) return;
  scheduleRuns(context, "dream", {
    intervalDays: context.config.dream.intervalDays,
    running: () => dreamer.running(),
    last: () => dreamer.last(),
    sessionsSince: (since) => dreamer.materialSince(since).length,
    start(parentSessionId, since) {
      const started = dreamer.start({
        parentSessionId,
        focus: "",
        dryRun: false,
        reason: "scheduled (dream.auto)",
        since,
      });
      if (started.started) announce(started.done);
    },
  });
}
