// What the features that run one hidden helper agent in the background (dream, distill) share around the helper
// runner: one run at a time per process, its state reachable only from its own child session's tools, the model it
// runs on, the "running" record written as soon as the child exists, the final record, the toast when it ends, the
// opt-in schedule and the command's words. Each feature keeps only what differs: inputs, prompt, checks and output.
import type { z } from "zod";
import type { CommandReply, FeatureContext } from "./feature.ts";
import { runSpend, settledRecord } from "./helper-budget.ts";
import type { HelperOutcome, HelperRequest } from "./helpers.ts";
import { parseModelRef, type ModelRef } from "./host-types.ts";
import { errorText } from "./report.ts";
import { costSuffix, readRunRecord, saveRunRecord, type RunRecord } from "./run-records.ts";
import type { ToolCallContext } from "./tool.ts";

type RunContext = Pick<FeatureContext, "sessions" | "helpers" | "reporter">;

export interface HelperRunOptions<R> {
  feature: string;
  /** The feature's folder in the pack's data dir (its `last.json`). */
  dir: string;
  schema: z.ZodType<R>;
  /** The configured model ("provider/model"); without one, the model of the session that asked. */
  model: string | undefined;
  now: () => Date;
}

/** What `run` needs beyond what is the same for every run of the feature. */
export type RunRequest<T, S> = Omit<HelperRequest<T, S>, "feature" | "context" | "model" | "retries" | "onStarted">;

export interface HelperRun<S, R extends RunRecord> {
  /** The running run's state, for a tool called from that run's own child session; otherwise undefined. */
  activeFor(ctx: ToolCallContext): S | undefined;
  running(): boolean;
  /** Runs the helper agent with `state` active, and adds what it cost to `record`. */
  run<T>(record: R, state: S, request: RunRequest<T, S>): Promise<HelperOutcome<T>>;
  /** The "running" record (so status shows it), best effort. */
  saveRunning(record: R): void;
  /** Stamps the end and keeps the record as the last one (a failed save is logged, not thrown). */
  finish(record: R): R;
  /** Runs `work` in the background; an error it throws ends the record as failed with `failedMessage`. */
  launch(record: R, work: Promise<R>, failedMessage: (error: unknown) => string): Promise<R>;
  last(): R | undefined;
}

export function createHelperRun<S, R extends RunRecord>(
  context: RunContext,
  options: HelperRunOptions<R>,
): HelperRun<S, R> {
  const { feature, dir, schema, now } = options;
  const log = context.reporter.child(feature);
  let active: S | undefined;

  const modelFor = (parentSessionId: string): ModelRef | undefined =>
    parseModelRef(options.model) ?? context.sessions.peek(parentSessionId)?.lastTurn.model;

  const saveRunning = (record: R) => {
    try {
      saveRunRecord(dir, { ...record, pid: process.pid });
    } catch (error) {
      log.log("warn", `could not save the running record: ${errorText(error)}`);
    }
  };

  const finish = (record: R): R => {
    record.finishedAt = now().toISOString();
    try {
      saveRunRecord(dir, record);
    } catch (error) {
      log.log("warn", `could not save the ${feature} record: ${errorText(error)}`);
    }
    return record;
  };

  const run = async <T>(record: R, state: S, request: RunRequest<T, S>): Promise<HelperOutcome<T>> => {
    active = state;
    const outcome = await context.helpers
      .run<T, S>({
        ...request,
        feature,
        context: state,
        model: modelFor(request.parentSessionId),
        retries: 1,
        // Known from the first call on, so a run whose OpenCode dies still names its helper run (and its spend).
        onStarted: (runId, childSessionId) => saveRunning(Object.assign(record, { runId, childSessionId })),
      })
      .finally(() => {
        if (active === state) active = undefined;
      });
    Object.assign(record, runSpend(outcome));
    return outcome;
  };

  return {
    activeFor: (ctx) => (active && context.sessions.helperOf(ctx.sessionID)?.feature === feature ? active : undefined),
    running: () => active !== undefined,
    run,
    saveRunning,
    finish,
    launch: (record, work, failedMessage) =>
      work.catch((error) => {
        record.status = "failed";
        record.message = failedMessage(error);
        return finish(record);
      }),
    last: () => settledRecord(readRunRecord(dir, schema, (message) => log.log("warn", message))),
  };
}

/** The toast when a background run ends: its message, what it cost, and where the report is. */
export function announceRun<R extends RunRecord>(
  reporter: FeatureContext["reporter"],
  command: string,
  done: Promise<R>,
  succeeded: (record: R) => boolean,
): void {
  void done.then((record) =>
    reporter.notify(
      `${record.message}${costSuffix(record)} /${command} status shows the report.`,
      succeeded(record) ? "success" : "warning",
    ),
  );
}

export interface ScheduleOptions {
  intervalDays: number;
  running(): boolean;
  last(): RunRecord | undefined;
  /** Sessions with new material since a time. */
  sessionsSince(since: number): number;
  /** Starts a run for the session that just began, over material since `lastAt`. */
  start(parentSessionId: string, lastAt: number): void;
}

/**
 * `<feature>.auto`: at the start of a main session, when the last run is older than the interval and at least two
 * sessions have new material since, a run starts in the background. Never awaited: the session never waits.
 */
export function scheduleRuns(
  context: Pick<FeatureContext, "sessions" | "reporter">,
  feature: string,
  options: ScheduleOptions,
): void {
  context.sessions.on(feature, "session.created", (event) => {
    if (event.parentId || context.sessions.helperOf(event.sessionId) || options.running()) return;
    try {
      const last = options.last();
      const lastAt = Date.parse(last?.finishedAt ?? last?.startedAt ?? "") || 0;
      if (Date.now() - lastAt < options.intervalDays * 86_400_000) return;
      if (options.sessionsSince(lastAt) < 2) return;
      options.start(event.sessionId, lastAt);
    } catch (error) {
      context.reporter.log("warn", `${feature} schedule: ${errorText(error)}`);
    }
  });
}

export type RunCommand<V extends string> =
  | { kind: "run"; dryRun: boolean; focus: string }
  | { kind: V }
  | { kind: "error"; message: string };

const isDryRun = (word: string) => word === "--dry-run" || word === "--dryrun";

/** `[--dry-run] [focus…]` or one of `verbs` alone. Unknown --options are refused, not taken as focus. */
export function parseRunArgs<V extends string>(raw: string, verbs: readonly V[], usage: string): RunCommand<V> {
  const words = raw.trim().split(/\s+/).filter(Boolean);
  const verb = words.length === 1 ? verbs.find((v) => v === words[0]) : undefined;
  if (verb) return { kind: verb } as RunCommand<V>;
  const unknown = words.filter((w) => w.startsWith("--") && !isDryRun(w));
  if (unknown.length) return { kind: "error", message: `unknown option ${unknown[0]!.slice(0, 40)}; use ${usage}` };
  return {
    kind: "run",
    dryRun: words.some(isDryRun),
    focus: words
      .filter((w) => !isDryRun(w))
      .join(" ")
      .slice(0, 500),
  };
}

export function commandReport(text: string, variant?: "info" | "warning"): CommandReply {
  return { kind: "report", text, ...(variant ? { variant } : {}) };
}
