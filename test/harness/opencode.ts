// Drivers for the real pinned opencode binary: `opencode run` for one-shot prompts and `opencode serve` + the
// SDK for multi-turn work. Every process is started in its own process group and ended by teardown.
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../../plugins/cli/free-port.ts";
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk";
import { opencodeBinary, type IsolatedEnv } from "./env.ts";

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

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed lines of `--format json`, when requested. */
  events: Record<string, unknown>[];
}

export interface RunOptions {
  args?: string[];
  timeoutMs?: number;
  json?: boolean;
  cwd?: string;
  extraEnv?: Record<string, string>;
}

export async function opencodeRun(env: IsolatedEnv, prompt: string, options: RunOptions = {}): Promise<RunResult> {
  const args = ["run", ...(options.json ? ["--format", "json"] : []), "-m", "fake/fake-model", ...(options.args ?? []), prompt];
  const child = track(
    spawn(opencodeBinary(), args, {
      cwd: options.cwd ?? env.projectDir,
      env: { ...env.env, ...options.extraEnv },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timeoutMs = options.timeoutMs ?? 60000;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n[harness] opencode run exceeded ${timeoutMs} ms and was killed`;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    child.on("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const events = options.json ? parseJsonLines(stdout) : [];
  return { code, stdout, stderr, events };
}

function parseJsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
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
  /** Resolves with the first event (already seen or future) that matches. */
  waitForEvent(predicate: (event: BusEvent) => boolean, timeoutMs?: number, description?: string): Promise<BusEvent>;
  /** Waits until the session has gone idle `count` times in total. */
  waitForIdle(sessionId: string, count?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  extraEnv?: Record<string, string>;
  cwd?: string;
  startTimeoutMs?: number;
}

export async function opencodeServe(env: IsolatedEnv, options: ServeOptions = {}): Promise<Served> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      return await startServeOnPort(env, port, options);
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
}

async function startServeOnPort(env: IsolatedEnv, port: number, options: ServeOptions): Promise<Served> {
  const directory = options.cwd ?? env.projectDir;
  const child = track(
    spawn(opencodeBinary(), ["serve", "--hostname", "127.0.0.1", "--port", String(port), "--print-logs", "--log-level", "INFO"], {
      cwd: directory,
      env: { ...env.env, ...options.extraEnv },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForListening(url, child, options.startTimeoutMs ?? 30000, () => output);
  } catch (error) {
    killGroup(child, "SIGKILL");
    throw error;
  }
  const client = createOpencodeClient({ baseUrl: url, directory });
  const events: BusEvent[] = [];
  const waiters = new Set<{ predicate: (e: BusEvent) => boolean; resolve: (e: BusEvent) => void }>();
  const abort = new AbortController();
  const subscription = await client.event.subscribe({ signal: abort.signal } as never);
  void (async () => {
    try {
      for await (const event of subscription.stream as AsyncIterable<BusEvent>) {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.delete(waiter);
            waiter.resolve(event);
          }
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
        const recent = events.slice(-15).map((e) => e.type).join(", ");
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; recent events: ${recent}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const idleCount = (sessionId: string) => events.filter((e) => e.type === "session.idle" && e.properties.sessionID === sessionId).length;

  return {
    url,
    pid: child.pid!,
    port,
    client,
    events,
    output: () => output,
    waitForEvent,
    async waitForIdle(sessionId, count = 1, timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      while (idleCount(sessionId) < count) {
        if (Date.now() > deadline) throw new Error(`session ${sessionId} went idle ${idleCount(sessionId)} times, expected ${count}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      abort.abort();
      killGroup(child, "SIGTERM");
      const exited = await waitForExit(child, 5000);
      if (!exited) {
        killGroup(child, "SIGKILL");
        await waitForExit(child, 5000);
      }
    },
  };
}

async function waitForListening(url: string, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`opencode serve exited with ${child.exitCode}:\n${output().slice(-3000)}`);
    try {
      const res = await fetch(`${url}/config`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`opencode serve did not listen on ${url} within ${timeoutMs} ms:\n${output().slice(-3000)}`);
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

/** Kills every process the harness started; call from after() hooks. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killAll(): void {
  for (const child of live) killGroup(child, "SIGKILL");
}
