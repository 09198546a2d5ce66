// One candidate's or the judge's helper run within a Max turn: the model it runs on, its title and retry prompt for
// /agents, and what it cost in the shape the round keeps. Every run goes through the helper runner under `max`.
import type { Confinement } from "../core/confinement.ts";
import type { HelperOutcome, ResultChannel } from "../core/helpers.ts";
import { parseModelRef, type ModelRef } from "../core/host-types.ts";
import type { Reporter } from "../core/report.ts";
import { lensFor } from "./lenses.ts";
import { BUILDER_AGENT, JUDGE_AGENT, VERDICT_TOOL } from "./names.ts";
import type { CandidateOutcome, JudgeOutcome, Spend } from "./round.ts";
import type { TurnKit, TurnSetup } from "./turn-kit.ts";
import type { Verdict } from "./verdict.ts";

/** A configured model, or the session's when none is set or it is not "provider/model" (said once, as a problem). */
export function modelFor(
  reporter: Reporter,
  configured: string | undefined,
  key: string,
  fallback: ModelRef | undefined,
): ModelRef | undefined {
  if (!configured) return fallback;
  const parsed = parseModelRef(configured);
  if (parsed) return parsed;
  reporter.problem(
    `max:${key}`,
    `max.${key} "${configured.slice(0, 80)}" is not "provider/model"; using the session's model`,
  );
  return fallback;
}

export function spendOf(outcome: HelperOutcome<unknown>): Spend {
  const t = outcome.usage.tokens;
  return {
    tokens: t.input + t.output + t.reasoning + t.cacheRead + t.cacheWrite,
    cost: outcome.usage.cost,
    estimated: outcome.usage.estimated,
  };
}

/** A candidate that gave nothing usable; what its run cost still counts. */
export function failed<R>(
  index: number,
  outcome: HelperOutcome<unknown> | undefined,
  failure: string,
  message: string,
): CandidateOutcome<R> {
  return {
    index,
    spend: outcome ? spendOf(outcome) : { tokens: 0, cost: 0, estimated: false },
    durationMs: outcome?.usage.durationMs ?? 0,
    ok: false,
    failure,
    message,
  };
}

export async function candidateRun<T, C>(
  kit: TurnKit,
  setup: TurnSetup,
  index: number,
  abort: AbortSignal,
  agent: string,
  channel: ResultChannel<T, C>,
  prompt: string,
  extra: { worktree?: Confinement } = {},
): Promise<HelperOutcome<T>> {
  const { settings } = kit;
  const total = settings.candidates;
  const lens = lensFor(index);
  const tool = channel.name;
  const role = agent === BUILDER_AGENT ? "builder" : "candidate";
  return kit.context.helpers.run({
    feature: "max",
    agent,
    parentSessionId: setup.turn.sessionId,
    title: `max ${role} ${index}/${total} (${lens.name})`,
    prompt,
    channel,
    context: undefined as C,
    model: setup.candidateModel,
    timeoutMs: settings.candidateTimeoutMs,
    retries: 1,
    retryPrompt: (problem) =>
      `Max Mode ${role} ${index} of ${total}: nothing was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${tool} once now, fixing what it named.`,
    signal: abort,
    reason: `${role} ${index}/${total} · ${lens.name}`,
    ...extra,
  });
}

export async function judgeRun(
  kit: TurnKit,
  setup: TurnSetup,
  shown: number[],
  prompt: string,
  abort: AbortSignal,
): Promise<JudgeOutcome> {
  const outcome = await kit.context.helpers.run({
    feature: "max",
    agent: JUDGE_AGENT,
    parentSessionId: setup.turn.sessionId,
    title: `max judge (${shown.length} candidates)`,
    prompt,
    channel: kit.channels.verdict,
    context: shown,
    model: setup.judgeModel,
    timeoutMs: kit.settings.candidateTimeoutMs,
    retries: 1,
    retryPrompt: (problem) =>
      `Max Mode judge: no verdict was recorded${problem ? ` (${problem.slice(0, 500)})` : ""}. Call ${VERDICT_TOOL} once now, fixing what it named.`,
    signal: abort,
    reason: `judge of ${shown.length} candidates`,
  });
  return outcome.ok
    ? { spend: spendOf(outcome), ok: true, verdict: outcome.value as Verdict }
    : { spend: spendOf(outcome), ok: false, message: outcome.message };
}
