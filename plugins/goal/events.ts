// The goal feature's view of the session's turns: idle facts go to the machine (the judge starts there), a
// person's message and an abort change the goal at once, and goals whose judge died with the last process resume.
import { errorText } from "../core/report.ts";
import type { TurnEnd } from "../core/sessions.ts";
import { workFingerprint } from "./format.ts";
import type { GoalContinuation } from "./continue.ts";
import type { GoalEngine } from "./engine.ts";
import type { GoalJudge } from "./judge-round.ts";
import { judgeRunsElsewhere } from "./owner.ts";
import type { IdleFacts } from "./state-machine.ts";
import type { GoalDeps } from "./session.ts";

export function followSessions(
  deps: GoalDeps,
  engine: GoalEngine,
  judge: GoalJudge,
  continuation: GoalContinuation,
): () => void {
  const { context, store } = deps;
  const { reporter, sessions } = context;
  const { serial, apply } = engine;
  const running = (sessionId: string) => {
    const goal = store.current(sessionId);
    return goal && (goal.state.status === "active" || goal.state.status === "judging") ? goal : undefined;
  };

  const idleFacts = async (sessionId: string, how: TurnEnd): Promise<IdleFacts> => {
    const messages = await judge.readMessages(sessionId);
    const lastAssistant = [...messages].reverse().find((m) => m.info.role === "assistant");
    const lastError = (lastAssistant?.info.error as { name?: string } | undefined)?.name;
    const flagged = how === "aborted" ? "abort" : how === "error" ? "error" : undefined;
    const endedBy = flagged ?? (lastError === "MessageAbortedError" ? "abort" : lastError ? "error" : "normal");
    const unfinished = deps.tasksUsed ? (context.services.tasks?.unfinished(sessionId) ?? []) : [];
    const openTasks = unfinished.map((t) => `${t.id} ${t.title} (${t.status})`);
    return {
      endedBy,
      userTypedSince: false,
      openTasks,
      fingerprint: workFingerprint(messages, deps.stateOf(sessionId).diff),
    };
  };

  const onIdle = async (sessionId: string, how: TurnEnd) => {
    if (sessions.helperOf(sessionId) || !(await sessions.isMain(sessionId))) return;
    await serial(sessionId, async () => {
      const goal = store.current(sessionId);
      if (!goal || goal.state.status !== "active") return;
      await apply(sessionId, { type: "idle", facts: await idleFacts(sessionId, how) }, goal);
    });
  };

  sessions.on("goal", "turn.started", async (event) => {
    const sessionId = event.sessionId;
    if (sessions.helperOf(sessionId) || event.origin !== "person") return;
    continuation.drop(sessionId);
    // The prompt of `/goal <condition>` itself is not an interruption.
    const state = deps.stateOf(sessionId);
    if (state.ownPrompts > 0) {
      state.ownPrompts--;
      return;
    }
    await serial(sessionId, async () => {
      const goal = running(sessionId);
      if (goal) await apply(sessionId, { type: "userMessage" }, goal);
    });
  });
  sessions.on("goal", "turn.ended", (event) => {
    // A continuation that waited for this idle just went out: its turn is the work, the judge comes after it.
    if (continuation.sentAtIdle(event.sessionId)) return;
    // Not awaited: the judge may run long, and the session layer must go on with other events.
    void onIdle(event.sessionId, event.how).catch((error) => {
      if (!sessions.closed) reporter.problem("goal:idle", `goal check on idle failed: ${errorText(error)}`);
    });
  });
  sessions.on("goal", "turn.failed", (event) => {
    if (sessions.helperOf(event.sessionId) || !event.aborted) return;
    // An abort pauses at once, not only at the next idle.
    void serial(event.sessionId, async () => {
      const goal = running(event.sessionId);
      if (goal) await apply(event.sessionId, { type: "abort" }, goal);
    });
  });
  sessions.on("goal", "diff.updated", (event) => void (deps.stateOf(event.sessionId).diff = event.fingerprint));

  // After start-up, not during it; never after shutdown began (the database is closed then).
  const restartTimer = setTimeout(() => {
    if (sessions.closed) return;
    for (const goal of store.unfinished(context.project.id)) {
      if (goal.state.status === "judging" && judgeRunsElsewhere(goal.judgeOwner)) continue;
      void serial(goal.sessionId, () => apply(goal.sessionId, { type: "restart" }, goal)).catch((error) =>
        reporter.problem("goal:restart", `could not reload the goal of ${goal.sessionId}: ${errorText(error)}`),
      );
    }
  }, 0);
  return () => clearTimeout(restartTimer);
}
