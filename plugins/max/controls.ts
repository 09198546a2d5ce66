// The user's two controls over Max in a session, reached both from `/max` and from words typed to the max agent:
// stop the running turn, and apply a change a patch turn held back because its checks failed.
import type { FeatureContext } from "../core/feature.ts";
import { maxSlot } from "./state.ts";

export function createControls(context: FeatureContext) {
  const { sessions } = context;

  /**
   * `/max stop`, or `stop` typed to the max agent: cancels the session's running Max turn (candidates, checks,
   * judge) as an abort does; its message then only carries the cancel part.
   */
  const stopRunning = (sessionId: string): string => {
    const state = sessions.peek(sessionId)?.get(maxSlot);
    if (!state?.active) return "No Max turn is running in this session.";
    state.stopRequested = true;
    state.active.abort();
    return "Stopping Max Mode: its candidates, checks and judge are cancelled and nothing is applied.";
  };

  /**
   * `/max apply N`: the user takes a change Max held back because its checks failed. From the changes kept in this
   * session (the saved copies are redacted records), and refused like any apply when the working tree moved.
   */
  const applyHeld = async (sessionId: string, index: number): Promise<{ text: string; ok: boolean }> => {
    const held = sessions.peek(sessionId)?.get(maxSlot).held;
    if (!held)
      return {
        ok: false,
        text: "No change is held back in this session: /max apply N takes one of the changes of the last Max patch turn whose checks failed.",
      };
    const change = held.changes.find((c) => c.index === index);
    if (!change)
      return {
        ok: false,
        text: `Candidate ${index} has no held change; held: ${held.changes.map((c) => c.index).join(", ") || "none"}.`,
      };
    const applied = await context.worktrees.apply(change.diff, {
      expectFingerprint: held.fingerprint,
      label: `max candidate ${index} (checks failed)`,
    });
    if (!applied.ok)
      return {
        ok: false,
        text: `Candidate ${index}'s change was NOT applied: ${applied.reason}.${applied.conflicts.length ? ` Files in conflict: ${applied.conflicts.join(", ")}.` : ""} The diff is saved at ${applied.savedTo}.`,
      };
    sessions.session(sessionId).get(maxSlot).held = undefined;
    return {
      ok: true,
      text: `Applied candidate ${index}'s change at your request (files: ${applied.files.join(", ") || "none"}). Its checks had failed:\n${change.checks}`,
    };
  };

  return { stopRunning, applyHeld };
}
