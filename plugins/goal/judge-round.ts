// One judge round as the feature runs it: the judge's model, the round itself, and its verdict (or failure)
// recorded and fed back to the machine, unless the goal changed while the judge ran.
import { parseModelRef } from "../core/host-types.ts";
import type { FeatureParts } from "../core/feature.ts";
import { formatTokens } from "./format.ts";
import { createJudge, verdictRecord, type Model } from "./judge.ts";
import type { TranscriptMessage } from "./judge-prompt.ts";
import type { GoalInput, Verdict } from "./state-machine.ts";
import type { GoalEngine } from "./engine.ts";
import type { GoalDeps } from "./session.ts";
import type { StoredGoal } from "./store.ts";

export interface GoalJudge {
  run(mainSessionId: string, goal: StoredGoal, run: number, attempt: number): Promise<void>;
  readMessages(sessionId: string): Promise<TranscriptMessage[]>;
  tool: NonNullable<FeatureParts["tools"]>[string];
  /** The judge agent's own model, from the host's config (read once at start). */
  setAgentModel(model: string | undefined): void;
}

export function createGoalJudge(deps: GoalDeps, engine: GoalEngine): GoalJudge {
  const { context, store, log } = deps;
  const { config, reporter, sessions, host } = context;
  let judgeAgentModel: string | undefined;

  /** judgeModel config, else the judge agent's own model, else the model the main session is using. */
  const judgeModel = (mainSessionId: string): Model | undefined => {
    const configured = config.goal.judgeModel ?? judgeAgentModel;
    if (configured) {
      const parsed = parseModelRef(configured);
      if (parsed) return parsed;
      reporter.problem(
        "goal:judge-model",
        `goal.judgeModel "${configured}" is not "provider/model"; using the session's model`,
      );
    }
    return sessions.session(mainSessionId).lastTurn.model;
  };

  const readMessages = async (sessionId: string): Promise<TranscriptMessage[]> =>
    (await host.messages(sessionId)) as unknown as TranscriptMessage[];
  const judge = createJudge({ context, readMessages, model: judgeModel });

  const run = async (mainSessionId: string, goal: StoredGoal, judgeRun: number, attempt: number) => {
    const round = await judge.run(mainSessionId, goal, attempt);
    await engine.serial(mainSessionId, async () => {
      const current = store.current(mainSessionId);
      const stale =
        !current || current.id !== goal.id || current.state.judgeRun !== judgeRun || current.state.status !== "judging";
      const notes = [
        round.estimated ? "(judge tokens estimated: the call was cut off before usage was reported)" : "",
        stale ? "(stale: the goal changed while the judge ran)" : "",
      ];
      store.addVerdict(goal.id, verdictRecord(round, judgeRun, notes.filter(Boolean).join(" ")));
      if (stale) return;
      const { outcome, tokens } = round;
      const input: GoalInput =
        "verdict" in outcome
          ? { type: "verdict", run: judgeRun, verdict: outcome.verdict }
          : { type: "judgeFailed", run: judgeRun, error: outcome.error };
      log.log(
        "info",
        `goal judge round for ${mainSessionId}: ${"verdict" in outcome ? verdictSummary(outcome.verdict) : `failed: ${outcome.error}`}; ${formatTokens(tokens)}`,
      );
      if ("error" in outcome) reporter.notify(`Goal judge failed (attempt ${attempt}): ${outcome.error}`, "warning");
      else if (!outcome.verdict.met && !outcome.verdict.impossible)
        reporter.notify(`Goal not met yet: ${outcome.verdict.reason} (judge: ${formatTokens(tokens)})`, "info");
      await engine.apply(mainSessionId, input, current);
    });
  };

  return {
    run,
    readMessages,
    tool: judge.tool,
    setAgentModel: (model) => void (judgeAgentModel = model),
  };
}

const verdictSummary = (v: Verdict) => (v.met ? "met" : v.impossible ? "impossible" : "not met") + `: ${v.reason}`;
