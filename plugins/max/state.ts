// What Max keeps per session (in the session layer's slot, dropped with the session): the `/max` task waiting for
// its message, the running turn's controller, and the changes held back for `/max apply N`.
import { slot } from "../core/sessions.ts";
import type { MaxMode } from "./args.ts";
import type { HeldChanges } from "./turn-kit.ts";

export interface MaxSession {
  /** `/max <task>` was answered with a prompt: its user message is the Max turn. */
  pending?: { task: string; mode?: MaxMode };
  noticeShown: boolean;
  active?: AbortController;
  /** The user aborted a Max turn before its plan: the turn that follows is stopped as it starts. */
  abortNextTurn: boolean;
  /**
   * The running turn was cancelled with `/max stop`, not an abort: its message then just carries the cancel part
   * (the agent answers "Cancelled."). Stopping the session there could hit the answer to the stop itself, which
   * runs in the same session at the same time.
   */
  stopRequested?: boolean;
  /** The last patch turn's changes whose checks all failed: `/max apply N` may still take one. */
  held?: HeldChanges;
}
export const maxSlot = slot<MaxSession>("max", () => ({ noticeShown: false, abortNextTurn: false }));
