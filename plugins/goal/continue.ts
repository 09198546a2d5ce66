// The goal's continuation goes through the continuation arbiter: the machine's "continue" is offered as a pending
// push, and a pure decider hands it over at the next arbitration (now, if the session is idle, else its next idle).
import { goalSlot, type GoalDeps } from "./session.ts";

/** After an unverified change and open tasks in a combined push: they are part of what the goal needs. */
const GOAL_PRIORITY = 10;

export interface GoalContinuation {
  /** Offers the machine's continuation prompt; sent at once when the session is idle and nothing else went out. */
  offer(sessionId: string, text: string, reason: string): Promise<void>;
  /** At an idle (after the arbiter ran): true when a waiting continuation went out now, so no judge runs. */
  sentAtIdle(sessionId: string): boolean;
  /** A person wrote: a continuation still waiting is theirs to overrule. */
  drop(sessionId: string): void;
}

export function goalContinuation({ context, stateOf }: GoalDeps): GoalContinuation {
  const { continuation, sessions } = context;
  const delivered = (sessionId: string, pushesBefore: number) => continuation.pushes("goal", sessionId) > pushesBefore;

  continuation.register("goal", (sessionId, { pushes }) => {
    const pending = sessions.peek(sessionId)?.get(goalSlot).pending;
    if (!pending || pending.pushesBefore !== pushes) return undefined;
    return { reason: pending.reason, text: pending.text, priority: GOAL_PRIORITY };
  });

  return {
    async offer(sessionId, text, reason) {
      const state = stateOf(sessionId);
      const pending = { text, reason, pushesBefore: continuation.pushes("goal", sessionId) };
      state.pending = pending;
      await continuation.recheck(sessionId);
      if (delivered(sessionId, pending.pushesBefore)) state.pending = undefined;
    },
    sentAtIdle(sessionId) {
      const state = stateOf(sessionId);
      const pending = state.pending;
      state.pending = undefined;
      return pending !== undefined && delivered(sessionId, pending.pushesBefore);
    },
    drop(sessionId) {
      stateOf(sessionId).pending = undefined;
    },
  };
}
