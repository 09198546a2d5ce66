// Shared pieces of the goal end-to-end tests: a judge lane for the scripted model (matched by the judge agent's
// system prompt), and reads of the pack's goal tables straight from its SQLite file.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { IsolatedEnv } from "../harness/env.ts";
import { isGoalJudgeRequest, type Lane, type RecordedRequest, type ScriptedReply } from "../harness/scripted-model.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { CONTINUATION_MARKER, type GoalState } from "../../plugins/goal/state-machine.ts";

export const isJudgeRequest = isGoalJudgeRequest;

export interface JudgeVerdict {
  met: boolean;
  impossible?: boolean;
  reason: string;
  evidence?: string[];
  missing?: string[];
  /** Delay before the scripted judge answers (to hold a goal in `judging`). */
  delayMs?: number;
  /** Tool calls the judge makes first (one model call), before giving the verdict on the next call. */
  before?: { name: string; args: Record<string, unknown> }[];
}

/** A verdict the judge gives through the tool, or a plain text answer (a judge that never calls the tool). */
export type JudgeMove = JudgeVerdict | { text: string };

/** Names of the tools the judge called in its latest assistant message. */
const lastToolNames = (r: RecordedRequest) =>
  ([...r.body.messages].reverse().find((m) => m.role === "assistant")?.tool_calls ?? []).map((c) => c.function.name);

/**
 * The judge lane: each judge session's first call answers with the next move (optionally preceded by `before`
 * tool calls); the call after the verdict tool's result (the judge's closing "done") does not consume a move.
 */
export function judgeLane(moves: JudgeMove[] | ((round: number, request: RecordedRequest) => JudgeMove)): Lane {
  let round = 0;
  let pending: JudgeVerdict | undefined;
  const verdictCall = (move: JudgeVerdict): ScriptedReply => {
    const { delayMs, before: _before, ...verdict } = move;
    const args = { impossible: false, evidence: [], missing: [], ...verdict };
    return { toolCalls: [{ name: "goal_verdict", args }], ...(delayMs ? { delayMs } : {}) };
  };
  return {
    name: "judge",
    match: isJudgeRequest,
    replies: (request): ScriptedReply => {
      if (request.body.messages.at(-1)?.role === "tool") {
        if (lastToolNames(request).includes("goal_verdict") || !pending) return { text: "done" };
        const move = pending;
        pending = undefined;
        return verdictCall(move);
      }
      const move =
        typeof moves === "function" ? moves(round, request) : (moves[round] ?? { text: "no more scripted verdicts" });
      round++;
      if ("text" in move) return { text: move.text };
      if (move.before?.length) {
        pending = move;
        return { toolCalls: move.before };
      }
      return verdictCall(move);
    },
  };
}

export const continuationsSeen = (requests: RecordedRequest[]) =>
  requests.filter(
    (r) =>
      r.lane === "main" && r.body.messages.at(-1)?.role === "user" && r.lastUserText.startsWith(CONTINUATION_MARKER),
  );

export interface GoalRow {
  id: number;
  state: GoalState;
  verdicts: { outcome: string; reason: string; total_tokens: number; input_tokens: number }[];
}

/** Reads the session's current goal from the pack's database (undefined when none yet). */
export async function readGoal(env: IsolatedEnv, sessionId: string): Promise<GoalRow | undefined> {
  const path = join(env.packDataDir, "continuum.db");
  if (!existsSync(path)) return undefined;
  const db = await openDatabase(path, { readonly: true });
  try {
    const row = db
      .prepare("SELECT id, state_json FROM goals WHERE session_id = ? ORDER BY id DESC LIMIT 1")
      .get<{ id: number; state_json: string }>(sessionId);
    if (!row) return undefined;
    const verdicts = db
      .prepare("SELECT outcome, reason, total_tokens, input_tokens FROM goal_verdicts WHERE goal_id = ? ORDER BY id")
      .all<GoalRow["verdicts"][number]>(row.id);
    return { id: row.id, state: JSON.parse(row.state_json) as GoalState, verdicts };
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

export async function waitForGoal(
  env: IsolatedEnv,
  sessionId: string,
  predicate: (goal: GoalRow) => boolean,
  timeoutMs: number,
  what: string,
): Promise<GoalRow> {
  const deadline = Date.now() + timeoutMs;
  let last: GoalRow | undefined;
  for (;;) {
    last = await readGoal(env, sessionId);
    if (last && predicate(last)) return last;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; goal now: ${JSON.stringify(last?.state ?? null)} verdicts ${JSON.stringify(last?.verdicts ?? [])}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `/goal <args>` through the SDK like the TUI does (answers come from the pack's local report model). */
export async function goalCommand(
  client: { session: { command: (o: any) => Promise<{ error?: unknown; response?: Response }> } },
  sessionId: string,
  args: string,
) {
  return client.session.command({ path: { id: sessionId }, body: { command: "goal", arguments: args } });
}

/** Text of the pack's answers shown in the session: the replies of its local report model (no model call). */
export async function shownAnswers(
  client: { session: { messages: (o: any) => Promise<{ data?: unknown }> } },
  sessionId: string,
): Promise<string[]> {
  const listed = (await client.session.messages({ path: { id: sessionId } })).data as
    | { info: { role: string; providerID?: string }; parts: { type: string; text?: string }[] }[]
    | undefined;
  return (listed ?? [])
    .filter((m) => m.info.role === "assistant" && m.info.providerID === "continuum")
    .flatMap((m) => m.parts.filter((p) => p.type === "text").map((p) => p.text ?? ""));
}

/**
 * Settings of the goal tests: the checkpoint writer is off (its model calls would take the worker's scripted
 * replies) and OpenCode's per-step git snapshots are off (they only cost time here).
 */
export function goalEnvOptions(goal: Record<string, unknown> = {}) {
  return { continuumConfig: { checkpoint: { enabled: false }, goal }, opencodeConfig: { snapshot: false } };
}
