// Runs workflow scripts: one sandbox per script (nested workflows get their own, sharing the run's budget),
// agent() calls through an AgentPort (the helper runner in OpenCode, a fake in tests), every finished result
// journaled before the script sees it, and resume replaying those results without a model call.
// Host-neutral: no OpenCode here.
import { randomBytes } from "node:crypto";
import { errorText } from "../core/report.ts";
import { projectFiles } from "./files.ts";
import { type RunRecord, type TranscriptLine, TRANSCRIPT_KEPT } from "./journal.ts";
import type { LoadedWorkflow } from "./loader.ts";
import { Sandbox, SandboxError } from "./sandbox.ts";
import { compileSchema } from "./schema.ts";
import { processAlive } from "../core/process-alive.ts";
import { checkCall } from "./check-call.ts";
import { firstWords, hash, settleWithin } from "./engine-util.ts";
import type { ActiveRun, AgentAnswer, EngineOptions, ProgressKind, StartedRun, StartRequest } from "./engine-types.ts";

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

const MAX_DEPTH = 8;
/** Agents one run may start (replays not counted): a runaway loop must not open thousands of sessions. */
export const MAX_AGENT_CALLS = 2000;
const MAX_PROMPT_CHARS = 200_000;
const MAX_LOG_CHARS = 2000;
const AGENT_OPTIONS = new Set(["schema", "agent", "model", "label", "phase", "timeoutMs", "isolation"]);
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MODEL_REF = /^[^/\s]+\/\S+$/;

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
    const record = this.options.store.load(runId);
    if (!record)
      throw new Error(
        this.options.store.exists(runId)
          ? `the record of run ${runId} is damaged (${this.options.store.dir(runId)}/run.json); its journal is kept there`
          : `no workflow run ${runId}`,
      );
    if (record.status === "done")
      throw new Error(`run ${runId} already finished; its result is kept (workflow status)`);
    if (record.status === "running" && record.pid !== process.pid && processAlive(record.pid))
      throw new Error(`run ${runId} is still running in process ${record.pid}`);
    const loaded = this.options.loader.load(record.target);
    let notice: string | undefined;
    const journal = this.options.store.journal(runId);
    if (loaded.hash !== record.scriptHash) {
      notice = `the script ${record.target} changed since the run started: its journal (${journal.size} results) was dropped and the run starts fresh`;
      journal.reset();
      record.scriptHash = loaded.hash;
    }
    Object.assign(record, {
      status: "running",
      pid: process.pid,
      endedAt: undefined,
      error: undefined,
      result: undefined,
      parentSessionId: parentSessionId ?? record.parentSessionId,
    });
    record.agents = { started: 0, finished: 0, failed: 0, replayed: 0, running: 0 };
    record.checks = undefined; // counted afresh, like agents: finished checks show as replayed
    record.resumes++;
    const line = notice ?? `resumed with ${journal.size} journaled result(s)`;
    record.transcript.push({ at: Date.now(), kind: "notice", text: line });
    this.options.store.save(record);
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
    this.progress(run, "started");
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
      const outcome = await this.runScript(run, loaded, record.args, [loaded.meta.name], "", record.seed);
      if (outcome.ok) {
        record.status = "done";
        record.result = outcome.value;
      } else {
        // A run stopped by its deadline failed; one stopped by a person (or OpenCode exiting) was cancelled.
        record.status = run.controller.signal.aborted && !pastDeadline ? "cancelled" : "failed";
        record.error = outcome.error;
        this.transcribe(run, "error", outcome.error);
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
      this.save(run);
      this.progress(run, "finished");
    }
    return record;
  }

  private async runScript(
    run: ActiveRun,
    loaded: LoadedWorkflow,
    args: unknown,
    stack: string[],
    prefix: string,
    seed: number,
  ) {
    const { limits } = this.options;
    const sandbox = await Sandbox.create({
      memoryMiB: limits.memoryMiB,
      maxStackKiB: limits.maxStackKiB,
      sliceMs: limits.sliceMs,
      budget: run.budget,
    });
    run.sandboxes.add(sandbox);
    if (run.controller.signal.aborted)
      sandbox.stop(new SandboxError(`the run was ${String(run.controller.signal.reason ?? "cancelled")}`, "cancelled"));
    const occurrences = new Map<string, number>();
    const occurrence = (identity: string) => {
      const n = occurrences.get(identity) ?? 0;
      occurrences.set(identity, n + 1);
      return n;
    };
    const host = {
      agent: (prompt: unknown, opts: unknown) => this.agentCall(run, prefix, occurrence, prompt, opts),
      merge: (changes: unknown) => this.mergeCall(run, prefix, occurrence, changes),
      check: (command: unknown, opts: unknown) => this.checkStep(run, prefix, occurrence, command, opts),
      projectChecks: () => this.options.check?.detect() ?? [],
      workflow: (name: unknown, nestedArgs: unknown) =>
        this.nested(run, stack, prefix, occurrence, name, nestedArgs, seed),
      phase: (title: unknown) => {
        run.record.phase = String(title).slice(0, 200);
        this.transcribe(run, "phase", run.record.phase);
        this.save(run);
        this.progress(run, "phase");
      },
      log: (message: unknown) => this.transcribe(run, "log", String(message)),
      readFile: (path: unknown) => run.files.readFile(path),
      writeFile: (path: unknown, text: unknown) => run.files.writeFile(path, text),
      glob: (pattern: unknown) => run.files.glob(pattern),
      exists: (path: unknown) => run.files.exists(path),
    };
    try {
      return await sandbox.run(loaded.source, `${loaded.name}.js`, host, args, seed);
    } finally {
      run.sandboxes.delete(sandbox);
      sandbox.dispose();
    }
  }

  /** agent(prompt, opts): the journaled value, or a helper run; null on any failure, never a throw. */
  private async agentCall(
    run: ActiveRun,
    prefix: string,
    occurrence: (identity: string) => number,
    prompt: unknown,
    rawOpts: unknown,
  ): Promise<unknown> {
    const checked = this.checkAgentCall(prompt, rawOpts);
    if (!checked.ok) {
      this.transcribe(run, "error", `agent(): ${checked.problem}; it returned null`);
      return null;
    }
    const { opts } = checked;
    const agentName = opts.agent ?? this.options.defaultAgent ?? "general";
    const identity = hash(
      JSON.stringify([prefix, prompt, opts.schema ?? null, agentName, opts.model ?? null, opts.isolation ?? null]),
    );
    const key = `${prefix}${identity}#${occurrence(identity)}`;
    const label = opts.label ?? firstWords(prompt as string);
    const journaled = run.journal.get(key);
    if (journaled) {
      run.record.agents.replayed++;
      this.transcribe(run, "agent", `${label}: replayed from the journal`);
      return journaled.value;
    }
    const { record } = run;
    if (record.agents.started >= MAX_AGENT_CALLS) {
      this.transcribe(
        run,
        "error",
        `agent(): this run already started ${MAX_AGENT_CALLS} agents, the most one run may; it returned null`,
      );
      return null;
    }
    record.agents.started++;
    record.agents.running++;
    this.progress(run, "agent");
    const call = this.options.agents
      .run({
        runId: record.id,
        workflow: record.name,
        prompt: prompt as string,
        schema: opts.schema,
        agent: agentName,
        model: opts.model,
        label,
        phase: opts.phase ?? record.phase,
        timeoutMs: opts.timeoutMs ?? this.options.limits.agentTimeoutMs,
        isolation: opts.isolation,
        parentSessionId: record.parentSessionId,
        signal: run.controller.signal,
      })
      .catch((error): AgentAnswer => ({ ok: false, message: errorText(error), tokens: 0 }));
    run.inflight.add(call);
    const answer = await call.finally(() => run.inflight.delete(call));
    record.agents.running--;
    record.tokens += answer.tokens;
    if (answer.ok) {
      // Journaled before the script sees it: a crash after this line never repeats the call.
      if (!run.controller.signal.aborted) run.journal.put({ key, value: answer.value, label, at: Date.now() });
      record.agents.finished++;
      this.transcribe(run, "agent", `${label}: done`);
    } else {
      record.agents.failed++;
      this.transcribe(run, "agent", `${label}: failed (${answer.message}); agent() returned null`);
    }
    this.save(run);
    this.progress(run, "agent");
    return answer.ok ? answer.value : null;
  }

  private checkStep(
    run: ActiveRun,
    prefix: string,
    occurrence: (identity: string) => number,
    command: unknown,
    opts: unknown,
  ) {
    const step = checkCall(
      {
        prefix,
        occurrence,
        journal: run.journal,
        record: run.record,
        signal: run.controller.signal,
        port: this.options.check,
        transcribe: (kind, text) => this.transcribe(run, kind, text),
        save: () => this.save(run),
      },
      command,
      opts,
    );
    run.inflight.add(step);
    return step.finally(() => run.inflight.delete(step));
  }

  /**
   * merge(changes): a merge that went through is journaled like an agent's result, so a resumed run never applies
   * the same changes twice; one that stopped (a conflict) applied nothing and is tried again on resume.
   */
  private async mergeCall(
    run: ActiveRun,
    prefix: string,
    occurrence: (identity: string) => number,
    changes: unknown,
  ): Promise<unknown> {
    const identity = hash(JSON.stringify(["merge", prefix, changes ?? null]));
    const key = `${prefix}${identity}#${occurrence(identity)}`;
    const journaled = run.journal.get(key);
    if (journaled) {
      this.transcribe(run, "log", "merge: replayed from the journal (already applied)");
      return journaled.value;
    }
    if (!this.options.merge) {
      const reason = "merging needs the compose feature (compose.enabled is false)";
      this.transcribe(run, "error", `merge: ${reason}`);
      return { ok: false, merged: [], unchanged: [], kept: [], conflict: { reason, files: [] } };
    }
    if (run.controller.signal.aborted)
      return {
        ok: false,
        merged: [],
        unchanged: [],
        kept: [],
        conflict: { reason: "the run was cancelled", files: [] },
      };
    const report = await this.options.merge(changes).catch((error) => ({
      ok: false,
      merged: [],
      unchanged: [],
      kept: [],
      conflict: { reason: errorText(error), files: [] },
    }));
    if (report.ok) run.journal.put({ key, value: report, label: "merge", at: Date.now() });
    const conflict = report.conflict as { reason?: string; files?: string[] } | undefined;
    this.transcribe(
      run,
      "log",
      report.ok
        ? `merge: applied (${(report.merged as unknown[] | undefined)?.length ?? 0} change(s))`
        : `merge stopped: ${conflict?.reason ?? "unknown reason"}${conflict?.files?.length ? ` (files: ${conflict.files.join(", ")})` : ""}`,
    );
    this.save(run);
    return report;
  }

  private checkAgentCall(
    prompt: unknown,
    rawOpts: unknown,
  ): { ok: true; opts: AgentOptions } | { ok: false; problem: string } {
    if (typeof prompt !== "string" || !prompt.trim())
      return { ok: false, problem: "prompt must be a non-empty string" };
    if (prompt.length > MAX_PROMPT_CHARS)
      return { ok: false, problem: `prompt is longer than ${MAX_PROMPT_CHARS} characters` };
    if (rawOpts === null || rawOpts === undefined) return { ok: true, opts: {} };
    if (typeof rawOpts !== "object" || Array.isArray(rawOpts)) return { ok: false, problem: "opts must be an object" };
    const opts = rawOpts as Record<string, unknown>;
    const unknown = Object.keys(opts).filter((k) => !AGENT_OPTIONS.has(k));
    if (unknown.length)
      return {
        ok: false,
        problem: `unknown option(s) ${unknown.join(", ")} (known: ${[...AGENT_OPTIONS].join(", ")})`,
      };
    const text = (k: string, max = 200) =>
      opts[k] === undefined || (typeof opts[k] === "string" && (opts[k] as string).length <= max);
    if (!text("label") || !text("phase"))
      return { ok: false, problem: "label and phase must be strings of at most 200 characters" };
    if (opts.agent !== undefined && (typeof opts.agent !== "string" || !AGENT_NAME.test(opts.agent)))
      return { ok: false, problem: "agent must be an agent's name" };
    if (opts.model !== undefined && (typeof opts.model !== "string" || !MODEL_REF.test(opts.model)))
      return { ok: false, problem: 'model must be "provider/model"' };
    if (
      opts.timeoutMs !== undefined &&
      (typeof opts.timeoutMs !== "number" ||
        !Number.isInteger(opts.timeoutMs) ||
        opts.timeoutMs < 1000 ||
        opts.timeoutMs > 86_400_000)
    ) {
      return { ok: false, problem: "timeoutMs must be an integer from 1000 to 86400000" };
    }
    if (opts.isolation !== undefined && opts.isolation !== "worktree")
      return { ok: false, problem: 'isolation must be "worktree"' };
    if (opts.schema !== undefined) {
      const schema = compileSchema(opts.schema);
      if (!schema.ok) return { ok: false, problem: schema.problem };
    }
    return { ok: true, opts: opts as AgentOptions };
  }

  /** workflow(name, args): a nested script in its own sandbox, sharing the run's budget, journal and cancel. */
  private async nested(
    run: ActiveRun,
    stack: string[],
    prefix: string,
    occurrence: (identity: string) => number,
    name: unknown,
    args: unknown,
    seed: number,
  ): Promise<unknown> {
    if (typeof name !== "string" || !name.trim())
      throw new TypeError("workflow(name, args): name must be a workflow's name");
    if (stack.length >= MAX_DEPTH)
      throw new Error(`workflows nest at most ${MAX_DEPTH} deep (${[...stack, name].join(" → ")})`);
    checkArgs(args);
    const loaded = this.options.loader.load(name);
    if (stack.includes(loaded.meta.name))
      throw new Error(`workflow cycle: ${[...stack, loaded.meta.name].join(" → ")}`);
    const identity = hash(JSON.stringify([loaded.meta.name, args ?? null]));
    const nestedPrefix = `${prefix}${loaded.meta.name}:${identity}#${occurrence(`wf:${identity}`)}/`;
    this.transcribe(run, "log", `workflow ${loaded.meta.name} started (nested)`);
    const outcome = await this.runScript(
      run,
      loaded,
      args ?? null,
      [...stack, loaded.meta.name],
      nestedPrefix,
      (seed ^ parseInt(identity.slice(0, 8), 16)) >>> 0,
    );
    if (!outcome.ok) throw new Error(`workflow ${loaded.meta.name} failed: ${outcome.error}`);
    return outcome.value;
  }

  // ---- records and progress -------------------------------------------------------------------------------------

  private transcribe(run: ActiveRun, kind: TranscriptLine["kind"], text: string): void {
    // Kept bounded between saves too: a script logging in a loop must not grow the host's memory.
    if (run.record.transcript.length >= TRANSCRIPT_KEPT * 2) run.record.transcript.splice(0, TRANSCRIPT_KEPT);
    run.record.transcript.push({
      at: Date.now(),
      kind,
      text: text.length > MAX_LOG_CHARS ? text.slice(0, MAX_LOG_CHARS) + "…" : text,
    });
  }

  private save(run: ActiveRun): void {
    try {
      this.options.store.save(run.record);
    } catch (error) {
      this.options.log?.("warn", `workflow ${run.record.id}: could not save the run record: ${errorText(error)}`);
    }
  }

  private progress(run: ActiveRun, kind: ProgressKind): void {
    try {
      this.options.onProgress?.(run.record, kind);
    } catch (error) {
      this.options.log?.("warn", `workflow progress report failed: ${errorText(error)}`);
    }
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

interface AgentOptions {
  schema?: Record<string, unknown>;
  agent?: string;
  model?: string;
  label?: string;
  phase?: string;
  timeoutMs?: number;
  isolation?: "worktree";
}

const MAX_ARGS_CHARS = 1_000_000;
function checkArgs(args: unknown): void {
  if (args === undefined) return;
  let text: string | undefined;
  try {
    text = JSON.stringify(args);
  } catch (error) {
    throw new TypeError(`workflow args must be JSON: ${errorText(error)}`);
  }
  if (text !== undefined && text.length > MAX_ARGS_CHARS)
    throw new TypeError(`workflow args are longer than ${MAX_ARGS_CHARS} characters`);
}
