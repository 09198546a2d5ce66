// The task gate: when a main session stops with tasks still open or in progress, it is asked once to finish,
// block or abandon them. Pure decision logic; the adapter feeds it host events and sends the push.
import type { TaskRecord } from "./store.ts";

export const GATE_MARKER = "[continuum task gate]";

export interface GateState {
  /** Pushes sent since the last real user message. */
  pushes: number;
  /** The last assistant turn ended in an abort or an error: never push after that. */
  lastTurnFailed: boolean;
  /** A push was sent and its turn has not come back idle yet. */
  pushInFlight: boolean;
}

export const freshGateState = (): GateState => ({ pushes: 0, lastTurnFailed: false, pushInFlight: false });

export interface GateInput {
  enabled: boolean;
  maxPushes: number;
  state: GateState;
  unfinished: readonly TaskRecord[];
}

export type GateDecision = { push: true; text: string } | { push: false; reason: string };

export function decideGate(input: GateInput): GateDecision {
  if (!input.enabled) return { push: false, reason: "gate off" };
  if (input.state.lastTurnFailed) return { push: false, reason: "last turn was aborted or failed" };
  if (input.unfinished.length === 0) return { push: false, reason: "no open tasks" };
  if (input.state.pushes >= input.maxPushes)
    return { push: false, reason: `already pushed ${input.state.pushes} times in a row` };
  return { push: true, text: gateText(input.unfinished, input.state.pushes + 1, input.maxPushes) };
}

export function gateText(unfinished: readonly TaskRecord[], attempt: number, max: number): string {
  const list = unfinished.map((t) => `- ${t.id} ${t.title} (${t.status})`).join("\n");
  return [
    `${GATE_MARKER} (${attempt}/${max}) You stopped while these tasks are still open:`,
    list,
    "For each one: finish it and mark it done, or mark it blocked (say what blocks it), or abandon it (say why), using the `tasks` tool. If you are waiting for the user, block the task and say so.",
  ].join("\n");
}

/** A user message that is not one of our pushes resets the count: the user always wins. */
export function onUserMessage(state: GateState, text: string): GateState {
  if (text.startsWith(GATE_MARKER)) return { ...state, lastTurnFailed: false };
  return freshGateState();
}
