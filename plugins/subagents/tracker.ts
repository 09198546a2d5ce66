// Which sessions are subagents of OpenCode's `task` tool, and their lifecycle, as pure functions over a record the
// feature keeps in the child's session slot. The parent's `task` tool part is the one trusted link (its running
// state carries the child's session id before the child's first hook); the pack's own helpers never appear in one.
import { z } from "zod";
import type { CallTokens } from "../core/host-types.ts";
import { totalTokens } from "../core/tokens.ts";

export type SubagentStatus = "running" | "done" | "cancelled" | "failed";

/** The `task` tool part of the parent's message, as OpenCode 1.18.33 publishes it (test/e2e/subagent-host.test.ts). */
const taskPartSchema = z.object({
  type: z.literal("tool"),
  tool: z.literal("task"),
  callID: z.string().max(200),
  sessionID: z.string().min(1).max(200),
  state: z.object({
    status: z.enum(["pending", "running", "completed", "error"]),
    input: z
      .object({
        subagent_type: z.string().max(200).optional(),
        description: z.string().optional(),
      })
      .passthrough()
      .optional(),
    metadata: z
      .object({ sessionId: z.string().min(1).max(200) })
      .passthrough()
      .optional(),
    error: z.string().optional(),
  }),
});

/** What one task part says about its child: linked (running), or how it ended. */
export interface TaskPartNews {
  parentId: string;
  childId: string;
  callId: string;
  agent: string;
  description: string;
  /** undefined while it runs. */
  ended: Exclude<SubagentStatus, "running"> | undefined;
}

/** The news in a raw part, or undefined for any other part (or one not yet linked to its child session). */
export function readTaskPart(raw: unknown): TaskPartNews | undefined {
  const parsed = taskPartSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { state, callID, sessionID } = parsed.data;
  const childId = state.metadata?.sessionId;
  if (!childId || state.status === "pending" || childId === sessionID) return undefined;
  return {
    parentId: sessionID,
    childId,
    callId: callID,
    agent: (state.input?.subagent_type ?? "subagent").slice(0, 60),
    description: oneLine(state.input?.description ?? "").slice(0, 120),
    ended: endedAs(state.status, state.error),
  };
}

function endedAs(status: string, error: string | undefined): TaskPartNews["ended"] {
  if (status === "completed") return "done";
  if (status !== "error") return undefined;
  return error === "Task cancelled" ? "cancelled" : "failed";
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** One subagent, in its own session's slot. */
export interface SubagentRecord {
  parentId: string;
  rootId: string;
  agent: string;
  description: string;
  runId: string;
  /** The task call it runs for now (a resume by task_id is a new call of the same child), and how many it had. */
  callId: string;
  calls: number;
  status: SubagentStatus;
  startedAt: number;
  endedAt?: number;
  /** Message ids already counted (over all its runs): OpenCode publishes each finished message twice. */
  counted: Set<string>;
  /** The current run's spend. */
  requests: number;
  tokens: CallTokens;
  cost: number;
}

/** The ledger run of a child's nth task call (a resume by task_id is a run of its own). */
export const runIdOf = (childId: string, call = 1) => (call > 1 ? `sub-${childId}-${call}` : `sub-${childId}`);

/** The child session a subagent run id (or a session id) names. */
export const childOfRunId = (id: string) => /^sub-([^-\s]+)(?:-\d+)?$/.exec(id)?.[1] ?? id;

export function newRecord(news: TaskPartNews, rootId: string, now: number): SubagentRecord {
  return {
    parentId: news.parentId,
    rootId,
    agent: news.agent,
    description: news.description,
    runId: runIdOf(news.childId),
    callId: news.callId,
    calls: 1,
    status: "running",
    startedAt: now,
    counted: new Set(),
    requests: 0,
    tokens: { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
    cost: 0,
  };
}

/** Adds one finished model call once per message id; false when already counted. */
export function countCall(record: SubagentRecord, messageId: string, tokens: CallTokens, cost: number): boolean {
  if (record.counted.has(messageId)) return false;
  record.counted.add(messageId);
  record.requests++;
  for (const key of Object.keys(record.tokens) as (keyof CallTokens)[]) record.tokens[key] += tokens[key] ?? 0;
  record.cost += cost;
  return true;
}

/** Ends the record once (repeated idles and duplicate parts change nothing); false when it had ended already. */
export function endRecord(record: SubagentRecord, status: Exclude<SubagentStatus, "running">, now: number): boolean {
  if (record.status !== "running") return false;
  record.status = status;
  record.endedAt = now;
  return true;
}

/**
 * Applies a later task part to the child's record: its end (only for the call it runs for), or a resume by task_id
 * (a new call on an ended child). Returns what changed, so the caller writes the ledger once per change.
 */
export function applyNews(record: SubagentRecord, news: TaskPartNews, now: number): "ended" | "resumed" | undefined {
  if (news.callId !== record.callId) {
    if (news.ended || record.status === "running") return undefined;
    record.callId = news.callId;
    record.calls++;
    record.runId = runIdOf(childOfRunId(record.runId), record.calls);
    record.status = "running";
    record.startedAt = now;
    record.endedAt = undefined;
    record.requests = 0;
    record.tokens = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
    record.cost = 0;
    return "resumed";
  }
  return news.ended && endRecord(record, news.ended, now) ? "ended" : undefined;
}

export const tokensOf = (record: SubagentRecord) => totalTokens(record.tokens);
