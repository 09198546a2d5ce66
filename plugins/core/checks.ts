// Runs a project's checks in a worktree (Max's candidates, a workflow's check()): each command in its own shell inside the OS sandbox (the
// worktree writable, nothing else; its own PID namespace), with a time limit, output kept to its tail. A check ends
// when its process exits, whatever its children do with the pipes; a timeout, an abort or the end of OpenCode ends
// every process it started.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox } from "./sandbox.ts";
import { worktreePlace } from "./sandbox.ts";

export interface CheckResult {
  command: string;
  /** exitCode 0 and no timeout: a missing exit code (killed, not started) is never a pass. */
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The end of the command's output (stdout and stderr). */
  tail: string;
}

export const TAIL_CHARS = 2000;

/** Checks running without a PID namespace: killed with their process group when the pack or the process ends. */
const running = new Set<() => void>();
let exitHook = false;

/** Ends every check still running (the pack's dispose; also on process exit). */
export function killRunningChecks(): void {
  for (const kill of [...running]) kill();
}

function register(kill: () => void): () => void {
  if (!exitHook) {
    exitHook = true;
    process.once("exit", killRunningChecks);
  }
  running.add(kill);
  return () => void running.delete(kill);
}

function start(
  command: string,
  cwd: string,
  sandbox: Sandbox | undefined,
): { child: ChildProcess; contained: boolean } {
  const env = { ...process.env, CI: "1" };
  if (sandbox?.kind === "bwrap") {
    // Not detached: bwrap dies with us (--die-with-parent) and takes its whole PID namespace with it.
    const argv = sandbox.argv(command, worktreePlace(cwd), "sh");
    return { child: spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "pipe"], env }), contained: true };
  }
  const argv = sandbox?.kind === "seatbelt" ? sandbox.argv(command, worktreePlace(cwd), "sh") : ["sh", "-c", command];
  // Its own process group, so a kill reaches the children that stay in it.
  return {
    child: spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env }),
    contained: false,
  };
}

export function runCheck(
  command: string,
  cwd: string,
  timeoutMs: number,
  signal?: AbortSignal,
  sandbox?: Sandbox,
): Promise<CheckResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let tail = "";
    let timedOut = false;
    const keep = (chunk: Buffer) => void (tail = (tail + chunk.toString("utf8")).slice(-TAIL_CHARS));
    let child: ChildProcess;
    let contained: boolean;
    try {
      ({ child, contained } = start(command, cwd, sandbox));
    } catch (error) {
      resolve({
        command,
        passed: false,
        exitCode: null,
        timedOut: false,
        durationMs: 0,
        tail: (error as Error).message,
      });
      return;
    }
    const kill = () => {
      try {
        if (!child.pid) return;
        // bwrap's namespace ends with bwrap; otherwise the whole group goes.
        if (contained) child.kill("SIGKILL");
        else process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const unregister = register(kill);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const onAbort = () => kill();
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let settled = false;
    const finish = (exitCode: number | null, extra = "") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // What it left behind in its group goes too; a child still holding the pipes no longer holds the check.
      if (!contained) kill();
      unregister();
      child.stdout!.destroy();
      child.stderr!.destroy();
      const note = timedOut ? `\n[stopped after ${Math.round(timeoutMs / 1000)} s (timeout)]` : "";
      resolve({
        command,
        passed: exitCode === 0 && !timedOut,
        exitCode,
        timedOut,
        durationMs: Date.now() - started,
        tail: (tail + extra + note).slice(-TAIL_CHARS),
      });
    };
    child.on("error", (error) => finish(null, `\n${error.message}`));
    child.on("close", (code) => finish(code));
    // A child that left the group may hold the pipes open: the exit counts, once what was buffered is read.
    child.on("exit", (code) => setTimeout(() => finish(code), 200));
  });
}

/** Runs the checks one after another; stops at the first failure (its output is what matters). */
export async function runChecks(
  commands: readonly string[],
  cwd: string,
  timeoutMs: number,
  signal?: AbortSignal,
  sandbox?: Sandbox,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const command of commands) {
    if (signal?.aborted) break;
    const result = await runCheck(command, cwd, timeoutMs, signal, sandbox);
    results.push(result);
    if (!result.passed) break;
  }
  return results;
}

const NPM_PLACEHOLDER = /no test specified/i;

/** Checks found in a project: its package.json `test` script, else the usual runner of its language. */
export function detectChecks(files: { packageJson?: string; has(name: string): boolean }): string[] {
  if (files.packageJson !== undefined) {
    try {
      const test = (JSON.parse(files.packageJson) as { scripts?: Record<string, unknown> }).scripts?.test;
      if (typeof test === "string" && test.trim() && !NPM_PLACEHOLDER.test(test)) return ["npm test"];
    } catch {
      /* an unreadable package.json names no check */
    }
  }
  if (files.has("Cargo.toml")) return ["cargo test"];
  if (files.has("go.mod")) return ["go test ./..."];
  if (files.has("pytest.ini") || files.has("pyproject.toml") || files.has("setup.cfg")) return ["python -m pytest -q"];
  return [];
}

/** detectChecks on a project folder. */
export function detectProjectChecks(dir: string): string[] {
  let packageJson: string | undefined;
  try {
    packageJson = existsSync(join(dir, "package.json")) ? readFileSync(join(dir, "package.json"), "utf8") : undefined;
  } catch {
    packageJson = undefined;
  }
  return detectChecks({ packageJson, has: (name) => existsSync(join(dir, name)) });
}
