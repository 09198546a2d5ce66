// The continuum command line as a test runs it, inside an isolated environment, and reading the JSON files it
// writes (a run's record can be half-written while the test polls it).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, type IsolatedEnv } from "./env.ts";

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
export const continuumCli = (env: IsolatedEnv, args: string[], extraEnv: Record<string, string> = {}) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], {
    cwd: env.projectDir,
    env: { ...env.env, ...extraEnv },
    encoding: "utf8",
    timeout: 240000,
  });

/** The CLI without blocking this process: needed when it talks to a model the test itself serves. */
export function continuumCliAsync(
  env: IsolatedEnv,
  args: string[],
  timeoutMs = 240000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], {
      cwd: env.projectDir,
      env: env.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // SIGTERM first: the CLI then stops the opencode serve it started; SIGKILL only if it does not exit.
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10000).unref();
    }, timeoutMs);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}
