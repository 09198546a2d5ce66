// Host adapter of the goal feature: `/goal` commands, the judge on session.idle of a main session, the
// goal_verdict tool, continuation prompts (sent by the continuation arbiter). All decisions are made by
// state-machine.ts; the modules wired here gather facts, apply the machine's actions, and persist every step:
// engine.ts (steps), judge-round.ts (a judge round), continue.ts (continuations), command.ts (/goal),
// events.ts (the session's turns and restarts).
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { goalCommand } from "./command.ts";
import { goalContinuation } from "./continue.ts";
import { createEngine } from "./engine.ts";
import { followSessions } from "./events.ts";
import { createGoalJudge } from "./judge-round.ts";
import { JUDGE_AGENT, VERDICT_TOOL } from "./permissions.ts";
import { goalSlot, type GoalDeps } from "./session.ts";
import { openGoalStore, type GoalStore } from "./store.ts";

export const goalFeature: FeatureModule = {
  name: "goal",
  needsDatabase: true,
  uses: ["tasks", "checkpoint"],
  assets: { agents: [JUDGE_AGENT], commands: ["goal"] },
  internalTools: [{ tool: VERDICT_TOOL, agent: JUDGE_AGENT }],
  create(context) {
    return createGoal(context, openGoalStore(context.db!, undefined, { sessionDir: context.projectPaths.session }));
  },
};

export default goalFeature;

function createGoal(context: FeatureContext, store: GoalStore): FeatureParts {
  const deps: GoalDeps = {
    context,
    store,
    log: context.reporter.child("goal"),
    stateOf: (sessionId) => context.sessions.session(sessionId).get(goalSlot),
    tasksUsed: context.config.tasks.enabled && context.services.tasks !== undefined,
  };
  const continuation = goalContinuation(deps);
  // The engine starts judges and sends continuations; the judge feeds its verdict back to the engine.
  const engine = createEngine(deps, () => ({ startJudge: judge.run, continueWork: continuation.offer }));
  const judge = createGoalJudge(deps, engine);
  const onCommand = goalCommand(deps, engine);
  const stopRestart = followSessions(deps, engine, judge, continuation);

  return {
    config(cfg) {
      judge.setAgentModel(cfg.agent?.[JUDGE_AGENT]?.model);
    },
    tools: { [VERDICT_TOOL]: judge.tool },
    commands: { goal: ({ sessionId, arguments: args }) => onCommand(sessionId, args) },
    dispose: stopRestart,
  };
}
