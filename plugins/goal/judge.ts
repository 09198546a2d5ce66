// Runs one goal-judge round through the helper runner and collects what it cost. The verdict arrives only
// through the goal_verdict tool; whatever the judge writes as prose is ignored.
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import type { ModelRef } from "../core/host-types.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { truncateToTokens } from "../core/tokens.ts";
import type { PackTool } from "../core/tool.ts";
import { judgePrompt, renderTranscript, type TranscriptMessage } from "./judge-prompt.ts";
import { JUDGE_AGENT, VERDICT_TOOL } from "./permissions.ts";
import { parseVerdict, type Verdict } from "./state-machine.ts";
import type { JudgeTokens, StoredGoal, VerdictOutcome, VerdictRecord } from "./store.ts";

export type Model = ModelRef;
export type JudgeOutcome = { verdict: Verdict } | { error: string };

export interface JudgeRound {
  judgeSessionId: string | null;
  outcome: JudgeOutcome;
  tokens: JudgeTokens;
  /** The call was cut off before the provider reported usage: tokens are our estimate of what was sent. */
  estimated: boolean;
}

export interface JudgeDeps {
  context: FeatureContext;
  readMessages(sessionId: string): Promise<TranscriptMessage[]>;
  /** The model the judge uses for this main session, or undefined for the agent's default. */
  model(mainSessionId: string): Model | undefined;
}

export interface Judge {
  run(mainSessionId: string, goal: StoredGoal, attempt: number): Promise<JudgeRound>;
  /** goal_verdict, the judge's result channel (refuses every caller but a judge run). */
  readonly tool: PackTool;
}

const verdictArgs = {
  met: z.boolean().describe("True only when the evidence shows the goal's condition holds."),
  impossible: z.boolean().describe("True only when the goal cannot be reached at all (never with met)."),
  reason: z.string().min(1).max(2000).describe("One or two sentences a person can check."),
  evidence: z.array(z.string().max(1000)).max(30).describe("Concrete items relied on; at least one when met."),
  missing: z
    .array(z.string().max(1000))
    .max(30)
    .describe("When not met: what is still missing, as short imperative items."),
};

export function createJudge(deps: JudgeDeps): Judge {
  const { context } = deps;
  const config = context.config.goal;

  const channel = context.helpers.resultChannel(VERDICT_TOOL, {
    description:
      "Record the goal judge's verdict. Only the goal judge may call this, exactly once. met needs evidence; impossible only when the goal cannot be reached at all; missing lists what is still missing when not met.",
    args: verdictArgs,
    reserved: `${VERDICT_TOOL} is reserved for the goal judge's own session; it does nothing here. Keep working on the task (the judge runs by itself when you stop).`,
    accept(args) {
      const parsed = parseVerdict(args);
      if (!parsed.ok) return { ok: false, problems: [`verdict refused: ${parsed.error}`] };
      return { ok: true, value: parsed.verdict, reply: "Verdict recorded." };
    },
  });

  const run = async (mainSessionId: string, goal: StoredGoal, attempt: number): Promise<JudgeRound> => {
    let prompt: string;
    try {
      prompt = judgePrompt({
        condition: goal.state.condition,
        checkpoint: readCheckpoint(mainSessionId),
        taskTree: context.services.tasks?.tree(mainSessionId),
        transcript: renderTranscript(await deps.readMessages(mainSessionId), redact),
        round: goal.state.rounds + 1,
        continuationsUsed: goal.state.continuations,
        maxContinuations: config.maxContinuations,
      });
    } catch (error) {
      return {
        judgeSessionId: null,
        outcome: { error: errorText(error) },
        tokens: { input: 0, output: 0, total: 0 },
        estimated: false,
      };
    }
    const outcome = await context.helpers.run({
      feature: "goal",
      agent: JUDGE_AGENT,
      parentSessionId: mainSessionId,
      title: `goal judge: round ${goal.state.rounds + 1}${attempt > 1 ? ` (retry ${attempt - 1})` : ""}`,
      prompt,
      channel,
      context: undefined,
      model: deps.model(mainSessionId),
      timeoutMs: config.judgeTimeoutMs,
      // The goal's state machine decides about another round; one run is one attempt.
      retries: 0,
      reason: `round ${goal.state.rounds + 1}`,
    });
    const t = outcome.usage.tokens;
    const input = t.input + t.cacheRead + t.cacheWrite;
    const output = t.output + t.reasoning;
    const tokens = { input, output, total: input + output };
    const failures: Record<string, string> = {
      timeout: `no verdict within ${config.judgeTimeoutMs} ms (timeout)`,
      "no-result": `the judge ended without calling ${VERDICT_TOOL}`,
      "invalid-result": `the judge's verdict was refused: ${outcome.ok ? "" : outcome.message}`,
      aborted: `the judge was stopped: ${outcome.ok ? "" : outcome.message}`,
      error: `the judge's turn ended with an error: ${outcome.ok ? "" : outcome.message}`,
    };
    return {
      judgeSessionId: outcome.childSessionId ?? null,
      outcome: outcome.ok ? { verdict: outcome.value } : { error: failures[outcome.failure]! },
      tokens,
      estimated: outcome.usage.estimated,
    };
  };

  const readCheckpoint = (sessionId: string): string | undefined => {
    const latest = context.services.checkpoint?.latest(sessionId);
    if (!latest) return undefined;
    try {
      return truncateToTokens(redact(latest.text), 3000);
    } catch (error) {
      context.reporter.log("warn", `goal: checkpoint unreadable for the judge: ${errorText(error)}`);
      return undefined;
    }
  };

  return { run, tool: channel.tool };
}

/** What the goal store keeps of one judge round: its verdict (or failure), with a note and what it cost. */
export function verdictRecord(round: JudgeRound, run: number, note: string): VerdictRecord {
  const verdict = "verdict" in round.outcome ? round.outcome.verdict : undefined;
  const kind: VerdictOutcome = !verdict
    ? "judge failed"
    : verdict.met
      ? "met"
      : verdict.impossible
        ? "impossible"
        : "not met";
  const reason = verdict ? verdict.reason : (round.outcome as { error: string }).error;
  return {
    at: new Date().toISOString(),
    run,
    outcome: kind,
    reason: note ? `${reason} ${note}` : reason,
    evidence: verdict?.evidence ?? [],
    missing: verdict?.missing ?? [],
    judgeSessionId: round.judgeSessionId,
    tokens: round.tokens,
  };
}
