// The compose agent may not end a turn as "done" on its own word: when it changed files and no check command ran
// after the last change (or the last check failed), it is sent back once or twice to verify. Pure logic, fed with
// the tool calls of the session's turns; the continuation arbiter (core/continuation.ts) counts and sends the push.

export const VERIFY_MARKER = "[continuum compose: verify]";

/** Tools that change files. A shell command may too, but then its own run is usually the check (see below). */
const EDIT_TOOLS = new Set(["edit", "write", "patch", "multiedit", "apply_patch"]);

/**
 * Commands that verify a project: test runners, type checkers, linters, builds. Matched on the command line as the
 * agent ran it; deliberately broad (a false "checked" costs less than sending the agent back on every turn).
 */
const CHECK_COMMAND =
  /(^|[\s;&|(])((npm|pnpm|yarn|bun)\s+(run\s+)?(test|t|check|lint|typecheck|type-check|build|verify|ci)\b|npx\s+(tsc|vitest|jest|mocha|eslint|biome|playwright)\b|(tsc|vitest|jest|mocha|eslint|pytest|tox|nox|mypy|ruff|flake8|rspec|phpunit|ctest|shellcheck)\b|node\s+--test\b|node\s+\S*(test|run)\S*\.(m?js|ts)\b|python3?\s+-m\s+(pytest|unittest|mypy)\b|(cargo|go)\s+(test|check|clippy|build|vet)\b|(bun|deno)\s+test\b|make(\s+\S+)*\s+(test|check|lint|build|all)\b|make\s*$|(mvn|gradle|\.\/gradlew)\s+\S*(test|check|verify|build)|dotnet\s+(test|build))/;

export function isCheckCommand(command: string, extra: readonly string[] = []): boolean {
  const line = command.trim();
  if (CHECK_COMMAND.test(line)) return true;
  // The project's own check commands (compose.checkCommands), matched as a prefix of any command in the line.
  return line
    .split(/&&|\|\||;|\n/)
    .some((part) => extra.some((prefix) => part.trim() === prefix || part.trim().startsWith(`${prefix} `)));
}

export interface VerifyState {
  /** Step counter: every observed tool call gets the next number. */
  step: number;
  /** Step of the latest file change, 0 when none this session. */
  lastEdit: number;
  /** The latest check command that finished. */
  lastCheck?: { step: number; ok: boolean; command: string; noExitCode?: boolean };
  /** Pushes sent since the user last wrote. */
  pushes: number;
  /** The last turn ended in an abort or an error: never push after that. */
  lastTurnFailed: boolean;
  /** Tool calls already counted (a part is reported several times while it runs). */
  seen: string[];
}

export const freshVerifyState = (): VerifyState => ({
  step: 0,
  lastEdit: 0,
  pushes: 0,
  lastTurnFailed: false,
  seen: [],
});

export interface ToolPart {
  callID?: unknown;
  tool?: unknown;
  state?: { status?: unknown; input?: unknown; metadata?: unknown };
}

/** Takes one finished tool call into account; parts still running, or seen before, change nothing. */
export function observeToolPart(
  state: VerifyState,
  part: ToolPart,
  checkCommands: readonly string[] = [],
): VerifyState {
  if (typeof part !== "object" || part === null || typeof part.state !== "object" || part.state === null) return state;
  const status = part.state.status;
  if (typeof part.tool !== "string" || (status !== "completed" && status !== "error")) return state;
  const id = typeof part.callID === "string" ? part.callID : "";
  if (id && state.seen.includes(id)) return state;
  const seen = id ? [...state.seen.slice(-199), id] : state.seen;
  const step = state.step + 1;
  if (EDIT_TOOLS.has(part.tool))
    return status === "completed" ? { ...state, step, seen, lastEdit: step } : { ...state, seen };
  if (part.tool !== "bash") return { ...state, seen };
  const input = part.state.input as { command?: unknown } | null | undefined;
  const command = typeof input?.command === "string" ? input.command : "";
  if (!isCheckCommand(command, checkCommands)) return { ...state, seen };
  const exit = exitCode(part.state.metadata);
  const ok = status === "completed" && exit === 0;
  const lastCheck = {
    step,
    ok,
    command: command.slice(0, 200),
    ...(status === "completed" && exit === undefined ? { noExitCode: true } : {}),
  };
  return { ...state, step, seen, lastCheck };
}

function exitCode(metadata: unknown): number | undefined {
  const exit = typeof metadata === "object" && metadata !== null ? (metadata as { exit?: unknown }).exit : undefined;
  // No exit code reported (a timeout, a killed command, another host): nothing proves the check passed.
  return typeof exit === "number" ? exit : undefined;
}

export type VerifyDecision = { push: true; text: string } | { push: false; reason: string };

export function decideVerify(state: VerifyState, maxPushes: number): VerifyDecision {
  if (state.lastTurnFailed) return { push: false, reason: "last turn was aborted or failed" };
  if (state.lastEdit === 0) return { push: false, reason: "no file changed" };
  const check = state.lastCheck;
  if (check && check.step > state.lastEdit && check.ok) return { push: false, reason: `verified by ${check.command}` };
  if (state.pushes >= maxPushes)
    return { push: false, reason: `already sent back ${state.pushes} times since the user last wrote` };
  return { push: true, text: verifyText(state, state.pushes + 1, maxPushes) };
}

function verifyText(state: VerifyState, attempt: number, max: number): string {
  const check = state.lastCheck;
  const why =
    check && check.step > state.lastEdit && check.noExitCode
      ? `The last check after your changes reported no exit code, so it proves nothing: \`${check.command}\`.`
      : check && check.step > state.lastEdit
        ? `The last check after your changes failed: \`${check.command}\`.`
        : check
          ? `You changed files after the last check (\`${check.command}\`), so its result no longer counts.`
          : "You changed files and no check command (tests, typecheck, lint, build) has run since.";
  return [
    `${VERIFY_MARKER} (${attempt}/${max}) ${why}`,
    "Before saying the work is done, run the project's checks now (skill `compose-verify`) and quote their results.",
    "If they fail, fix the cause or report the work as not done with the failing output. If no check can run here, say so and report the work as unverified.",
  ].join("\n");
}

/**
 * A message a person wrote resets the count (the user always wins). The pack's own texts (this push, the task
 * gate's, a goal continuation) do not: two features pushing in turn must not reset each other's caps forever.
 */
export function onTurnStarted(state: VerifyState, origin: "person" | "pack" | "empty"): VerifyState {
  if (origin !== "person") return { ...state, lastTurnFailed: false };
  return { ...state, pushes: 0, lastTurnFailed: false };
}
