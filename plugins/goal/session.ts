// The goal feature's per-session state and what its parts share (one slot per session, dropped on deletion).
import type { FeatureContext } from "../core/feature.ts";
import type { Reporter } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import type { GoalStore } from "./store.ts";

/** A continuation the machine decided on, waiting for the arbiter to send it (at most one per idle). */
export interface PendingContinuation {
  text: string;
  reason: string;
  /** The arbiter's count of goal pushes when it was offered: a higher count means it went out. */
  pushesBefore: number;
}

/** Per session: the /goal prompts still to come back as user turns, the last diff, and the queue of goal steps. */
export interface GoalSession {
  ownPrompts: number;
  diff: string;
  queue: Promise<unknown>;
  pending?: PendingContinuation;
}
export const goalSlot = slot<GoalSession>("goal", () => ({ ownPrompts: 0, diff: "", queue: Promise.resolve() }));

/** What every part of the goal feature works with. */
export interface GoalDeps {
  context: FeatureContext;
  store: GoalStore;
  log: Reporter;
  stateOf(sessionId: string): GoalSession;
  /** The task tree is on: open tasks go to the task gate before the judge. */
  tasksUsed: boolean;
}
