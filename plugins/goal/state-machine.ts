// The goal loop as a pure state machine: host facts in, actions out. No host imports, no clock, no I/O, so it can
// be driven exhaustively by tests. Every path ends: a continuation cap, a no-progress detector, one judge retry,
// and a user message or abort that pauses at once. Only a validated `met` verdict can end a goal as met.

export const FINAL_STATUSES = ["met", "impossible", "stuck", "unverified", "capped", "cleared"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export type GoalStatus = "active" | "judging" | "paused" | FinalStatus;

export const MAX_CONDITION_CHARS = 4000;
/** Failed judge attempts per round before the goal ends `unverified` (one retry). */
export const JUDGE_ATTEMPTS = 2;
/** Rounds in a row with the same missing items and no progress that end a goal `stuck`. */
export const NO_PROGRESS_ROUNDS = 2;

export interface Verdict {
  met: boolean;
  impossible: boolean;
  reason: string;
  evidence: string[];
  missing: string[];
}

export interface GoalState {
  condition: string;
  status: GoalStatus;
  /** Continuation prompts sent so far (never above the cap). */
  continuations: number;
  /** Judge rounds that produced a verdict (or an open-task round). */
  rounds: number;
  /** Id of the judge run whose answer is awaited; answers for any other run are stale and ignored. */
  judgeRun: number;
  /** Failed judge attempts in the current round. */
  judgeFailures: number;
  /** Idles handed to the task gate in a row (open tasks) before the judge runs anyway. */
  deferrals: number;
  lastMissing: string[] | null;
  noProgressRounds: number;
  /** Work fingerprint at the last judged round, and the one captured at the idle that started this judge. */
  roundFingerprint: string | null;
  pendingFingerprint: string | null;
  /** Why the goal is paused or how it ended. */
  note: string;
  evidence: string[];
}

export interface IdleFacts {
  /** How the turn that just ended finished. */
  endedBy: "normal" | "abort" | "error";
  /** A real user message arrived since the loop last acted (normally already a pause). */
  userTypedSince: boolean;
  /** Open or in-progress tasks of the session, as one line each. */
  openTasks: string[];
  /** Changes whenever files change or a tool result is added: equal fingerprints mean no progress. */
  fingerprint: string;
}

export type GoalInput =
  | { type: "idle"; facts: IdleFacts }
  | { type: "verdict"; run: number; verdict: unknown }
  | { type: "judgeFailed"; run: number; error: string }
  | { type: "userMessage" }
  | { type: "abort" }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "clear" }
  | { type: "restart" };

export type GoalAction =
  | { type: "startJudge"; run: number; attempt: number }
  | { type: "continue"; prompt: string; continuation: number; reason: string; missing: string[] }
  | { type: "deferToTasks"; openTasks: string[] }
  | { type: "finished"; status: FinalStatus; reason: string; evidence: string[] }
  | { type: "paused"; reason: string }
  | { type: "resumed" }
  | { type: "noop"; reason: string };

export interface MachineOptions {
  maxContinuations: number;
  /** Idles with open tasks left to the task gate before judging anyway (0: the gate is off). */
  maxTaskDeferrals: number;
}

export interface Step {
  state: GoalState;
  actions: GoalAction[];
}

export const isFinal = (status: GoalStatus): status is FinalStatus =>
  (FINAL_STATUSES as readonly string[]).includes(status);
export const isRunning = (status: GoalStatus) => status === "active" || status === "judging";

/** Checks a condition typed by the user; returns the trimmed condition or a message saying what is wrong. */
export function checkCondition(raw: string): { ok: true; condition: string } | { ok: false; message: string } {
  const condition = raw.trim();
  if (!condition)
    return { ok: false, message: "The goal is empty. Usage: /goal <condition>, e.g. /goal all tests in test/ pass" };
  if (condition.length > MAX_CONDITION_CHARS) {
    return {
      ok: false,
      message: `The goal is ${condition.length} characters; the limit is ${MAX_CONDITION_CHARS}. Put the details in a file and set a goal that refers to it.`,
    };
  }
  return { ok: true, condition };
}

export function newGoal(condition: string): GoalState {
  return {
    condition,
    status: "active",
    continuations: 0,
    rounds: 0,
    judgeRun: 0,
    judgeFailures: 0,
    deferrals: 0,
    lastMissing: null,
    noProgressRounds: 0,
    roundFingerprint: null,
    pendingFingerprint: null,
    note: "",
    evidence: [],
  };
}

/** Validates a verdict from outside (tool args, stored JSON): anything malformed or self-contradictory is refused. */
export function parseVerdict(value: unknown): { ok: true; verdict: Verdict } | { ok: false; error: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, error: "verdict is not an object" };
  const v = value as Record<string, unknown>;
  if (typeof v.met !== "boolean") return { ok: false, error: "met must be true or false" };
  if (typeof v.impossible !== "boolean") return { ok: false, error: "impossible must be true or false" };
  if (typeof v.reason !== "string" || !v.reason.trim())
    return { ok: false, error: "reason must be a non-empty string" };
  const evidence = stringList(v.evidence);
  const missing = stringList(v.missing);
  if (!evidence) return { ok: false, error: "evidence must be a list of strings" };
  if (!missing) return { ok: false, error: "missing must be a list of strings" };
  if (v.met && v.impossible) return { ok: false, error: "a goal cannot be both met and impossible" };
  if (v.met && evidence.length === 0)
    return { ok: false, error: "met needs at least one evidence item (insufficient evidence means not met)" };
  if (v.met && missing.length > 0)
    return { ok: false, error: "met with missing items is contradictory: set met to false or empty missing" };
  return { ok: true, verdict: { met: v.met, impossible: v.impossible, reason: v.reason.trim(), evidence, missing } };
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) return undefined;
  return value.map((item) => item.trim()).filter(Boolean);
}

export function step(state: GoalState, input: GoalInput, options: MachineOptions): Step {
  if (isFinal(state.status)) return same(state, `the goal already ended as ${state.status}`);
  switch (input.type) {
    case "idle":
      return onIdle(state, input.facts, options);
    case "verdict":
      return onVerdict(state, input.run, input.verdict, options);
    case "judgeFailed":
      return onJudgeFailed(state, input.run, input.error);
    case "userMessage":
      return pauseIfRunning(state, "you sent a message");
    case "abort":
      return pauseIfRunning(state, "the turn was aborted");
    case "pause":
      return pauseIfRunning(state, "paused with /goal pause");
    case "resume":
      return onResume(state);
    case "clear":
      return finish({ ...state, judgeRun: state.judgeRun + 1 }, "cleared", "cleared with /goal clear");
    case "restart":
      return onRestart(state);
  }
}

function onIdle(state: GoalState, facts: IdleFacts, options: MachineOptions): Step {
  if (state.status !== "active") return same(state, `idle while ${state.status}`);
  if (facts.endedBy === "abort") return pause(state, "the turn was aborted");
  if (facts.endedBy === "error") return pause(state, "the turn ended with an error");
  if (facts.userTypedSince) return pause(state, "you sent a message");
  if (facts.openTasks.length > 0 && state.deferrals < options.maxTaskDeferrals) {
    return {
      state: { ...state, deferrals: state.deferrals + 1 },
      actions: [{ type: "deferToTasks", openTasks: facts.openTasks }],
    };
  }
  const run = state.judgeRun + 1;
  const next: GoalState = {
    ...state,
    status: "judging",
    judgeRun: run,
    judgeFailures: 0,
    pendingFingerprint: facts.fingerprint,
  };
  return { state: next, actions: [{ type: "startJudge", run, attempt: 1 }] };
}

function onVerdict(state: GoalState, run: number, raw: unknown, options: MachineOptions): Step {
  if (state.status !== "judging" || run !== state.judgeRun) return same(state, "stale verdict ignored");
  const parsed = parseVerdict(raw);
  if (!parsed.ok) return onJudgeFailed(state, run, `unusable verdict: ${parsed.error}`);
  const verdict = parsed.verdict;
  if (verdict.met) return finish({ ...state, evidence: verdict.evidence }, "met", verdict.reason);
  if (verdict.impossible) return finish({ ...state, evidence: verdict.evidence }, "impossible", verdict.reason);
  return notMet(state, verdict.reason, verdict.missing, options);
}

/** One round that did not meet the goal: stop if stuck or capped, otherwise send the agent back. */
function notMet(state: GoalState, reason: string, missing: string[], options: MachineOptions): Step {
  const progressed = state.roundFingerprint === null || state.pendingFingerprint !== state.roundFingerprint;
  const repeated = state.lastMissing !== null && sameItems(state.lastMissing, missing);
  const noProgressRounds = repeated && !progressed ? state.noProgressRounds + 1 : 0;
  const counted: GoalState = {
    ...state,
    rounds: state.rounds + 1,
    lastMissing: missing,
    noProgressRounds,
    roundFingerprint: state.pendingFingerprint,
    deferrals: 0,
  };
  if (noProgressRounds >= NO_PROGRESS_ROUNDS) {
    return finish(
      counted,
      "stuck",
      `no progress for ${NO_PROGRESS_ROUNDS} rounds in a row (same missing items, no new tool result or file change); still missing: ${listInline(missing) || reason}`,
    );
  }
  if (counted.continuations >= options.maxContinuations) {
    return finish(counted, "capped", `not met after ${counted.continuations} continuations (the cap): ${reason}`);
  }
  const continuation = counted.continuations + 1;
  const next: GoalState = { ...counted, status: "active", continuations: continuation, note: reason };
  return {
    state: next,
    actions: [
      {
        type: "continue",
        prompt: continuationPrompt(state.condition, reason, missing, continuation, options.maxContinuations),
        continuation,
        reason,
        missing,
      },
    ],
  };
}

function onJudgeFailed(state: GoalState, run: number, error: string): Step {
  if (state.status !== "judging" || run !== state.judgeRun) return same(state, "stale judge failure ignored");
  const failures = state.judgeFailures + 1;
  if (failures >= JUDGE_ATTEMPTS) {
    return finish(
      { ...state, judgeFailures: failures },
      "unverified",
      `the judge failed ${failures} times (last: ${error}); the goal was not verified`,
    );
  }
  const nextRun = state.judgeRun + 1;
  return {
    state: { ...state, judgeFailures: failures, judgeRun: nextRun, note: `judge failed: ${error}; retrying` },
    actions: [{ type: "startJudge", run: nextRun, attempt: failures + 1 }],
  };
}

function onResume(state: GoalState): Step {
  if (state.status !== "paused") return same(state, `nothing to resume: the goal is ${state.status}`);
  // The user stepped in, so the no-progress streak starts over; the continuation count does not.
  return {
    state: { ...state, status: "active", noProgressRounds: 0, deferrals: 0, note: "" },
    actions: [{ type: "resumed" }],
  };
}

/** A judge that was running when the process died is lost: that counts as one failed attempt. */
function onRestart(state: GoalState): Step {
  if (state.status !== "judging") return same(state, `restarted while ${state.status}`);
  return onJudgeFailed(state, state.judgeRun, "the judge was interrupted by a restart");
}

function pauseIfRunning(state: GoalState, reason: string): Step {
  if (!isRunning(state.status)) return same(state, `not running (${state.status})`);
  return pause(state, reason);
}

function pause(state: GoalState, reason: string): Step {
  // Bumping the run id makes any judge answer still in flight stale.
  return {
    state: { ...state, status: "paused", judgeRun: state.judgeRun + 1, note: reason },
    actions: [{ type: "paused", reason }],
  };
}

function finish(state: GoalState, status: FinalStatus, reason: string): Step {
  return {
    state: { ...state, status, note: reason },
    actions: [{ type: "finished", status, reason, evidence: state.evidence }],
  };
}

function same(state: GoalState, reason: string): Step {
  return { state, actions: [{ type: "noop", reason }] };
}

function sameItems(a: string[], b: string[]): boolean {
  const norm = (items: string[]) =>
    [...new Set(items.map((i) => i.toLowerCase().replace(/\s+/g, " ").trim()))].sort().join("\n");
  return norm(a) === norm(b);
}

function listInline(items: string[]): string {
  return items.join("; ");
}

export const CONTINUATION_MARKER = "[continuum goal]";

export function continuationPrompt(
  condition: string,
  reason: string,
  missing: string[],
  continuation: number,
  max: number,
): string {
  const lines = [
    `${CONTINUATION_MARKER} The goal is not met yet (continuation ${continuation} of at most ${max}). An independent judge checked the evidence.`,
    `Judge's reason: ${reason}`,
  ];
  if (missing.length > 0) lines.push("Still missing:", ...missing.map((item) => `- ${item}`));
  lines.push(
    `Goal: ${condition.length > 600 ? condition.slice(0, 600) + " …" : condition}`,
    "Continue the work. Show evidence (run the checks, show results). If the goal truly cannot be reached, say exactly why.",
  );
  return lines.join("\n");
}
