// check(command, options) in workflow scripts: one shell command of the project run by code, never by a model's
// word. It runs in a fresh snapshot worktree of the project as it is now (the user's tree cannot change), inside the
// OS sandbox when the machine has one, with a time limit and the run's cancel; its result is journaled like an
// agent's so a resumed run does not run a finished check again. Host-neutral: no OpenCode here.
import { createHash } from "node:crypto";
import { runCheck, detectProjectChecks } from "../core/checks.ts";
import type { Sandbox } from "../core/sandbox.ts";
import type { Worktrees } from "../core/worktrees.ts";
import { errorText } from "../core/report.ts";
import type { Journal, RunRecord } from "./journal.ts";

export interface WorkflowCheckResult {
  command: string;
  /** null when the command did not end by itself (killed, cancelled, could not start): never a pass. */
  exitCode: number | null;
  /** exitCode === 0 && !timedOut, decided here. */
  passed: boolean;
  timedOut: boolean;
  durationMs: number;
  /** The end of its output (stdout and stderr). */
  tail: string;
  /** false: no OS sandbox on this machine, it ran unconfined in its snapshot worktree. */
  sandboxed: boolean;
}

export interface CheckPort {
  run(
    command: string,
    options: { timeoutMs: number; label: string; signal: AbortSignal },
  ): Promise<WorkflowCheckResult>;
  /** The project's own test command(s), found as Max finds them. */
  detect(): string[];
}

export const CHECK_DEFAULT_TIMEOUT_MS = 600_000;
export const CHECK_MAX_TIMEOUT_MS = 3_600_000;
const MAX_COMMAND_CHARS = 4000;
const CHECK_OPTIONS = new Set(["timeoutMs", "label"]);

export interface CheckRequest {
  command: string;
  timeoutMs: number;
  label: string;
}

/** The script's arguments, checked: a wrong one is a TypeError in the script, never a silent pass. */
export function checkRequest(command: unknown, options: unknown): CheckRequest {
  if (typeof command !== "string")
    throw new TypeError(`check(command): command must be a string, got ${command === null ? "null" : typeof command}`);
  if (!command.trim()) throw new TypeError("check(command): command is empty");
  if (command.length > MAX_COMMAND_CHARS)
    throw new TypeError(`check(command): command is longer than ${MAX_COMMAND_CHARS} characters`);
  if (command.includes("\u0000")) throw new TypeError("check(command): command holds a NUL character");
  if (options === null || options === undefined)
    return { command, timeoutMs: CHECK_DEFAULT_TIMEOUT_MS, label: command.slice(0, 80) };
  if (typeof options !== "object" || Array.isArray(options))
    throw new TypeError("check(command, options): options must be an object");
  const opts = options as Record<string, unknown>;
  const unknown = Object.keys(opts).filter((k) => !CHECK_OPTIONS.has(k));
  if (unknown.length)
    throw new TypeError(`check(command, options): unknown option(s) ${unknown.join(", ")} (known: timeoutMs, label)`);
  const { timeoutMs = CHECK_DEFAULT_TIMEOUT_MS, label = command.slice(0, 80) } = opts;
  if (
    typeof timeoutMs !== "number" ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1000 ||
    timeoutMs > CHECK_MAX_TIMEOUT_MS
  ) {
    throw new TypeError(`check(command, options): timeoutMs must be an integer from 1000 to ${CHECK_MAX_TIMEOUT_MS}`);
  }
  if (typeof label !== "string" || label.length > 200)
    throw new TypeError("check(command, options): label must be a string of at most 200 characters");
  return { command, timeoutMs, label };
}

/**
 * The check port over the pack's worktrees and sandbox. Outside a git repository it refuses: without a snapshot
 * worktree there is nowhere to run a check that cannot touch the user's files.
 */
export function worktreeCheckPort(options: {
  worktrees: Worktrees;
  sandbox: () => Sandbox;
  projectDir: string;
}): CheckPort {
  const { worktrees, sandbox } = options;
  return {
    detect: () => detectProjectChecks(options.projectDir),
    async run(command, { timeoutMs, label, signal }) {
      const failed = (tail: string, sandboxed: boolean): WorkflowCheckResult => ({
        command,
        exitCode: null,
        passed: false,
        timedOut: false,
        durationMs: 0,
        tail,
        sandboxed,
      });
      if (!(await worktrees.isRepo().catch(() => false))) {
        return failed(
          "check() needs the project in a git repository: it runs each check in a snapshot worktree so the check cannot change your files; nothing was run",
          false,
        );
      }
      const box = sandbox();
      const sandboxed = box.kind !== "none";
      let worktree;
      try {
        worktree = await worktrees.create("workflow", `check: ${label}`.slice(0, 120));
      } catch (error) {
        return failed(`could not create the check's worktree: ${errorText(error)}`, sandboxed);
      }
      try {
        if (signal.aborted) return failed("the run was cancelled before the check started", sandboxed);
        const result = await runCheck(command, worktree.dir, timeoutMs, signal, sandboxed ? box : undefined);
        return { ...result, passed: result.exitCode === 0 && !result.timedOut, sandboxed };
      } finally {
        await worktrees.remove(worktree).catch(() => undefined);
      }
    },
  };
}

export interface CheckCallContext {
  prefix: string;
  occurrence(identity: string): number;
  journal: Journal;
  record: RunRecord;
  signal: AbortSignal;
  port: CheckPort | undefined;
  transcribe(kind: "log" | "error", text: string): void;
  save(): void;
}

/** check(): a journaled result, or one run through the port; argument errors throw into the script. */
export async function checkCall(
  ctx: CheckCallContext,
  command: unknown,
  options: unknown,
): Promise<WorkflowCheckResult> {
  const request = checkRequest(command, options);
  if (!ctx.port) throw new Error("check() is not available in this workflow engine (no check runner)");
  const identity = createHash("sha256")
    .update(JSON.stringify(["check", ctx.prefix, request.command, request.timeoutMs]))
    .digest("hex")
    .slice(0, 24);
  const key = `${ctx.prefix}check:${identity}#${ctx.occurrence(`check:${identity}`)}`;
  const counts = (ctx.record.checks ??= { run: 0, passed: 0, failed: 0, replayed: 0 });
  const journaled = ctx.journal.get(key);
  if (journaled) {
    counts.replayed++;
    ctx.transcribe("log", `check ${request.label}: replayed from the journal`);
    return journaled.value as WorkflowCheckResult;
  }
  if (ctx.signal.aborted) throw new Error(`the run was ${String(ctx.signal.reason ?? "cancelled")}`);
  const result = await ctx.port.run(request.command, {
    timeoutMs: request.timeoutMs,
    label: request.label,
    signal: ctx.signal,
  });
  counts.run++;
  if (result.passed) counts.passed++;
  else counts.failed++;
  // A check the cancel cut short did not finish: it runs again on resume.
  if (!ctx.signal.aborted) ctx.journal.put({ key, value: result, label: `check ${request.label}`, at: Date.now() });
  const how = result.timedOut ? "timed out" : result.exitCode === null ? "no exit code" : `exit ${result.exitCode}`;
  ctx.transcribe(
    result.passed ? "log" : "error",
    `check ${request.label}: ${how}${result.passed ? " (passed)" : " (failed)"}${result.sandboxed ? "" : " (not sandboxed)"}, ${result.durationMs} ms`,
  );
  ctx.save();
  return result;
}
