// The tests' view of the one opencode driver (plugins/cli/opencode-driver.ts): the same process handling the
// doctor and `continuum run` use, bound to an isolated test environment and the scripted "fake" provider.
import { opencodeBinary, type IsolatedEnv } from "./env.ts";
import { runOpencode, startServe, type Served } from "../../plugins/cli/opencode-driver.ts";

export { isRunning, killAll, type BusEvent, type Served } from "../../plugins/cli/opencode-driver.ts";

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
  const args = [
    "run",
    ...(options.json ? ["--format", "json"] : []),
    "-m",
    "fake/fake-model",
    ...(options.args ?? []),
    prompt,
  ];
  const outcome = await runOpencode({
    binary: opencodeBinary(),
    args,
    cwd: options.cwd ?? env.projectDir,
    env: { ...env.env, ...options.extraEnv },
    timeoutMs: options.timeoutMs ?? 60000,
  });
  const stderr = outcome.spawnError ? `${outcome.stderr}\n${outcome.spawnError}` : outcome.stderr;
  return {
    code: outcome.code,
    stdout: outcome.stdout,
    stderr,
    events: options.json ? parseJsonLines(outcome.stdout) : [],
  };
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

export interface ServeOptions {
  extraEnv?: Record<string, string>;
  cwd?: string;
  startTimeoutMs?: number;
}

export function opencodeServe(env: IsolatedEnv, options: ServeOptions = {}): Promise<Served> {
  return startServe({
    binary: opencodeBinary(),
    cwd: options.cwd ?? env.projectDir,
    env: { ...env.env, ...options.extraEnv },
    startTimeoutMs: options.startTimeoutMs ?? 30000,
    extraArgs: ["--print-logs", "--log-level", "INFO"],
  });
}
