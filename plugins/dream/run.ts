// One dream, start to end: gather the window's material (none: say so, no model call), run the hidden dream agent
// through the helper runner on a draft of MEMORY.md, check the finished draft in code (limits, deletions, stale
// paths and names), then write it in one replacement through the memory service, or, for --dry-run, only report
// the diff. The report (with tokens and cost) is kept as the last record; the bytes before, as the undo journal.
import { duplicateIds, parseEntries } from "../core/memory-format.ts";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import type { FeatureContext, MemoryServices } from "../core/feature.ts";
import { parseModelRef, type ModelRef } from "../core/host-types.ts";
import { checkProjectPath, ProtectedPathError } from "../core/protected-paths.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import type { ToolCallContext } from "../core/tool.ts";
import { unifiedDiff } from "./diff.ts";
import { MemoryDraft } from "./draft.ts";
import { gatherSessions, renderSessions, type SessionMaterial } from "./inputs.ts";
import { deletions, limitProblems, lineCount, type DreamLimits } from "./limits.ts";
import { dreamPrompt } from "./prompt.ts";
import { acquireLock } from "../core/run-lock.ts";
import { DREAM_NOT_STARTED, dreamDir, formatRecord, markUndone, readRecord, readUndo, saveRecord, saveUndo, type DreamRecord } from "./records.ts";
import { DREAM_AGENT, DREAM_REPORT_TOOL, dreamMemoryTool, type ActiveDraft } from "./tool.ts";
import { missingMentions, projectView, UNVERIFIED } from "./verify.ts";
import { runSpend, settledRecord } from "../core/helper-budget.ts";

const item = z.string().min(1).max(600);
const reportArgs = {
  consolidated: z.array(item).max(100).describe("facts promoted or merged, each with its source sessions"),
  updated: z.array(item).max(100).describe("entries rewritten"),
  deleted: z.array(item).max(100).describe("entries removed, and why (superseded, single-session, stale)"),
  skipped: z.array(item).max(100).describe("candidates not promoted, and why"),
};
type DreamReport = DreamRecord["report"];

interface RunState extends ActiveDraft {
  runId?: string;
}

export interface DreamRequest {
  parentSessionId: string;
  focus: string;
  dryRun: boolean;
  reason: string;
  /** Only material newer than this counts (schedules). */
  since?: number;
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

export function createDreamer(context: FeatureContext, memory: MemoryServices, now: () => Date = () => new Date()): Dreamer {
  const settings = context.config.dream;
  const dir = dreamDir(context.projectPaths.root);
  const limits: DreamLimits = { maxLines: settings.maxLines, maxBytes: settings.maxBytes, maxDeleteFraction: settings.maxDeleteFraction };
  let active: RunState | undefined;
  const log = context.reporter.child("dream");

  const channel = context.helpers.resultChannel(DREAM_REPORT_TOOL, {
    description: "End the dream: what was consolidated, updated, deleted and skipped. Code then checks the draft (limits, deletions) and writes it.",
    args: reportArgs,
    reserved: `${DREAM_REPORT_TOOL} belongs to a running dream (/dream); it does nothing here.`,
    accept(args, state: RunState) {
      const problems = limitProblems(state.draft, state.limits);
      if (problems.length) return { ok: false, problems };
      return { ok: true, value: args as DreamReport, reply: "Dream recorded; code checks and writes it now. Reply with the single word done." };
    },
  });

  /** The run whose child session is calling: a dream helper session of this process while a dream runs. */
  const activeFor = (ctx: ToolCallContext) => (active && context.sessions.helperOf(ctx.sessionID)?.feature === "dream" ? active : undefined);

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

  const baseRecord = (request: DreamRequest, file: string): DreamRecord => ({
    pid: process.pid,
    status: "running",
    dryRun: request.dryRun,
    focus: request.focus,
    reason: request.reason,
    startedAt: now().toISOString(),
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
  });

  const finish = (record: DreamRecord): DreamRecord => {
    record.finishedAt = now().toISOString();
    try {
      saveRecord(dir, record);
    } catch (error) {
      log.log("warn", `could not save the dream record: ${errorText(error)}`);
    }
    return record;
  };

  const modelFor = (parentSessionId: string): ModelRef | undefined => parseModelRef(settings.model) ?? context.sessions.peek(parentSessionId)?.lastTurn.model;

  const run = async (request: DreamRequest, record: DreamRecord, sessions: SessionMaterial[]): Promise<DreamRecord> => {
    const { file, bytes, text: original } = memory.projectMemory();
    const draft = new MemoryDraft(original, now().toISOString().slice(0, 10), new Set(sessions.map((s) => s.sessionId)));
    const duplicates = duplicateIds(parseEntries(original)).map((d) => `${d.id}: ${d.entries.map((e) => `line ${e.line} as ${e.id}`).join(", ")}`);
    if (duplicates.length) record.duplicates = duplicates;
    const budgetChars = inputBudgetChars(settings.budgetTokens);
    const rendered = renderSessions(sessions, budgetChars);
    record.sessions = rendered.shown;
    const prompt = dreamPrompt({
      today: now().toISOString().slice(0, 10),
      windowDays: settings.windowDays,
      focus: request.focus,
      entries: draft.entries(),
      lines: lineCount(original),
      bytes: Buffer.byteLength(original),
      limits,
      sessionsText: rendered.text,
      sessionIds: rendered.shown,
      droppedSessions: rendered.dropped,
    });
    const state: RunState = { draft, limits };
    active = state;
    const outcome = await context.helpers
      .run({
        feature: "dream",
        agent: DREAM_AGENT,
        parentSessionId: request.parentSessionId,
        title: `dream${request.dryRun ? " (dry run)" : ""}`,
        prompt,
        channel,
        context: state,
        model: modelFor(request.parentSessionId),
        timeoutMs: settings.timeoutMs,
        retries: 1,
        retryPrompt: (problem) =>
          problem
            ? `Not recorded: ${problem}. Fix the draft with dream_memory (or undo your removals), then call ${DREAM_REPORT_TOOL} again.`
            : `You did not end the dream. Call ${DREAM_REPORT_TOOL} now.`,
        reason: request.reason,
        // Known from the first call on, so a run whose OpenCode dies still names its helper run (and its spend).
        onStarted: (runId, childSessionId) => saveRunning(() => saveRecord(dir, Object.assign(record, { runId, childSessionId })), context.reporter),
      })
      .finally(() => {
        if (active === state) active = undefined;
      });
    Object.assign(record, runSpend(outcome));
    if (!outcome.ok) {
      const refused = outcome.failure === "invalid-result";
      record.status = refused ? "refused" : "failed";
      record.problems = refused ? limitProblems(draft, limits) : [];
      record.message = refused
        ? "Dream refused: its result broke a limit; nothing was written."
        : `Dream failed (${outcome.failure}): ${outcome.message}. Nothing was written.`;
      return finish(record);
    }
    record.report = outcome.value;
    checkMentions(draft, record);
    // Marking adds text: the limits are checked again on what would really be written.
    const problems = limitProblems(draft, limits);
    if (problems.length) {
      record.status = "refused";
      record.problems = problems;
      record.message = "Dream refused: the result breaks a limit; nothing was written.";
      return finish(record);
    }
    const removed = deletions(draft);
    if (!draft.changed()) {
      record.status = "unchanged";
      record.message = "Dream finished: MEMORY.md needs no change.";
      return finish(record);
    }
    if (request.dryRun) {
      record.diff = unifiedDiff("MEMORY.md", original, draft.text);
      record.status = "dry-run";
      record.message = `Dry run: this is what the dream would change (${summary(draft, removed.removed, record.unverified.length)}); nothing was written.`;
      return finish(record);
    }
    const written = await memory.replaceFile(file, draft.text, original);
    if (!written.ok) {
      record.status = "conflict";
      record.message = `Dream not written: ${written.reason}.`;
      return finish(record);
    }
    // The diff is computed from what is on disk now against the kept previous version.
    const before = written.versionFile ? readText(written.versionFile) ?? original : "";
    record.diff = unifiedDiff("MEMORY.md", before, written.content);
    record.versionFile = written.versionFile;
    record.status = "written";
    record.message = `Dream written to MEMORY.md (${summary(draft, removed.removed, record.unverified.length)}).`;
    try {
      saveUndo(dir, { at: now().toISOString(), file, existed: bytes !== undefined, before: Buffer.from(bytes ?? new Uint8Array()).toString("base64"), afterSha256: createHash("sha256").update(Buffer.from(written.content, "utf8")).digest("hex"), runId: record.runId });
    } catch (error) {
      record.message += ` The undo journal could not be saved (${errorText(error)}); the previous version is still in ${written.versionFile ?? "the versions folder"}.`;
    }
    return finish(record);
  };

  /** Every path and code name an entry mentions is looked up in the project; what is gone is marked. */
  const checkMentions = (draft: MemoryDraft, record: DreamRecord) => {
    let view: ReturnType<typeof projectView> | undefined;
    for (const entry of draft.entries()) {
      if (entry.text.includes(UNVERIFIED)) continue;
      view ??= projectView(context.project.root);
      const missing = missingMentions(entry.text, view);
      if (!missing.length) continue;
      draft.annotate(entry.id, `${UNVERIFIED} (${missing.join(", ").slice(0, 120)} not found on ${now().toISOString().slice(0, 10)})`);
      record.unverified.push({ id: entry.id, text: entry.text.slice(0, 200), missing });
    }
  };

  return {
    tools: { dream_memory: dreamMemoryTool(activeFor), [DREAM_REPORT_TOOL]: channel.tool },
    start(request) {
      const record = baseRecord(request, memory.projectMemory().file);
      if (active) {
        return { started: false, record: { ...record, status: "busy", message: `A dream is already running in this OpenCode; ${DREAM_NOT_STARTED}. /dream status shows it when it ends.` } };
      }
      const linked = symlinkedMemory(record.file);
      if (linked) {
        record.status = "refused";
        record.problems = [linked];
        record.message = `Dream refused before any model call: ${linked}; nothing was read or written.`;
        return { started: false, record: finish(record) };
      }
      // Another OpenCode (a second `continuum dream`) may be dreaming over the same memory: one at a time.
      const lock = acquireLock(join(dir, "running.lock"), { pid: process.pid, startedAt: record.startedAt, what: request.reason });
      if (!lock.ok) {
        const { pid, startedAt, what } = lock.holder;
        return { started: false, record: { ...record, status: "busy", message: `A dream is already running in OpenCode process ${pid} (${what}, started ${startedAt}); ${DREAM_NOT_STARTED}. /dream status shows it when it ends.` } };
      }
      try {
        const current = memory.projectMemory();
        const unusable = unusableMemory(current, inputBudgetChars(settings.budgetTokens));
        if (unusable) {
          record.status = "refused";
          record.problems = [unusable];
          record.message = "Dream refused before any model call: MEMORY.md cannot be dreamed over as it is; nothing was written.";
          return { started: false, record: finish(record) };
        }
        const sessions = gather(request.since);
        if (!sessions.length) {
          record.status = "empty";
          record.message = `No session of the last ${settings.windowDays} days left notes, checkpoints, task progress or history: nothing to dream about (no model call made).`;
          return { started: false, record: finish(record) };
        }
        record.message = `Dream running over ${sessions.length} session(s)…`;
        record.sessions = sessions.map((s) => s.sessionId);
        saveRunning(() => saveRecord(dir, record), context.reporter);
        const done = run(request, record, sessions)
          .catch((error) => {
            record.status = "failed";
            record.message = `Dream failed: ${errorText(error)}. Nothing was written.`;
            return finish(record);
          })
          .finally(() => lock.release());
        return { started: true, done };
      } catch (error) {
        lock.release();
        throw error;
      } finally {
        // A run that did not start holds nothing; a started one releases when it ends.
        if (record.status !== "running") lock.release();
      }
    },
    materialSince: (since) => gather(since),
    undo: () => undoLastDream(dir, memory.restoreFile),
    last: () => settledRecord(readRecord(dir, (message) => log.log("warn", message))),
    running: () => active !== undefined,
  };
}

/** The "running" record written at the start (so /dream status shows it), best effort. */
function saveRunning(save: () => void, reporter: FeatureContext["reporter"]): void {
  try {
    save();
  } catch (error) {
    reporter.log("warn", `could not save the running record: ${errorText(error)}`);
  }
}

/** Characters of session material a run may send: half the token budget (4 characters a token), at most 240,000. */
function inputBudgetChars(budgetTokens: number): number {
  return Math.min(Math.floor(budgetTokens * 4 * 0.5), 240_000);
}

/**
 * Why MEMORY.md may not be read for a dream because it, or its folder, is a symlink (it could point out of the
 * project, to a file the dream would send to the model); undefined when neither is.
 */
function symlinkedMemory(file: string): string | undefined {
  const folder = dirname(file);
  try {
    checkProjectPath(dirname(folder), join(basename(folder), basename(file)), "read");
    return undefined;
  } catch (error) {
    return error instanceof ProtectedPathError ? `MEMORY.md is not read through a symlink (${error.message}); replace the link with the file itself` : undefined;
  }
}

/** Why MEMORY.md cannot go to a dream at all (not text, or far too big to show the agent), or undefined. */
function unusableMemory(current: { text: string; unreadable?: string }, budgetChars: number): string | undefined {
  if (current.unreadable) return `MEMORY.md is ${current.unreadable}; move it aside (a new one is started) and run the dream again`;
  if (current.text.length > budgetChars) {
    return `MEMORY.md is ${current.text.length} characters, more than a dream may show its agent (${budgetChars}, half of dream.budgetTokens); trim it with continuum memory forget or by hand first`;
  }
  return undefined;
}

/** Restores MEMORY.md as it was before the last dream that wrote it (the CLI and /dream undo). */
export async function undoLastDream(dir: string, restore: MemoryServices["restoreFile"]): Promise<{ ok: boolean; message: string }> {
  const read = readUndo(dir);
  if (!read.ok) return { ok: false, message: `Nothing to undo: ${read.reason}.` };
  const { journal } = read;
  const bytes = journal.existed ? Buffer.from(journal.before, "base64") : undefined;
  const restored = await restore(journal.file, bytes, journal.afterSha256);
  if (!restored.ok) return { ok: false, message: `Undo refused: ${restored.reason}. The version before the dream is kept in the versions folder next to it.` };
  markUndone(dir, journal);
  return { ok: true, message: `Restored ${journal.file} as it was before the dream of ${journal.at}${journal.existed ? "" : " (it did not exist, so it was removed)"}; the dream's version is kept in the versions folder.` };
}

function summary(draft: MemoryDraft, removed: number, marked: number): string {
  const c = draft.changes;
  return `${c.added.length} added, ${c.rewritten.length} rewritten, ${removed} removed, ${marked} marked ${UNVERIFIED}`;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export { formatRecord };
