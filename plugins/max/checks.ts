// Runs a project's checks in a candidate's worktree: each command in its own shell with a time limit, output
// kept to its tail, the whole process group killed on timeout or abort (nothing left running).
import { spawn } from "node:child_process";
import type { CheckResult } from "./patch.ts";

export const TAIL_CHARS = 2000;

export function runCheck(command: string, cwd: string, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let tail = "";
    let timedOut = false;
    const keep = (chunk: Buffer) => void (tail = (tail + chunk.toString("utf8")).slice(-TAIL_CHARS));
    const child = spawn("sh", ["-c", command], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" } });
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const onAbort = () => kill();
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    let settled = false;
    const finish = (exitCode: number | null, extra = "") => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const note = timedOut ? `\n[stopped after ${Math.round(timeoutMs / 1000)} s (timeout)]` : "";
      resolve({ command, passed: exitCode === 0 && !timedOut, exitCode, timedOut, durationMs: Date.now() - started, tail: (tail + extra + note).slice(-TAIL_CHARS) });
    };
    child.on("error", (error) => finish(null, `\n${error.message}`));
    child.on("close", (code) => finish(code));
  });
}

/** Runs the checks one after another; stops at the first failure (its output is what matters). */
export async function runChecks(commands: readonly string[], cwd: string, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const command of commands) {
    if (signal?.aborted) break;
    const result = await runCheck(command, cwd, timeoutMs, signal);
    results.push(result);
    if (!result.passed) break;
  }
  return results;
}
