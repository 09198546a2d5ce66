// The continuation arbiter: the one place that sends an agent back to work when its main session goes idle.
// Features register pure deciders ("push back because …"); the arbiter owns what they used to keep each on its own
// (the last turn failed, pushes since the person last wrote, the turn's agent and model, the prompt itself), asks
// every decider at an idle and sends at most one prompt per idle, naming each reason, highest priority first.
import type { HostApi } from "./host.ts";
import { errorText, type Reporter } from "./report.ts";
import { slot, type SessionLayer } from "./sessions.ts";

export interface ContinuationPush {
  /** Short, for the log: why this feature sends the agent back. */
  reason: string;
  /** The prompt text, starting with the feature's pack marker (so the turn it starts is the pack's, not a person's). */
  text: string;
  /** Higher first in the combined prompt. */
  priority: number;
}

/** Pure: reads the feature's own state, sends nothing. `pushes`: this feature's pushes since the person last wrote. */
export type ContinuationDecider = (sessionId: string, facts: { pushes: number }) => ContinuationPush | undefined;

export interface Continuation {
  register(feature: string, decide: ContinuationDecider): void;
  /**
   * A decider's answer changed after the idle was decided (the goal judge's verdict arrives later): asks every
   * decider again now, if the session is still idle, its last turn did not fail and nothing was pushed since.
   */
  recheck(sessionId: string): Promise<void>;
  /** This feature's pushes in the session since the person last wrote. */
  pushes(feature: string, sessionId: string): number;
}

interface ArbiterState {
  /** The last turn ended in an abort or an error: nobody pushes until a new turn starts. */
  lastTurnFailed: boolean;
  pushes: Record<string, number>;
  /** A push went out and its turn has not ended yet (at most one per idle). */
  pushed: boolean;
}
const arbiterSlot = slot<ArbiterState>("continuation", () => ({ lastTurnFailed: false, pushes: {}, pushed: false }));

export interface ContinuationOptions {
  sessions: SessionLayer;
  host: Pick<HostApi, "sendPrompt">;
  reporter: Pick<Reporter, "log" | "problem">;
}

export function createContinuation({ sessions, host, reporter }: ContinuationOptions): Continuation {
  const deciders: { feature: string; decide: ContinuationDecider }[] = [];
  const stateOf = (id: string) => sessions.session(id).get(arbiterSlot);

  /** Every decider's answer for this idle; a decider that throws is left out (and reported), not the others. */
  const collect = (sessionId: string, state: ArbiterState) =>
    deciders.flatMap(({ feature, decide }) => {
      try {
        const push = decide(sessionId, { pushes: state.pushes[feature] ?? 0 });
        return push ? [{ feature, ...push }] : [];
      } catch (error) {
        reporter.problem(`continuation:${feature}`, `the ${feature} continuation check failed: ${errorText(error)}`);
        return [];
      }
    });

  const arbitrate = async (sessionId: string) => {
    if (sessions.closed || !(await sessions.isMain(sessionId))) return;
    // Read after the await: an idle and a recheck may both be here, only the first one pushes.
    const state = stateOf(sessionId);
    if (state.lastTurnFailed || state.pushed) return;
    const wanted = collect(sessionId, state).sort((a, b) => b.priority - a.priority);
    if (wanted.length === 0) return;
    for (const { feature } of wanted) state.pushes[feature] = (state.pushes[feature] ?? 0) + 1;
    state.pushed = true;
    reporter.log(
      "info",
      `continuation: sending ${sessionId} back: ${wanted.map((w) => `${w.feature} (${w.reason})`).join("; ")}`,
    );
    const turn = sessions.session(sessionId).lastTurn;
    const text = wanted.map((w) => w.text).join("\n\n");
    await host.sendPrompt(sessionId, { text, agent: turn.agent, model: turn.model }).catch((error) => {
      state.pushed = false;
      reporter.problem("continuation:send", `could not send session ${sessionId} back to work: ${errorText(error)}`);
    });
  };

  // Registered at boot, before any feature: the arbiter's view of a turn is settled before theirs.
  sessions.on("continuation", "turn.started", (event) => {
    const state = stateOf(event.sessionId);
    state.lastTurnFailed = false;
    // The person always wins: their message resets every feature's count. The pack's own pushes do not.
    if (event.origin === "person") state.pushes = {};
  });
  sessions.on("continuation", "turn.failed", (event) => void (stateOf(event.sessionId).lastTurnFailed = true));
  sessions.on("continuation", "turn.ended", async (event) => {
    const state = stateOf(event.sessionId);
    state.pushed = false;
    if (event.how !== "idle") return void (state.lastTurnFailed = true);
    await arbitrate(event.sessionId);
  });

  return {
    register(feature, decide) {
      deciders.push({ feature, decide });
    },
    async recheck(sessionId) {
      const record = sessions.peek(sessionId);
      if (!record || record.busy || record.turnOpen) return;
      await arbitrate(sessionId);
    },
    pushes: (feature, sessionId) => sessions.peek(sessionId)?.get(arbiterSlot).pushes[feature] ?? 0,
  };
}
