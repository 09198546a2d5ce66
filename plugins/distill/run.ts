// One /distill: mine the history index (pure code, miner.ts), drop what earlier runs or existing assets already
// cover, and only when something is left run the hidden distill agent, which writes assets only through
// distill_asset (validated, never overwriting) and ends with distill_report. --dry-run validates and lists the
// assets it would write, writing nothing. The record keeps the report with tokens and cost.
import { z } from "zod";
import { packAssetNames } from "../core/assets.ts";
import type { FeatureContext } from "../core/feature.ts";
import { parseModelRef, type ModelRef } from "../core/host-types.ts";
import { ToolInputError } from "../core/tool.ts";
import { globalConfigDir } from "../core/paths.ts";
import { errorText } from "../core/report.ts";
import { defineTool, type PackTool, type ToolCallContext } from "../core/tool.ts";
import { validateAsset, writeAsset, type PlannedAsset } from "./assets.ts";
import { historySteps } from "./history.ts";
import { inventory, type InventoryItem } from "./inventory.ts";
import { mineRequests, mineSequences, type RequestCandidate, type SequenceCandidate } from "./miner.ts";
import { distillPrompt } from "./prompt.ts";
import { runSpend, settledRecord } from "../core/helper-budget.ts";
import { addCreated, distillDir, readCovered, readCreated, readDistillRecord, saveCovered, saveDistillRecord, type DistillRecord, type ReportedCandidate } from "./records.ts";

export const DISTILL_AGENT = "distill";
export const DISTILL_ASSET_TOOL = "distill_asset";
export const DISTILL_REPORT_TOOL = "distill_report";

const candidateArgs = z.object({
  id: z.string().max(20).optional().describe("the mined candidate's id (c1, c2, …) when it came from the list"),
  name: z.string().min(1).max(80),
  evidence: z.string().min(1).max(600),
  sessions: z.array(z.string().min(1).max(64)).max(50),
  form: z.enum(["skill", "command", "agent", "none"]),
  action: z.enum(["created", "extended", "skipped", "none", "would-create", "would-extend"]),
});
const reportArgs = { candidates: z.array(candidateArgs).max(30).describe("every candidate considered, written or not") };

const assetArgs = {
  form: z.enum(["skill", "command", "agent"]),
  name: z.string().min(1).max(80).describe("lowercase words joined by hyphens; a skill's folder gets this name"),
  description: z.string().min(1).max(1024).describe("one sentence: when to use it"),
  body: z.string().min(1).max(20000).describe("the markdown instructions (no front matter)"),
  action: z.enum(["create", "extend"]).describe("extend appends to an asset /distill created, after a backup; one that is not /distill's gets a new asset <name>-distilled beside it"),
};

interface RunState {
  dryRun: boolean;
  /** `asked`: the name the agent gave (an extend of one of yours is written under another name, beside it). */
  written: { plan: PlannedAsset; backup?: string; asked: string }[];
  existing: InventoryItem[];
}

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

/** Names the pack's own agents and commands use: a distilled asset must not shadow them. */
const RESERVED = new Set([...packAssetNames(), "workflow", "continuum"]);

export function createDistiller(context: FeatureContext, now: () => Date = () => new Date()): Distiller {
  const settings = context.config.distill;
  const dir = distillDir(context.projectPaths.root);
  const projectDir = context.project.root;
  let active: RunState | undefined;

  const activeFor = (ctx: ToolCallContext) => (active && context.sessions.helperOf(ctx.sessionID)?.feature === "distill" ? active : undefined);

  const assetTool = defineTool(DISTILL_ASSET_TOOL, {
    description:
      "Write one asset into the project's .opencode/: a skill (.opencode/skills/<name>/SKILL.md), a command (.opencode/commands/<name>.md) or a subagent (.opencode/agents/<name>.md). " +
      "Validated before writing; an existing file is never overwritten (extend appends after a backup, and only to an asset /distill created; for any other it creates <name>-distilled beside it). In a dry run it only validates.",
    args: assetArgs,
    execute(args, ctx) {
      const state = activeFor(ctx);
      if (!state) throw new ToolInputError(`${DISTILL_ASSET_TOOL} belongs to a running /distill; it does nothing here.`);
      const taken = [...state.existing, ...state.written.map((w) => ({ form: w.plan.form, name: w.plan.name, description: "", path: w.plan.path, scope: "project" as const }))];
      const created = readCreated(dir);
      const checked = validateAsset(args, projectDir, taken, RESERVED, (path) => created.has(path));
      if (!checked.plan) throw new ToolInputError(`Not written:\n- ${checked.problems.join("\n- ")}`);
      const beside = checked.plan.besides ? ` beside ${checked.plan.besides}, which /distill did not create and never changes` : "";
      if (state.dryRun) {
        state.written.push({ plan: checked.plan, asked: args.name });
        return `Valid. Dry run: would ${checked.plan.action} ${checked.plan.path}${beside} (nothing written).`;
      }
      try {
        const { backup } = writeAsset(checked.plan, now());
        if (checked.plan.action === "create") addCreated(dir, checked.plan.path);
        state.written.push({ plan: checked.plan, backup, asked: args.name });
        return `${checked.plan.action === "create" ? "Created" : "Extended"} ${checked.plan.path}${beside}${backup ? ` (backup: ${backup})` : ""}.`;
      } catch (error) {
        throw new ToolInputError(`Not written: ${errorText(error)}`);
      }
    },
  });

  const channel = context.helpers.resultChannel(DISTILL_REPORT_TOOL, {
    description: "End the distill run: every candidate considered, with its evidence, sessions, the form chosen and what was done.",
    args: reportArgs,
    reserved: `${DISTILL_REPORT_TOOL} belongs to a running /distill; it does nothing here.`,
    accept(args, state: RunState) {
      const writtenNames = new Set(state.written.flatMap((w) => [w.plan.name, w.asked]));
      const problems = args.candidates
        .filter((c) => (c.action === "created" || c.action === "extended" || c.action.startsWith("would-")) && !writtenNames.has(c.name))
        .map((c) => `candidate "${c.name}" says ${c.action} but no asset of that name went through ${DISTILL_ASSET_TOOL}; report it as skipped or none`);
      if (problems.length) return { ok: false, problems };
      return { ok: true, value: args.candidates as ReportedCandidate[], reply: "Recorded. Reply with the single word done." };
    },
  });

  const finish = (record: DistillRecord): DistillRecord => {
    record.finishedAt = now().toISOString();
    try {
      saveDistillRecord(dir, record);
    } catch (error) {
      context.reporter.log("warn", `distill: could not save the record: ${errorText(error)}`);
    }
    return record;
  };

  const modelFor = (parentSessionId: string): ModelRef | undefined => parseModelRef(settings.model) ?? context.sessions.peek(parentSessionId)?.lastTurn.model;

  const run = async (request: DistillRequest, record: DistillRecord, sequences: (SequenceCandidate & { id: string })[], requests: (RequestCandidate & { id: string })[], existing: InventoryItem[]) => {
    const state: RunState = { dryRun: request.dryRun, written: [], existing };
    active = state;
    const outcome = await context.helpers
      .run({
        feature: "distill",
        agent: DISTILL_AGENT,
        parentSessionId: request.parentSessionId,
        title: `distill${request.dryRun ? " (dry run)" : ""}`,
        prompt: distillPrompt({ sequences, requests, inventory: existing, focus: request.focus, dryRun: request.dryRun, minSessions: settings.minSessions, windowDays: settings.windowDays }),
        channel,
        context: state,
        model: modelFor(request.parentSessionId),
        timeoutMs: settings.timeoutMs,
        retries: 1,
        reason: request.reason,
        // Known from the first call on, so a run whose OpenCode dies still names its helper run (and its spend).
        onStarted: (runId, childSessionId) => {
          try {
            saveDistillRecord(dir, { ...Object.assign(record, { runId, childSessionId }), pid: process.pid });
          } catch (error) {
            context.reporter.log("warn", `distill: could not save the running record: ${errorText(error)}`);
          }
        },
      })
      .finally(() => {
        if (active === state) active = undefined;
      });
    Object.assign(record, runSpend(outcome));
    // Whatever was written is reported, even when the run did not end cleanly.
    record.assets = state.written.map((w) => ({ path: w.plan.path, action: request.dryRun ? `would ${w.plan.action}` : w.plan.action === "create" ? "created" : "extended", ...(w.backup ? { backup: w.backup } : {}) }));
    if (!outcome.ok) {
      record.status = "failed";
      record.message = `Distill failed (${outcome.failure}): ${outcome.message}.${state.written.length && !request.dryRun ? " Assets written before the failure are listed below." : ""}`;
      return finish(record);
    }
    record.candidates = outcome.value;
    if (!request.dryRun) rememberCovered([...sequences, ...requests], outcome.value, state);
    record.status = request.dryRun ? "dry-run" : "done";
    const count = state.written.length;
    record.message = request.dryRun
      ? `Dry run: ${outcome.value.length} candidate(s) considered, ${count} asset(s) would be written; nothing was written.`
      : count
        ? `Distill wrote ${count} asset(s) from ${outcome.value.length} candidate(s).`
        : `Distill considered ${outcome.value.length} candidate(s) and created nothing (a valid outcome).`;
    return finish(record);
  };

  /** Candidates that went into an asset (or were judged covered by one) are not proposed again. */
  const rememberCovered = (sequences: { id: string; key: string }[], reported: ReportedCandidate[], state: RunState) => {
    const covered = readCovered(dir);
    for (const candidate of reported) {
      const mined = sequences.find((s) => s.id === candidate.id);
      const asset = state.written.find((w) => w.plan.name === candidate.name || w.asked === candidate.name) ?? undefined;
      if (mined && asset) covered[mined.key] = { path: asset.plan.path, at: now().toISOString() };
    }
    try {
      saveCovered(dir, covered);
    } catch (error) {
      context.reporter.log("warn", `distill: could not save what is covered: ${errorText(error)}`);
    }
  };

  const mine = (since: number) => {
    const steps = historySteps(context.db, context.project.id, since);
    const options = { minSessions: settings.minSessions };
    return { steps, sequences: mineSequences(steps, options), requests: mineRequests(steps, options) };
  };

  return {
    tools: { [DISTILL_ASSET_TOOL]: assetTool, [DISTILL_REPORT_TOOL]: channel.tool },
    start(request) {
      const record: DistillRecord = {
        status: "running",
        dryRun: request.dryRun,
        focus: request.focus,
        reason: request.reason,
        startedAt: now().toISOString(),
        message: "",
        mined: [],
        candidates: [],
        assets: [],
        tokens: { input: 0, output: 0, total: 0 },
        cost: 0,
        estimated: false,
      };
      if (active) return { started: false, record: { ...record, status: "busy", message: "A distill is already running in this OpenCode; /distill status shows it when it ends." } };
      const { steps, sequences, requests } = mine(now().getTime() - settings.windowDays * 86_400_000);
      if (!steps.length) {
        record.status = "empty";
        record.message = `No history in the last ${settings.windowDays} days: nothing to distill (no model call made).`;
        return { started: false, record: finish(record) };
      }
      const existing = inventory(globalConfigDir(), projectDir);
      const covered = readCovered(dir);
      const coveredBy = (s: SequenceCandidate) => {
        const earlier = covered[s.key];
        if (earlier && existing.some((e) => e.path === earlier.path)) return earlier.path;
        return existing.find((e) => e.name === s.suggestedName)?.path;
      };
      const numbered = sequences.map((s, i) => ({ ...s, id: `c${i + 1}` }));
      const kinds = requests.map((r, i) => ({ ...r, id: `r${i + 1}` }));
      const requestCovered = (r: RequestCandidate) => {
        const earlier = covered[r.key];
        return earlier && existing.some((e) => e.path === earlier.path) ? earlier.path : undefined;
      };
      record.mined = [
        ...numbered.map((s) => ({ id: s.id, key: s.key, sessions: s.sessions, occurrences: s.occurrences, ...(coveredBy(s) ? { covered: coveredBy(s) } : {}) })),
        ...kinds.map((r) => ({ id: r.id, key: `request: ${r.key}`, sessions: r.sessions, occurrences: r.occurrences, ...(requestCovered(r) ? { covered: requestCovered(r) } : {}) })),
      ];
      const open = numbered.filter((s) => !coveredBy(s));
      const openKinds = kinds.filter((r) => !requestCovered(r));
      // Recurring requests alone, with every workflow already distilled, are not worth a model call.
      if (!open.length) {
        record.status = "nothing-new";
        record.message = sequences.length
          ? `Every recurring workflow of the last ${settings.windowDays} days is already distilled: nothing new (no model call made).`
          : `No workflow recurred in ${settings.minSessions}+ sessions of the last ${settings.windowDays} days: nothing to distill (no model call made).`;
        return { started: false, record: finish(record) };
      }
      record.message = `Distill running over ${open.length} candidate workflow(s)…`;
      try {
        saveDistillRecord(dir, { ...record, pid: process.pid });
      } catch (error) {
        context.reporter.log("warn", `distill: could not save the running record: ${errorText(error)}`);
      }
      const done = run(request, record, open, openKinds, existing).catch((error) => {
        record.status = "failed";
        record.message = `Distill failed: ${errorText(error)}.`;
        return finish(record);
      });
      return { started: true, done };
    },
    last: () => settledRecord(readDistillRecord(dir, (message) => context.reporter.log("warn", `distill: ${message}`))),
    running: () => active !== undefined,
    sessionsSince: (since) => new Set(historySteps(context.db, context.project.id, since).map((s) => s.sessionId)).size,
  };
}
