// Max Mode: best-of-N for a user's turn. `/max <task>` (or any turn of the `max` agent) runs N candidates in
// child sessions (read-only planners, or builders in their own git worktrees), stops early when two scouts agree,
// otherwise lets a judge pick, and adds the outcome to the user's turn as one part (the plan to carry out, or the
// change code applied). This module decides when a turn is a Max turn; session-turn.ts runs it in its session,
// turn.ts plays it, controls.ts stops it or applies a held change, command.ts answers `/max`, state.ts is the slot.
// Every candidate and judge run goes through the helper runner, so the ledger counts it under `max`.
import type { FeatureContext, FeatureModule, FeatureParts, UserTurn } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { parseMaxArgs, type MaxMode } from "./args.ts";
import { createMaxChannels } from "./channels.ts";
import { createMaxCommand } from "./command.ts";
import { createControls } from "./controls.ts";
import {
  BUILDER_AGENT,
  CANDIDATE_AGENT,
  JUDGE_AGENT,
  MAIN_AGENT,
  PATCH_TOOL,
  PLAN_TOOL,
  VERDICT_TOOL,
} from "./names.ts";
import { failurePart } from "./prompts.ts";
import { createSessionTurns } from "./session-turn.ts";
import { maxSlot } from "./state.ts";
import { openStatsStore } from "./stats.ts";
import { createTurns, type HeldChanges } from "./turn.ts";
import { killRunningChecks } from "../core/checks.ts";

export {
  BUILDER_AGENT,
  CANDIDATE_AGENT,
  JUDGE_AGENT,
  MAIN_AGENT,
  PATCH_TOOL,
  PLAN_TOOL,
  VERDICT_TOOL,
} from "./names.ts";

export const maxFeature: FeatureModule = {
  name: "max",
  needsDatabase: false,
  uses: ["tasks", "checkpoint"],
  assets: { agents: [MAIN_AGENT, CANDIDATE_AGENT, BUILDER_AGENT, JUDGE_AGENT], commands: ["max"] },
  internalTools: [
    { tool: PLAN_TOOL, agent: CANDIDATE_AGENT },
    { tool: PATCH_TOOL, agent: BUILDER_AGENT },
    { tool: VERDICT_TOOL, agent: JUDGE_AGENT },
  ],
  create: (context) => createMax(context),
};

export default maxFeature;

function createMax(context: FeatureContext): FeatureParts {
  const { config, reporter, sessions, helpers, host } = context;
  const settings = config.max;
  const log = reporter.child("max");
  const store = openStatsStore(context.projectPaths.session, (m) => log.log("warn", m));
  const agentModels: { candidate?: string; judge?: string } = {};
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(maxSlot);
  const channels = createMaxChannels(helpers);
  const holdBack = (sessionId: string, held: HeldChanges) => void (stateOf(sessionId).held = held);
  const turns = createTurns({ context, channels, store, agentModels, log, holdBack });
  const turnBudgetMs = turns.budgetMs;
  const { runTurn } = createSessionTurns({ context, store, turnBudgetMs, play: turns.play });
  const { stopRunning, applyHeld } = createControls(context);
  const onCommand = createMaxCommand(context, store, { stopRunning, applyHeld });

  const onUserTurn = async (turn: UserTurn) => {
    if (sessions.helperOf(turn.sessionId)) return;
    const state = stateOf(turn.sessionId);
    let request: { task: string; mode: MaxMode } | undefined;
    if (state.pending && turn.text === state.pending.task) {
      request = { task: state.pending.task, mode: state.pending.mode ?? settings.mode };
      state.pending = undefined;
    } else if (turn.agent === MAIN_AGENT && turn.origin === "person" && turn.text) {
      const parsed = parseMaxArgs(turn.text);
      if (parsed.kind === "stop") {
        // `stop` typed to the max agent is answered here: no model call (the local report model says it).
        const said = stopRunning(turn.sessionId);
        if (!turn.answerLocally?.(said)) reporter.notify(said, "info");
        return;
      }
      if (parsed.kind === "apply") {
        const applied = await applyHeld(turn.sessionId, parsed.index);
        return reporter.notify(applied.text, applied.ok ? "info" : "warning");
      }
      request =
        parsed.kind === "task"
          ? { task: parsed.task, mode: parsed.mode ?? settings.mode }
          : { task: turn.text, mode: settings.mode };
    }
    if (!request) return;
    try {
      await runTurn(turn, request.task, request.mode);
    } catch (error) {
      reporter.problem("max:turn", `Max Mode failed in ${turn.sessionId}; the turn runs normally: ${errorText(error)}`);
      turn.addPart(failurePart([errorText(error)], 0));
    }
  };

  // ---- session events ------------------------------------------------------------------------------------------

  sessions.on("max", "turn.failed", (event) => {
    // The user stopped the session while its candidates run: all of them, and the judge, stop.
    if (event.aborted) sessions.peek(event.sessionId)?.get(maxSlot).active?.abort();
  });
  sessions.on("max", "session.deleted", (event) => sessions.peek(event.sessionId)?.get(maxSlot).active?.abort());
  // A Max turn runs for minutes before the message is stored: its own limit, not the hook's usual one.
  sessions.on("max", "turn.started", (event) => onUserTurn({ ...event, addPart: event.addContext }), {
    timeoutMs: turnBudgetMs,
  });
  return {
    config(cfg) {
      agentModels.candidate = cfg.agent?.[CANDIDATE_AGENT]?.model;
      agentModels.judge = cfg.agent?.[JUDGE_AGENT]?.model;
    },
    tools: {
      [PLAN_TOOL]: channels.plan.tool,
      [PATCH_TOOL]: channels.patch.tool,
      [VERDICT_TOOL]: channels.verdict.tool,
    },
    modelCall(call) {
      const diverse = call.agent === CANDIDATE_AGENT || call.agent === BUILDER_AGENT;
      if (diverse && sessions.helperOf(call.sessionId)?.feature === "max") call.setTemperature?.(settings.temperature);
    },
    commands: { max: ({ sessionId, arguments: args }) => onCommand(sessionId, args) },
    // The user aborted a Max turn: the turn OpenCode starts for that message is stopped before its first request.
    async requestMessages(sessionId) {
      const state = sessions.peek(sessionId)?.get(maxSlot);
      if (!state?.abortNextTurn) return;
      state.abortNextTurn = false;
      await host.abort(sessionId).catch(() => undefined);
    },
    // OpenCode is shutting down: a check still running (without a sandbox to take it along) ends now.
    dispose: () => killRunningChecks(),
  };
}
