// One /distill: mine the history index (candidates.ts), drop what earlier runs or existing assets already cover, and
// only when something is left run the hidden distill agent, which writes assets only through distill_asset
// (validated, never overwriting) and ends with distill_report. --dry-run validates and lists the assets it would
// write, writing nothing. The record keeps the report with tokens and cost. What is shared with dream (one run at a
// time, the model, the records) is core/helper-run.ts.
import type { FeatureContext } from "../core/feature.ts";
import { createHelperRun } from "../core/helper-run.ts";
import type { HelperOutcome } from "../core/helpers.ts";
import { errorText } from "../core/report.ts";
import type { PackTool } from "../core/tool.ts";
import { distillAssetTool, type DistillRunState } from "./asset-tool.ts";
import { mineCandidates, rememberCovered, type NumberedRequest, type NumberedSequence } from "./candidates.ts";
import { historySteps } from "./history.ts";
import type { InventoryItem } from "./inventory.ts";
import { DISTILL_AGENT, DISTILL_ASSET_TOOL, DISTILL_REPORT_TOOL } from "./names.ts";
import { distillPrompt } from "./prompt.ts";
import { distillDir, distillRecordSchema, type DistillRecord, type ReportedCandidate } from "./records.ts";
import { distillReportChannel } from "./report.ts";

export interface DistillRequest {
  parentSessionId: string;
  focus: string;
  dryRun: boolean;
  reason: string;
}

export type DistillStart = { started: false; record: DistillRecord } | { started: true; done: Promise<DistillRecord> };

export interface Distiller {
  readonly tools: Record<string, PackTool>;
  start(request: DistillRequest): DistillStart;
  last(): DistillRecord | undefined;
  running(): boolean;
  /** Sessions in the history since a time (schedules). */
  sessionsSince(since: number): number;
}

interface Work {
  open: NumberedSequence[];
  openRequests: NumberedRequest[];
  existing: InventoryItem[];
}

export function createDistiller(context: FeatureContext, now: () => Date = () => new Date()): Distiller {
  const settings = context.config.distill;
  const dir = distillDir(context.projectPaths.root);
  const projectDir = context.project.root;
  const runs = createHelperRun<DistillRunState, DistillRecord>(context, {
    feature: "distill",
    dir,
    schema: distillRecordSchema,
    model: settings.model,
    now,
  });
  const assetTool = distillAssetTool({ activeFor: runs.activeFor, dir, projectDir, now });
  const channel = distillReportChannel(context.helpers);
  const warn = (message: string) => context.reporter.log("warn", `distill: ${message}`);

  const run = async (request: DistillRequest, record: DistillRecord, work: Work): Promise<DistillRecord> => {
    const state: DistillRunState = { dryRun: request.dryRun, written: [], existing: work.existing };
    const { minSessions, windowDays } = settings;
    const outcome = await runs.run(record, state, {
      agent: DISTILL_AGENT,
      parentSessionId: request.parentSessionId,
      title: `distill${request.dryRun ? " (dry run)" : ""}`,
      prompt: distillPrompt({
        sequences: work.open,
        requests: work.openRequests,
        inventory: work.existing,
        focus: request.focus,
        dryRun: request.dryRun,
        minSessions,
        windowDays,
      }),
      channel,
      timeoutMs: settings.timeoutMs,
      reason: request.reason,
    });
    settle(request, record, outcome, state);
    if (outcome.ok && !request.dryRun)
      rememberCovered(
        dir,
        [...work.open, ...work.openRequests],
        outcome.value,
        state.written,
        now().toISOString(),
        warn,
      );
    return runs.finish(record);
  };

  const start = (request: DistillRequest): DistillStart => {
    const record = baseRecord(request, now());
    if (runs.running())
      return {
        started: false,
        record: {
          ...record,
          status: "busy",
          message: "A distill is already running in this OpenCode; /distill status shows it when it ends.",
        },
      };
    const mined = mineCandidates({
      db: context.db,
      projectId: context.project.id,
      projectDir,
      dir,
      since: now().getTime() - settings.windowDays * 86_400_000,
      minSessions: settings.minSessions,
    });
    if (mined.empty) {
      record.status = "empty";
      record.message = `No history in the last ${settings.windowDays} days: nothing to distill (no model call made).`;
      return { started: false, record: runs.finish(record) };
    }
    record.mined = mined.mined;
    // Recurring requests alone, with every workflow already distilled, are not worth a model call.
    if (!mined.open.length) {
      record.status = "nothing-new";
      record.message = mined.recurring
        ? `Every recurring workflow of the last ${settings.windowDays} days is already distilled: nothing new (no model call made).`
        : `No workflow recurred in ${settings.minSessions}+ sessions of the last ${settings.windowDays} days: nothing to distill (no model call made).`;
      return { started: false, record: runs.finish(record) };
    }
    record.message = `Distill running over ${mined.open.length} candidate workflow(s)…`;
    runs.saveRunning(record);
    const done = runs.launch(record, run(request, record, mined), (error) => `Distill failed: ${errorText(error)}.`);
    return { started: true, done };
  };

  return {
    tools: { [DISTILL_ASSET_TOOL]: assetTool, [DISTILL_REPORT_TOOL]: channel.tool },
    start,
    last: () => runs.last(),
    running: () => runs.running(),
    sessionsSince: (since) => new Set(historySteps(context.db, context.project.id, since).map((s) => s.sessionId)).size,
  };
}

function baseRecord(request: DistillRequest, startedAt: Date): DistillRecord {
  return {
    status: "running",
    dryRun: request.dryRun,
    focus: request.focus,
    reason: request.reason,
    startedAt: startedAt.toISOString(),
    message: "",
    mined: [],
    candidates: [],
    assets: [],
    tokens: { input: 0, output: 0, total: 0 },
    cost: 0,
    estimated: false,
  };
}

/** The record's status and message from the run's outcome; whatever was written is listed even when it failed. */
function settle(
  request: DistillRequest,
  record: DistillRecord,
  outcome: HelperOutcome<ReportedCandidate[]>,
  state: DistillRunState,
): void {
  record.assets = state.written.map((w) => ({
    path: w.plan.path,
    action: request.dryRun ? `would ${w.plan.action}` : w.plan.action === "create" ? "created" : "extended",
    ...(w.backup ? { backup: w.backup } : {}),
  }));
  if (!outcome.ok) {
    record.status = "failed";
    record.message = `Distill failed (${outcome.failure}): ${outcome.message}.${state.written.length && !request.dryRun ? " Assets written before the failure are listed below." : ""}`;
    return;
  }
  record.candidates = outcome.value;
  record.status = request.dryRun ? "dry-run" : "done";
  const count = state.written.length;
  const considered = outcome.value.length;
  if (request.dryRun)
    record.message = `Dry run: ${considered} candidate(s) considered, ${count} asset(s) would be written; nothing was written.`;
  else if (count) record.message = `Distill wrote ${count} asset(s) from ${considered} candidate(s).`;
  else record.message = `Distill considered ${considered} candidate(s) and created nothing (a valid outcome).`;
}
