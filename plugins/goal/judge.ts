// Runs one goal-judge round in a hidden child session and collects what it cost. The verdict arrives only
// through the goal_verdict tool (acceptVerdict); whatever the judge writes as prose is ignored.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolInputError } from "../core/compose.ts";
import type { FeatureContext } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";
import { renderTaskTree } from "../tasks/render.ts";
import type { TaskStore } from "../tasks/store.ts";
import { sumAssistantTokens } from "./format.ts";
import { judgePrompt, renderTranscript, type TranscriptMessage } from "./judge-prompt.ts";
import { JUDGE_AGENT, VERDICT_TOOL } from "./permissions.ts";
import { parseVerdict, type Verdict } from "./state-machine.ts";
import type { JudgeTokens, StoredGoal } from "./store.ts";

type Client = FeatureContext["host"]["client"];
export type Model = { providerID: string; modelID: string };
export type JudgeOutcome = { verdict: Verdict } | { error: string };

export interface JudgeRound {
  judgeSessionId: string | null;
  outcome: JudgeOutcome;
  tokens: JudgeTokens;
  /** The call was cut off before the provider reported usage: tokens are our estimate of what was sent. */
  estimated: boolean;
}

export interface JudgeDeps {
  client: Client;
  context: FeatureContext;
  taskStore: TaskStore | undefined;
  sessionDir(sessionId: string): string;
  readMessages(sessionId: string): Promise<TranscriptMessage[]>;
  /** The model the judge uses for this main session, or undefined for the agent's default. */
  model(mainSessionId: string): Model | undefined;
}

export interface Judge {
  run(mainSessionId: string, goal: StoredGoal, attempt: number): Promise<JudgeRound>;
  /** The goal_verdict tool's body: records the verdict of a judge session, refuses every other caller. */
  acceptVerdict(sessionId: string, args: unknown): string;
  isJudgeSession(sessionId: string): boolean;
}

export function createJudge(deps: JudgeDeps): Judge {
  const { client, context } = deps;
  const config = context.config.goal;
  const pending = new Map<string, { verdict?: Verdict }>();

  const run = async (mainSessionId: string, goal: StoredGoal, attempt: number): Promise<JudgeRound> => {
    let judgeSessionId: string | null = null;
    let outcome: JudgeOutcome;
    const sent = { text: "" };
    try {
      judgeSessionId = await createSession(mainSessionId, goal, attempt);
      pending.set(judgeSessionId, {});
      outcome = await prompt(judgeSessionId, mainSessionId, goal, sent);
    } catch (error) {
      outcome = { error: errorText(error) };
    }
    let tokens = judgeSessionId ? await spent(judgeSessionId) : { input: 0, output: 0, total: 0 };
    if (judgeSessionId) pending.delete(judgeSessionId);
    // A call cut off by the timeout may still be billed: count what we sent rather than nothing.
    const estimated = tokens.total === 0 && sent.text.length > 0;
    if (estimated) tokens = { input: estimateTokens(sent.text), output: 0, total: estimateTokens(sent.text) };
    return { judgeSessionId, outcome, tokens, estimated };
  };

  const createSession = async (mainSessionId: string, goal: StoredGoal, attempt: number): Promise<string> => {
    const title = `goal judge: round ${goal.state.rounds + 1}${attempt > 1 ? ` (retry ${attempt - 1})` : ""}`;
    const created = await client.session.create({ body: { parentID: mainSessionId, title } });
    if (!created.data) throw new Error(`could not create the judge session: ${JSON.stringify(created.error)}`);
    context.sessions.markInternal(created.data.id, JUDGE_AGENT);
    context.sessions.markChild(created.data.id, mainSessionId);
    return created.data.id;
  };

  const prompt = async (judgeSessionId: string, mainSessionId: string, goal: StoredGoal, sent: { text: string }): Promise<JudgeOutcome> => {
    const text = judgePrompt({
      condition: goal.state.condition,
      checkpoint: readCheckpoint(mainSessionId),
      taskTree: deps.taskStore ? renderTaskTree(deps.taskStore.list(mainSessionId)) : undefined,
      transcript: renderTranscript(await deps.readMessages(mainSessionId), redact),
      round: goal.state.rounds + 1,
      continuationsUsed: goal.state.continuations,
      maxContinuations: config.maxContinuations,
    });
    sent.text = text;
    const model = deps.model(mainSessionId);
    const call = client.session.prompt({
      path: { id: judgeSessionId },
      body: { agent: JUDGE_AGENT, parts: [{ type: "text", text }], ...(model ? { model } : {}) },
    });
    const finished = await raceTimeout(call, config.judgeTimeoutMs);
    const recorded = pending.get(judgeSessionId)?.verdict;
    if (recorded) return { verdict: recorded };
    if (finished === "timeout") {
      await client.session.abort({ path: { id: judgeSessionId } }).catch(() => undefined);
      return { error: `no verdict within ${config.judgeTimeoutMs} ms (timeout)` };
    }
    const result = finished.value;
    if (result.error) return { error: `the judge's model call failed: ${JSON.stringify(result.error).slice(0, 300)}` };
    const failed = (result.data?.info as { error?: { name?: string; data?: { message?: string } } } | undefined)?.error;
    if (failed) return { error: `the judge's turn ended with ${failed.name ?? "an error"}: ${failed.data?.message ?? ""}`.trim() };
    return { error: `the judge ended without calling ${VERDICT_TOOL}` };
  };

  /** What every model call of the judge session cost, as OpenCode recorded it. */
  const spent = async (judgeSessionId: string): Promise<JudgeTokens> => {
    const listed = await client.session.messages({ path: { id: judgeSessionId } }).catch(() => undefined);
    return sumAssistantTokens((listed?.data ?? []) as { info: { role?: string } }[]);
  };

  const readCheckpoint = (sessionId: string): string | undefined => {
    const file = join(deps.sessionDir(sessionId), "checkpoint.md");
    if (!existsSync(file)) return undefined;
    try {
      return truncateToTokens(redact(readFileSync(file, "utf8")), 3000);
    } catch (error) {
      context.reporter.log("warn", `goal: checkpoint unreadable for the judge: ${errorText(error)}`);
      return undefined;
    }
  };

  const acceptVerdict = (sessionId: string, args: unknown): string => {
    const judge = pending.get(sessionId);
    if (!judge) {
      throw new ToolInputError(`${VERDICT_TOOL} is reserved for the goal judge's own session; it does nothing here. Keep working on the task (the judge runs by itself when you stop).`);
    }
    if (judge.verdict) return "A verdict for this round is already recorded. Reply with the single word done.";
    const parsed = parseVerdict(args);
    if (!parsed.ok) throw new ToolInputError(`verdict refused: ${parsed.error}. Call ${VERDICT_TOOL} again with a consistent verdict.`);
    judge.verdict = parsed.verdict;
    return "Verdict recorded. Reply with the single word done.";
  };

  return { run, acceptVerdict, isJudgeSession: (id) => pending.has(id) };
}

async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
