// The QuickJS (WebAssembly) sandbox one workflow script runs in. The script sees only the functions the engine
// hands it (JSON in, JSON out): no Date, a seeded Math.random, no timers, fetch, process, require or imports.
// Limits: memory and stack (QuickJS's own), an active-time budget and a wall-clock deadline checked by the
// interrupt handler. Time spent waiting on host promises (agents) is not active time.
import {
  DefaultIntrinsics,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { cappedModule, MAX_HOST_CHARS } from "./quickjs-module.ts";
import { PRELUDE } from "./prelude.ts";

export { loadQuickJS, MAX_HOST_CHARS } from "./quickjs-module.ts";

/** Active time shared by a script and the workflows it nests. */
export interface Budget {
  activeMs: number;
  usedMs: number;
  deadlineAt: number;
}

export interface SandboxLimits {
  memoryMiB: number;
  maxStackKiB: number;
  /** Longest stretch of computing without awaiting (the script runs on the host's thread). */
  sliceMs: number;
  budget: Budget;
}

/** A host function: JSON-able arguments in, a JSON-able value (or a promise of one) out. A thrown Error reaches the script. */
export type HostFunction = (...args: unknown[]) => unknown;

export type SandboxOutcome = { ok: true; value: unknown } | { ok: false; error: string; kind: SandboxErrorKind };
export type SandboxErrorKind =
  | "syntax"
  | "shape"
  | "thrown"
  | "active-time"
  | "deadline"
  | "memory"
  | "stack"
  | "result"
  | "cancelled";

export class SandboxError extends Error {
  constructor(
    message: string,
    readonly kind: SandboxErrorKind,
  ) {
    super(message);
  }
}

const MAX_ERROR_CHARS = 2000;

export class Sandbox {
  private readonly runtime: QuickJSRuntime;
  private readonly vm: QuickJSContext;
  private enteredAt: number | undefined;
  private stopped: SandboxError | undefined;
  private wake: (() => void) | undefined;
  private pendingHostCalls = 0;
  /** Promises handed to the script and not yet settled: freed on dispose, or QuickJS aborts on leaked objects. */
  private readonly deferreds = new Set<{ dispose(): void; alive: boolean }>();
  private disposed = false;
  private readonly now: () => number;

  private constructor(
    module: QuickJSWASMModule,
    private readonly limits: SandboxLimits,
    now: () => number,
  ) {
    this.now = now;
    this.runtime = module.newRuntime();
    this.runtime.setMemoryLimit(limits.memoryMiB * 1024 * 1024);
    this.runtime.setMaxStackSize(limits.maxStackKiB * 1024);
    this.runtime.setInterruptHandler(() => this.shouldInterrupt());
    this.vm = this.runtime.newContext({ intrinsics: { ...DefaultIntrinsics, Date: false } });
  }

  static async create(limits: SandboxLimits, now: () => number = performance.now.bind(performance)): Promise<Sandbox> {
    let sandbox: Sandbox | undefined;
    const module = await cappedModule(limits.memoryMiB, () => sandbox?.shouldInterrupt() ?? false);
    sandbox = new Sandbox(module, limits, now);
    return sandbox;
  }

  /** Stops the script at its next instruction or host wait (cancel, deadline); the run then ends with this error. */
  stop(error: SandboxError): void {
    this.stopped ??= error;
    this.wake?.();
  }

  /**
   * Installs the host functions and the prelude (agent, parallel, pipeline, dag, …), evaluates the module and runs
   * its default export with args. Resolves with its JSON-serialisable result; never throws.
   */
  async run(
    source: string,
    filename: string,
    host: Record<string, HostFunction>,
    args: unknown,
    seed: number,
  ): Promise<SandboxOutcome> {
    try {
      this.installHost(host, seed);
      const exported = this.evaluateModule(source, filename);
      const main = this.vm.getProp(exported, "default");
      exported.dispose();
      if (this.vm.typeof(main) !== "function") {
        main.dispose();
        throw new SandboxError(
          `${filename} has no default export function (export default async function (args) { … })`,
          "shape",
        );
      }
      const runner = this.vm.getProp(this.vm.global, "__continuumRun");
      const argsHandle = this.jsonToHandle(args ?? null);
      const promise = this.active(() => this.vm.callFunction(runner, this.vm.undefined, main, argsHandle));
      runner.dispose();
      main.dispose();
      argsHandle.dispose();
      const resultText = await this.settle(this.unwrap(promise, filename), filename);
      return { ok: true, value: resultText === undefined ? null : JSON.parse(resultText) };
    } catch (error) {
      if (error instanceof SandboxError) return { ok: false, error: error.message, kind: error.kind };
      return {
        ok: false,
        error: `the sandbox failed: ${error instanceof Error ? error.message : String(error)}`,
        kind: "thrown",
      };
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const deferred of this.deferreds) if (deferred.alive) deferred.dispose();
    this.deferreds.clear();
    try {
      this.vm.dispose();
      this.runtime.dispose();
    } catch {
      // A leaked handle makes QuickJS abort: harmless here, the module is this sandbox's own and is dropped with it.
    }
  }

  // ---- limits ------------------------------------------------------------------------------------------------

  private shouldInterrupt(): boolean {
    if (this.stopped) return true;
    const { budget } = this.limits;
    const now = this.now();
    const used = budget.usedMs + (this.enteredAt === undefined ? 0 : now - this.enteredAt);
    if (used > budget.activeMs) {
      this.stopped = new SandboxError(
        `the script ran for more than ${budget.activeMs} ms of active time (workflow.activeMs), an endless loop?`,
        "active-time",
      );
      return true;
    }
    if (this.enteredAt !== undefined && now - this.enteredAt > this.limits.sliceMs) {
      this.stopped = new SandboxError(
        `the script computed for more than ${this.limits.sliceMs} ms without awaiting (workflow.sliceMs), an endless loop? Scripts run on OpenCode's own thread`,
        "active-time",
      );
      return true;
    }
    if (Date.now() > budget.deadlineAt) {
      this.stopped = new SandboxError(`the run passed its wall-clock deadline (workflow.deadlineMs)`, "deadline");
      return true;
    }
    return false;
  }

  /** Runs fn as active script time (nested entries count once). */
  private active<T>(fn: () => T): T {
    if (this.enteredAt !== undefined) return fn();
    this.enteredAt = this.now();
    try {
      return fn();
    } finally {
      this.limits.budget.usedMs += this.now() - this.enteredAt;
      this.enteredAt = undefined;
    }
  }

  // ---- module and result -------------------------------------------------------------------------------------

  private evaluateModule(source: string, filename: string): QuickJSHandle {
    const result = this.active(() => this.vm.evalCode(source, filename, { type: "module", strict: true }));
    const namespace = this.unwrap(result, filename, "syntax");
    const state = this.vm.getPromiseState(namespace);
    if (state.type === "fulfilled") {
      if (state.notAPromise) return namespace;
      namespace.dispose();
      return state.value;
    }
    // Top-level await in the module: drain its jobs (no host work can be pending yet).
    this.drain();
    const after = this.vm.getPromiseState(namespace);
    namespace.dispose();
    if (after.type === "fulfilled") return after.value;
    if (after.type === "rejected") throw this.scriptError(after.error, filename, "thrown");
    throw new SandboxError(`${filename}: the module's top-level code never finished`, "shape");
  }

  /** Runs jobs and waits for host calls until the script's promise settles; returns the JSON text of its result. */
  private async settle(promise: QuickJSHandle, filename: string): Promise<string | undefined> {
    try {
      for (;;) {
        this.drain();
        const state = this.vm.getPromiseState(promise);
        if (state.type === "fulfilled") {
          let value: unknown;
          try {
            value =
              this.vm.typeof(state.value) === "string"
                ? this.hostText(state.value, "the workflow's result", false)
                : this.vm.dump(state.value);
          } catch (error) {
            throw new SandboxError(errorMessage(error), "result");
          } finally {
            state.value.dispose();
          }
          if (value !== undefined && typeof value !== "string")
            throw new SandboxError("the workflow's result could not be serialised", "result");
          return value as string | undefined;
        }
        if (state.type === "rejected") throw this.scriptError(state.error, filename, "thrown");
        if (this.stopped) throw this.stopped;
        if (this.pendingHostCalls === 0)
          throw new SandboxError(`${filename}: the script waits on a promise nothing will ever settle`, "thrown");
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      promise.dispose();
    }
  }

  private drain(): void {
    for (;;) {
      if (this.stopped) throw this.stopped;
      const jobs = this.active(() => this.runtime.executePendingJobs());
      if (jobs.error) {
        // A job that fails outside the script's own promise chain: an interrupt or out-of-memory.
        throw this.scriptError(jobs.error, "job", "thrown");
      }
      if (jobs.value === 0) return;
    }
  }

  private unwrap(
    result: { error?: QuickJSHandle; value?: QuickJSHandle },
    filename: string,
    kind: SandboxErrorKind = "thrown",
  ): QuickJSHandle {
    if (result.error) throw this.scriptError(result.error, filename, kind);
    return result.value!;
  }

  /** A clear message from a QuickJS error: its kind, message and where (file:line:column). */
  private scriptError(handle: QuickJSHandle, filename: string, kind: SandboxErrorKind): SandboxError {
    if (this.stopped) {
      handle.dispose();
      return this.stopped;
    }
    let dumped: unknown;
    try {
      dumped = this.vm.dump(handle);
    } catch {
      dumped = "an error that could not be read";
    } finally {
      handle.dispose();
    }
    const error = (typeof dumped === "object" && dumped !== null ? dumped : { message: String(dumped) }) as {
      name?: string;
      message?: string;
      stack?: string;
    };
    const message = String(error.message ?? "");
    if (/out of memory/i.test(message))
      return new SandboxError(
        `the script ran out of memory (limit ${this.limits.memoryMiB} MiB, workflow.memoryMiB)`,
        "memory",
      );
    if (/stack overflow/i.test(message))
      return new SandboxError(
        `the script exceeded its stack limit (${this.limits.maxStackKiB} KiB, workflow.maxStackKiB): too deep a recursion?`,
        "stack",
      );
    if (/^interrupted$/.test(message))
      return this.stopped ?? new SandboxError("the script was interrupted", "cancelled");
    const where = firstFrame(error.stack, filename);
    const name = error.name && error.name !== "Error" ? `${error.name}: ` : "";
    const text = `${name}${message}${where ? ` (at ${where})` : ""}`;
    return new SandboxError(
      text.length > MAX_ERROR_CHARS ? text.slice(0, MAX_ERROR_CHARS) + "…" : text,
      kind === "syntax" && error.name === "SyntaxError" ? "syntax" : kind,
    );
  }

  // ---- host bridge -------------------------------------------------------------------------------------------

  private installHost(host: Record<string, HostFunction>, seed: number): void {
    const bridge = this.vm.newObject();
    for (const [name, fn] of Object.entries(host)) {
      const handle = this.vm.newFunction(name, (...argHandles) => this.callHost(name, fn, argHandles));
      this.vm.setProp(bridge, name, handle);
      handle.dispose();
    }
    // Not through callHost: no arguments to copy, called before every long-running built-in (see the prelude).
    const tick = this.vm.newFunction("__tick", () => {
      if (this.shouldInterrupt()) throw new Error("interrupted");
      return this.vm.undefined;
    });
    this.vm.setProp(bridge, "__tick", tick);
    tick.dispose();
    const seedHandle = this.vm.newNumber(seed >>> 0);
    const install = this.unwrap(
      this.active(() => this.vm.evalCode(PRELUDE, "continuum-prelude.js", { type: "global", strict: true })),
      "prelude",
    );
    const result = this.active(() => this.vm.callFunction(install, this.vm.undefined, bridge, seedHandle));
    install.dispose();
    bridge.dispose();
    seedHandle.dispose();
    this.unwrap(result, "prelude").dispose();
  }

  private callHost(name: string, fn: HostFunction, argHandles: QuickJSHandle[]): QuickJSHandle {
    let value: unknown;
    try {
      const args = argHandles.map((h, i) => this.hostValue(h, `${name}(): argument ${i + 1}`));
      value = fn(...args);
    } catch (error) {
      return this.throwInVm(error);
    }
    if (!(value instanceof Promise)) return this.jsonToHandle(value);
    const deferred = this.vm.newPromise();
    this.deferreds.add(deferred);
    this.pendingHostCalls++;
    value.then(
      (resolved) =>
        this.settleHost(deferred, () => {
          const handle = this.jsonToHandle(resolved);
          deferred.resolve(handle);
          handle.dispose();
        }),
      (error) =>
        this.settleHost(deferred, () => {
          const handle = this.vm.newError({
            name: error?.name === "TypeError" ? "TypeError" : "Error",
            message: error instanceof Error ? error.message : String(error),
          });
          deferred.reject(handle);
          handle.dispose();
        }),
    );
    return deferred.handle.dup();
  }

  private settleHost(deferred: { dispose(): void }, apply: () => void): void {
    this.pendingHostCalls--;
    if (this.disposed) return;
    this.deferreds.delete(deferred as never);
    try {
      apply();
    } catch {
      // The VM is out of memory or stopped; the run's loop reports why.
    } finally {
      deferred.dispose();
    }
    this.wake?.();
  }

  /**
   * A script value as the host gets it, its size checked inside the sandbox first: a string or JSON text longer than
   * MAX_HOST_CHARS never reaches the host's memory (a script could otherwise copy its whole heap out on every call).
   */
  private hostValue(handle: QuickJSHandle, what: string): unknown {
    const type = this.vm.typeof(handle);
    if (type === "string") return this.hostText(handle, what, false);
    if (type !== "object") return this.vm.dump(handle);
    const json = this.vm.getProp(this.vm.global, "JSON");
    const stringify = this.vm.getProp(json, "stringify");
    const result = this.active(() => this.vm.callFunction(stringify, json, handle));
    json.dispose();
    stringify.dispose();
    if (result.error) {
      result.error.dispose();
      throw new TypeError(`${what} is not JSON (a cycle, or a BigInt?)`);
    }
    if (this.vm.typeof(result.value) !== "string") {
      result.value.dispose();
      return undefined;
    }
    return this.hostText(result.value, what, true);
  }

  private hostText(handle: QuickJSHandle, what: string, owned: boolean): unknown {
    try {
      const length = this.vm.getProp(handle, "length");
      const chars = this.vm.getNumber(length);
      length.dispose();
      if (chars > MAX_HOST_CHARS)
        throw new RangeError(
          `${what} is ${chars} characters, more than the ${MAX_HOST_CHARS} a script may hand to the host at once`,
        );
      const text = this.vm.getString(handle);
      return owned ? JSON.parse(text) : text;
    } finally {
      if (owned) handle.dispose();
    }
  }

  /** quickjs-emscripten turns an Error thrown by a host function into an error thrown in the script. */
  private throwInVm(error: unknown): never {
    throw error instanceof Error ? error : new Error(String(error));
  }

  private jsonToHandle(value: unknown): QuickJSHandle {
    if (value === undefined) return this.vm.undefined;
    if (value === null) return this.vm.null;
    if (typeof value === "string") return this.vm.newString(value);
    if (typeof value === "number") return this.vm.newNumber(value);
    if (typeof value === "boolean") return value ? this.vm.true : this.vm.false;
    const json = this.vm.getProp(this.vm.global, "JSON");
    const parse = this.vm.getProp(json, "parse");
    const text = this.vm.newString(JSON.stringify(value));
    const result = this.active(() => this.vm.callFunction(parse, json, text));
    json.dispose();
    parse.dispose();
    text.dispose();
    return this.unwrap(result, "json");
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstFrame(stack: string | undefined, filename: string): string | undefined {
  if (!stack) return undefined;
  const frames = stack
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const own = frames.find((f) => f.includes(filename)) ?? frames[0];
  const match = own?.match(/\(?([^()\s]+:\d+:\d+)\)?$/) ?? own?.match(/at ([^\s]+:\d+(:\d+)?)/);
  return match?.[1];
}
