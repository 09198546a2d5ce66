// One dream, start to end: refuse what must not be read (preflight.ts), gather the window's material (none: say
// so, no model call), run the hidden dream agent on a draft of MEMORY.md (agent-run.ts), check the finished draft
// in code and write it in one replacement, or, for --dry-run, only report the diff (settle.ts). The report (with
// tokens and cost) is kept as the last record; the bytes before, as the undo journal. What is shared with distill
// (one run at a time, the model, the records) is core/helper-run.ts.
import { join } from "node:path";
import { createHelperRun } from "../core/helper-run.ts";
import type { FeatureContext, MemoryServices } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { acquireLock } from "../core/run-lock.ts";
import { dreamOnce, type DreamKit } from "./agent-run.ts";
import { gatherSessions, type SessionMaterial } from "./inputs.ts";
import type { DreamLimits } from "./limits.ts";
import { inputBudgetChars, symlinkedMemory, unusableMemory } from "./preflight.ts";
import { DREAM_NOT_STARTED, dreamDir, dreamRecordSchema, formatRecord, type DreamRecord } from "./records.ts";
import { dreamReportChannel } from "./report.ts";
import { DREAM_REPORT_TOOL, dreamMemoryTool, type ActiveDraft } from "./tool.ts";
import { undoLastDream } from "./undo.ts";

export interface DreamRequest {
  parentSessionId: string;
  focus: string;
  dryRun: boolean;
  reason: string;
  /** Only material newer than this counts (schedules). */
  since?: number;
  /** The material itself, instead of the window's sessions (automatic learning: the harvested candidates). */
  material?: SessionMaterial[];
}

export type DreamStart = { started: false; record: DreamRecord } | { started: true; done: Promise<DreamRecord> };

export interface Dreamer {
  readonly tools: Record<string, ReturnType<typeof dreamMemoryTool>>;
  /** Checks for material (synchronously), then runs in the background. */
  start(request: DreamRequest): DreamStart;
  /** Sessions with material since a time (schedules decide with it). */
  materialSince(since: number): SessionMaterial[];
  undo(): Promise<{ ok: boolean; message: string }>;
  last(): DreamRecord | undefined;
  running(): boolean;
}

export function createDreamer(
  context: FeatureContext,
  memory: MemoryServices,
  now: () => Date = () => new Date(),
): Dreamer {
  const settings = context.config.dream;
  const dir = dreamDir(context.projectPaths.root);
  const limits: DreamLimits = {
    maxLines: settings.maxLines,
    maxBytes: settings.maxBytes,
    maxDeleteFraction: settings.maxDeleteFraction,
  };
  const runs = createHelperRun<ActiveDraft, DreamRecord>(context, {
    feature: "dream",
    dir,
    schema: dreamRecordSchema,
    model: settings.model,
    now,
  });
  const channel = dreamReportChannel(context.helpers);
  const kit: DreamKit = { context, memory, now, dir, limits, runs, channel };

  const gather = (since?: number) =>
    gatherSessions({
      sessionsDir: context.projectPaths.sessions,
      db: context.db,
      projectId: context.project.id,
      windowDays: settings.windowDays,
      now: now().getTime(),
      redact,
      since,
      checkpoints: context.services.checkpoint,
    });

  /** A dream that cannot start says why in its record; `undefined` when it may go on. */
  const refusal = (record: DreamRecord, problem: string | undefined, message: string): DreamStart | undefined => {
    if (!problem) return undefined;
    record.status = "refused";
    record.problems = [problem];
    record.message = message;
    return { started: false, record: runs.finish(record) };
  };

  const start = (request: DreamRequest): DreamStart => {
    const record = baseRecord(request, memory.projectMemory().file, now());
    if (runs.running()) return busy(record, "in this OpenCode");
    const linked = symlinkedMemory(record.file);
    const refused = refusal(
      record,
      linked,
      `Dream refused before any model call: ${linked}; nothing was read or written.`,
    );
    if (refused) return refused;
    // Another OpenCode (a second `continuum dream`) may be dreaming over the same memory: one at a time.
    const lock = acquireLock(join(dir, "running.lock"), {
      pid: process.pid,
      startedAt: record.startedAt,
      what: request.reason,
    });
    if (!lock.ok) {
      const { pid, startedAt, what } = lock.holder;
      return busy(record, `in OpenCode process ${pid} (${what}, started ${startedAt})`);
    }
    try {
      const unusable = unusableMemory(memory.projectMemory(), inputBudgetChars(settings.budgetTokens));
      const cannot = refusal(
        record,
        unusable,
        "Dream refused before any model call: MEMORY.md cannot be dreamed over as it is; nothing was written.",
      );
      if (cannot) return cannot;
      const sessions = request.material ?? gather(request.since);
      if (!sessions.length) {
        record.status = "empty";
        record.message = `No session of the last ${settings.windowDays} days left notes, checkpoints, task progress or history: nothing to dream about (no model call made).`;
        return { started: false, record: runs.finish(record) };
      }
      record.message = `Dream running over ${sessions.length} session(s)…`;
      record.sessions = sessions.map((s) => s.sessionId);
      runs.saveRunning(record);
      const done = runs.launch(
        record,
        dreamOnce(kit, request, record, sessions),
        (error) => `Dream failed: ${errorText(error)}. Nothing was written.`,
      );
      return { started: true, done: done.finally(() => lock.release()) };
    } catch (error) {
      lock.release();
      throw error;
    } finally {
      // A run that did not start holds nothing; a started one releases when it ends.
      if (record.status !== "running") lock.release();
    }
  };

  return {
    tools: { dream_memory: dreamMemoryTool(runs.activeFor), [DREAM_REPORT_TOOL]: channel.tool },
    start,
    materialSince: (since) => gather(since),
    undo: () => undoLastDream(dir, memory.restoreFile),
    last: () => runs.last(),
    running: () => runs.running(),
  };
}

/** Not started: another dream runs `where`. The CLI reads DREAM_NOT_STARTED to tell that run is not its own. */
function busy(record: DreamRecord, where: string): DreamStart {
  const message = `A dream is already running ${where}; ${DREAM_NOT_STARTED}. /dream status shows it when it ends.`;
  return { started: false, record: { ...record, status: "busy", message } };
}

/** A new run's record, "running" until it ends. */
function baseRecord(request: DreamRequest, file: string, startedAt: Date): DreamRecord {
  return {
    pid: process.pid,
    status: "running",
    dryRun: request.dryRun,
    focus: request.focus,
    reason: request.reason,
    startedAt: startedAt.toISOString(),
    sessions: [],
    message: "",
    report: { consolidated: [], updated: [], deleted: [], skipped: [] },
    unverified: [],
    problems: [],
    diff: "",
    file,
    tokens: { input: 0, output: 0, total: 0 },
    cost: 0,
    estimated: false,
  };
}

export { formatRecord, undoLastDream };
