// Runs workflow scripts: one sandbox per script (nested workflows get their own, sharing the run's budget),
// agent() calls through an AgentPort (the helper runner in OpenCode, a fake in tests), every finished result
// journaled before the script sees it, and resume replaying those results without a model call.
// Host-neutral: no OpenCode here. This file holds a run's lifecycle; the script's host API is in script-host.ts.
import { randomBytes } from "node:crypto";
import { errorText } from "../core/report.ts";
import { processAlive } from "../core/process-alive.ts";
import { checkArgs, settleWithin } from "./engine-util.ts";
import type { ActiveRun, EngineOptions, RunScope, StartedRun, StartRequest } from "./engine-types.ts";
import { projectFiles } from "./files.ts";
import type { RunRecord } from "./journal.ts";
import type { LoadedWorkflow } from "./loader.ts";
import { prepareResume } from "./resume.ts";
import { reportProgress, saveRun, transcribe } from "./run-record.ts";
import { SandboxError } from "./sandbox.ts";
import { runScript } from "./script-host.ts";

// Importers keep reaching the engine's shapes through engine.ts.
export type {
  AgentAnswer,
  AgentCall,
  AgentPort,
  EngineOptions,
  MergePort,
  ProgressKind,
  StartedRun,
  StartRequest,
  WorkflowLimits,
} from "./engine-types.ts";
export { MAX_AGENT_CALLS } from "./agent-call.ts";

const WIND_DOWN_MS = 10_000;

export class WorkflowEngine {
  private readonly active = new Map<string, ActiveRun>();
  private cancelPoll: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: EngineOptions) {}

  /** Starts a run; load problems (unknown name, bad meta) throw before anything is recorded. */
  start(request: StartRequest): StartedRun {
    const loaded = this.options.loader.load(request.target);
    checkArgs(request.args);
    const record: RunRecord = {
      id: this.options.store.newId(),
      name: loaded.meta.name,
      target: request.target,
      path: loaded.path,
      scriptHash: loaded.hash,
      args: request.args ?? null,
      seed: request.seed ?? randomBytes(4).readUInt32LE(0),
      parentSessionId: request.parentSessionId,
      status: "running",
      pid: process.pid,
      startedAt: Date.now(),
      agents: { started: 0, finished: 0, failed: 0, replayed: 0, running: 0 },
      tokens: 0,
      resumes: 0,
      transcript: [],
    };
    this.options.store.create(record);
    return this.launch(record, loaded, undefined, request.agent);
  }

  /** Re-runs an unfinished run, replaying its journaled agent results. */
  resume(runId: string, parentSessionId?: string, agent?: string): StartedRun {
    if (this.active.has(runId)) throw new Error(`run ${runId} is already running in this process`);
    const { record, loaded, journal, notice } = prepareResume(this.options, runId, parentSessionId);
    return { ...this.launch(record, loaded, journal, agent), notice };
  }

  cancel(runId: string, why = "cancelled"): boolean {
    const run = this.active.get(runId);
    if (!run) {
      const stored = this.options.store.load(runId);
      if (stored?.status === "running" && stored.pid !== process.pid && processAlive(stored.pid)) {
        this.options.store.requestCancel(runId);
        return true;
      }
      return false;
    }
    run.controller.abort(why);
    for (const sandbox of run.sandboxes) sandbox.stop(new SandboxError(`the run was ${why}`, "cancelled"));
    return true;
  }

  get(runId: string): RunRecord | undefined {
    return this.active.get(runId)?.record ?? this.options.store.load(runId);
  }

  list(): RunRecord[] {
    return this.options.store.list().map((r) => this.active.get(r.id)?.record ?? r);
  }

  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /** Resolves with the run when it ends, or with its current state after timeoutMs. */
  async wait(runId: string, timeoutMs?: number): Promise<RunRecord | undefined> {
    const run = this.active.get(runId);
    if (!run) return this.options.store.load(runId);
    if (timeoutMs === undefined) return run.done;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<RunRecord>((resolve) => (timer = setTimeout(() => resolve(run.record), timeoutMs)));
    try {
      return await Promise.race([run.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Cancels every run of this process (OpenCode is shutting down); their journals stay for resume. */
  async dispose(): Promise<void> {
    const runs = [...this.active.values()];
    for (const run of runs) this.cancel(run.record.id, "stopped because OpenCode exited");
    await Promise.allSettled(runs.map((r) => r.done));
    clearInterval(this.cancelPoll);
  }

  // ---- a run ---------------------------------------------------------------------------------------------------

  private launch(
    record: RunRecord,
    loaded: LoadedWorkflow,
    journal = this.options.store.journal(record.id),
    agent?: string,
  ): { record: RunRecord; done: Promise<RunRecord> } {
    const { limits, writePolicy } = this.options;
    const run: ActiveRun = {
      record,
      journal,
      budget: { activeMs: limits.activeMs, usedMs: 0, deadlineAt: Date.now() + limits.deadlineMs },
      controller: new AbortController(),
      sandboxes: new Set(),
      inflight: new Set(),
      files: projectFiles(this.options.projectDir, {
        dataDir: this.options.dataDir,
        policy: writePolicy && ((rel) => writePolicy(rel, agent)),
      }),
      done: undefined as never,
    };
    this.active.set(record.id, run);
    this.watchCancelRequests();
    reportProgress(this.scope(run), "started");
    run.done = this.execute(run, loaded);
    return { record, done: run.done };
  }

  private async execute(run: ActiveRun, loaded: LoadedWorkflow): Promise<RunRecord> {
    const { record } = run;
    let pastDeadline = false;
    const deadline = setTimeout(
      () => {
        pastDeadline = true;
        this.cancel(record.id, "stopped at its wall-clock deadline (workflow.deadlineMs)");
      },
      Math.max(0, run.budget.deadlineAt - Date.now()),
    );
    // Not unref()d: a run in progress is work the process must stay up for (dispose cancels it on exit).
    try {
      const place = { stack: [loaded.meta.name], prefix: "", seed: record.seed };
      const outcome = await runScript(this.scope(run), loaded, record.args, place);
      if (outcome.ok) {
        record.status = "done";
        record.result = outcome.value;
      } else {
        // A run stopped by its deadline failed; one stopped by a person (or OpenCode exiting) was cancelled.
        record.status = run.controller.signal.aborted && !pastDeadline ? "cancelled" : "failed";
        record.error = outcome.error;
        transcribe(run, "error", outcome.error);
      }
    } catch (error) {
      record.status = "failed";
      record.error = `the engine failed: ${errorText(error)}`;
    } finally {
      clearTimeout(deadline);
      if (run.inflight.size) {
        run.controller.abort("the script ended");
        await settleWithin([...run.inflight], WIND_DOWN_MS);
      }
      record.endedAt = Date.now();
      record.agents.running = 0;
      this.active.delete(record.id);
      saveRun(this.scope(run));
      reportProgress(this.scope(run), "finished");
    }
    return record;
  }

  private scope(run: ActiveRun): RunScope {
    return { options: this.options, run };
  }

  /** `continuum workflow cancel` runs in another process: it leaves a request file, looked at once a second. */
  private watchCancelRequests(): void {
    if (this.cancelPoll) return;
    this.cancelPoll = setInterval(() => {
      if (this.active.size === 0) {
        clearInterval(this.cancelPoll);
        this.cancelPoll = undefined;
        return;
      }
      for (const id of this.active.keys())
        if (this.options.store.takeCancelRequest(id)) this.cancel(id, "cancelled with continuum workflow cancel");
    }, 1000);
    (this.cancelPoll as { unref?: () => void }).unref?.();
  }
}
