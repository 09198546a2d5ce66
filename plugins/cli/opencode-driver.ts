// The one driver of a real opencode process: `opencode run` for one-shot prompts and `opencode serve` + the SDK
// for multi-turn work. The doctor, `continuum run` and the test harness all use it. Every process is started in
// its own process group, tracked, and ended on stop() or when this process exits, so nothing is left running.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk";
import { PACK_ROOT } from "../core/assets.ts";
import { freePort } from "./free-port.ts";

type Env = Record<string, string | undefined>;

/** The opencode binary: $OPENCODE_BIN, else `opencode` on PATH, else the repository's pinned (dev) one. */
export function findOpencode(env: Env = process.env): string {
  if (env.OPENCODE_BIN) return env.OPENCODE_BIN;
  for (const dir of (env.PATH ?? "").split(":")) {
    const candidate = join(dir, "opencode");
    if (dir && existsSync(candidate)) return candidate;
  }
  const pinned = join(PACK_ROOT, "node_modules", ".bin", "opencode");
  if (existsSync(pinned)) return pinned;
  throw new Error("no opencode binary found: install OpenCode (https://opencode.ai) or set OPENCODE_BIN");
}

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

process.on("exit", () => {
  for (const child of live) killGroup(child, "SIGKILL");
});

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.on("exit", () => live.delete(child));
  return child;
}

/** Kills every opencode process this driver started (tests call it from after() hooks). */
export function killAll(): void {
  for (const child of live) killGroup(child, "SIGKILL");
}

/** The signals that end a CLI run (Ctrl-C, `timeout`/`kill`, a closed terminal) and the exit code each gives. */
export const STOP_SIGNALS = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 } as const;

/**
 * Until the returned function is called, any of STOP_SIGNALS runs `stop` (which stops `opencode serve`, so the plugin
 * inside it ends its runs) and then exits with the signal's code: a wrapper's SIGTERM leaves nothing running.
 */
export function stopOnSignals(stop: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    remove();
    void stop()
      .catch(() => undefined)
      .finally(() => process.exit(STOP_SIGNALS[signal as keyof typeof STOP_SIGNALS] ?? 1));
  };
  const remove = () => {
    for (const signal of Object.keys(STOP_SIGNALS)) process.off(signal, handler);
  };
  for (const signal of Object.keys(STOP_SIGNALS)) process.on(signal, handler);
  return remove;
}

/** The session's newest assistant text (a command's report: started, or why not). */
export async function lastAssistantText(
  server: Pick<Served, "client">,
  sessionId: string,
): Promise<string | undefined> {
  const found = await server.client.session.messages({ path: { id: sessionId } });
  const texts = (found.data ?? [])
    .filter((m) => m.info.role === "assistant")
    .map((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n"));
  return texts.at(-1)?.trim() || undefined;
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ProcessOptions {
  binary: string;
  cwd: string;
  env: Env;
}

export interface RunOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started at all (ENOENT, EACCES, …). */
  spawnError?: string;
}

/** Runs `opencode <args>` to completion; a run past timeoutMs is killed and says so on stderr. */
export function runOpencode(options: ProcessOptions & { args: string[]; timeoutMs: number }): Promise<RunOutcome> {
  return new Promise((resolve) => {
    // OpenCode takes its directory from PWD when set; the caller's shell PWD would point it elsewhere.
    const child = track(
      spawn(options.binary, options.args, {
        cwd: options.cwd,
        env: { ...options.env, PWD: options.cwd },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(opencode did not finish within ${options.timeoutMs} ms and was stopped)`;
      killGroup(child, "SIGKILL");
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr, spawnError: `cannot start ${options.binary}: ${error.message}` });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface BusEvent {
  type: string;
  properties: Record<string, any>;
}

export interface Served {
  url: string;
  pid: number;
  port: number;
  client: OpencodeClient;
  events: BusEvent[];
  output: () => string;
  exited(): boolean;
  /** Resolves with the first event (already seen or future) that matches. */
  waitForEvent(predicate: (event: BusEvent) => boolean, timeoutMs?: number, description?: string): Promise<BusEvent>;
  /** Waits until the session has gone idle `count` times in total. */
  waitForIdle(sessionId: string, count?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ServeOptions extends ProcessOptions {
  startTimeoutMs?: number;
  /** Extra arguments after `serve --hostname --port` (the tests pass --print-logs). */
  extraArgs?: string[];
  /** Keep at most this many characters of the server's output (default: all). */
  outputLimit?: number;
}

/**
 * Starts `opencode serve` on a free port and subscribes to its events. The port is probed free and then handed
 * to opencode, so another process can take it in between: a failed start is retried on a new port, twice.
 */
export async function startServe(options: ServeOptions): Promise<Served> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startServeOnPort(options, port);
    } catch (error) {
      if (attempt >= 2 || error instanceof SpawnError) throw error;
    }
  }
}

/** The binary could not be started at all: retrying on another port cannot help. */
export class SpawnError extends Error {}

async function startServeOnPort(options: ServeOptions, port: number): Promise<Served> {
  const child = track(
    spawn(options.binary, ["serve", "--hostname", "127.0.0.1", "--port", String(port), ...(options.extraArgs ?? [])], {
      cwd: options.cwd,
      env: { ...options.env, PWD: options.cwd },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  let spawnError: Error | undefined;
  child.on("error", (error) => (spawnError = error));
  const limit = options.outputLimit ?? Infinity;
  const append = (d: Buffer) => {
    output += d.toString();
    if (output.length > limit) output = output.slice(-limit);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const url = `http://127.0.0.1:${port}`;
  const exited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;
  try {
    await waitForListening(
      url,
      options.startTimeoutMs ?? 60000,
      () => ({ exited: exited(), spawnError, output, code: child.exitCode }),
      options.binary,
    );
  } catch (error) {
    killGroup(child, "SIGKILL");
    throw error;
  }
  const client = createOpencodeClient({ baseUrl: url, directory: options.cwd });
  const events: BusEvent[] = [];
  const waiters = new Set<{ predicate: (e: BusEvent) => boolean; resolve: (e: BusEvent) => void }>();
  const abort = new AbortController();
  const subscription = await client.event.subscribe({ signal: abort.signal } as never);
  void (async () => {
    try {
      for await (const event of subscription.stream as AsyncIterable<BusEvent>) {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (!waiter.predicate(event)) continue;
          waiters.delete(waiter);
          waiter.resolve(event);
        }
      }
    } catch {
      /* the stream ends when the server stops */
    }
  })();

  const waitForEvent = (predicate: (e: BusEvent) => boolean, timeoutMs = 30000, description = "event") => {
    const seen = events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<BusEvent>((resolve, reject) => {
      const waiter = { predicate, resolve: (e: BusEvent) => (clearTimeout(timer), resolve(e)) };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        const recent = events
          .slice(-15)
          .map((e) => e.type)
          .join(", ");
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; recent events: ${recent}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const idleCount = (sessionId: string) =>
    events.filter((e) => e.type === "session.idle" && e.properties.sessionID === sessionId).length;

  return {
    url,
    pid: child.pid!,
    port,
    client,
    events,
    output: () => output,
    exited,
    waitForEvent,
    async waitForIdle(sessionId, count = 1, timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      while (idleCount(sessionId) < count) {
        if (Date.now() > deadline)
          throw new Error(`session ${sessionId} went idle ${idleCount(sessionId)} times, expected ${count}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      abort.abort();
      killGroup(child, "SIGTERM");
      if (!(await waitForExit(child, 5000))) {
        killGroup(child, "SIGKILL");
        await waitForExit(child, 5000);
      }
    },
  };
}

async function waitForListening(
  url: string,
  timeoutMs: number,
  state: () => { exited: boolean; spawnError?: Error; output: string; code: number | null },
  binary: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = state();
    if (now.spawnError)
      throw new SpawnError(
        `cannot start ${binary}: ${now.spawnError.message} (set OPENCODE_BIN to the opencode binary)`,
      );
    if (now.exited) throw new Error(`opencode serve exited with ${now.code}:\n${now.output.slice(-3000)}`);
    const ok = await fetch(`${url}/config`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`opencode serve did not listen on ${url} within ${timeoutMs} ms:\n${state().output.slice(-3000)}`);
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** OpenCode's error objects ({ name, data: { message, statusCode, responseBody } }) as one verbatim line. */
export function errorMessage(error: unknown): string {
  if (!error || typeof error !== "object") return String(error);
  const { name, data } = error as {
    name?: string;
    data?: { message?: string; statusCode?: number; responseBody?: string };
  };
  const parts = [data?.message || name || JSON.stringify(error)];
  if (data?.statusCode) parts.push(`(HTTP ${data.statusCode})`);
  if (data?.responseBody && !parts[0]!.includes(data.responseBody))
    parts.push(`response: ${data.responseBody.slice(0, 2000)}`);
  return parts.join(" ");
}
