// Running one Max turn in a session: one at a time per session, patch mode only in a git repository, the cost
// notice once per session, and Max's own deadline (before the hook's, so a turn never goes on, or applies a change,
// after the host stopped waiting). An abort the user made (not `/max stop`) stops the turn that follows.
import type { FeatureContext, UserTurn } from "../core/feature.ts";
import type { MaxMode } from "./args.ts";
import { usesScouts } from "./round.ts";
import { maxSlot } from "./state.ts";
import type { MaxStatsStore } from "./stats.ts";
import type { TurnEnd } from "./turn-kit.ts";

export interface SessionTurnDeps {
  context: FeatureContext;
  store: MaxStatsStore;
  turnBudgetMs: number;
  play(turn: UserTurn, task: string, mode: MaxMode, signal: AbortSignal, timedOut: () => boolean): Promise<TurnEnd>;
}

export function createSessionTurns({ context, store, turnBudgetMs, play }: SessionTurnDeps) {
  const { reporter, sessions } = context;
  const settings = context.config.max;
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(maxSlot);

  const expectedNotice = () => {
    const full = settings.candidates + 1;
    return usesScouts(settings)
      ? `Max Mode costs about ${settings.scouts}× the tokens of one candidate when the ${settings.scouts} scouts agree, up to ${full}× (${settings.candidates} candidates + judge) when they do not, before the turn itself.`
      : `Max Mode costs about ${full}× the tokens of one candidate (${settings.candidates} candidates + judge), before the turn itself.`;
  };

  /** Patch mode needs a git repository (each candidate works in its own worktree); otherwise plan mode. */
  const usableMode = async (requested: MaxMode): Promise<MaxMode> => {
    if (requested !== "patch" || (await context.worktrees.isRepo().catch(() => false))) return requested;
    reporter.notify(
      "Max patch mode needs a git repository (each candidate works in its own worktree); this turn runs in plan mode.",
      "warning",
    );
    return "plan";
  };

  const runTurn = async (turn: UserTurn, task: string, requested: MaxMode) => {
    const state = stateOf(turn.sessionId);
    if (state.active) {
      reporter.notify("A Max turn is already running in this session; this message runs as a normal turn.", "warning");
      return;
    }
    const mode = await usableMode(requested);
    if (!state.noticeShown && store.turns(turn.sessionId).length === 0) reporter.notify(expectedNotice(), "info");
    state.noticeShown = true;
    const controller = new AbortController();
    state.active = controller;
    let timedOut = false;
    // Our own limit comes before the hook's: past it the turn must not go on without us (or apply a change late).
    const deadline = setTimeout(() => ((timedOut = true), controller.abort()), turnBudgetMs - 5000);
    (deadline as { unref?: () => void }).unref?.();
    try {
      const scouts = usesScouts(settings) ? ` (${settings.scouts} scouts first)` : "";
      reporter.notify(
        `Max Mode (${mode}): ${settings.candidates} candidates${scouts} are working… (/max stop cancels)`,
        "info",
      );
      const end = await play(turn, task, mode, controller.signal, () => timedOut);
      if (end === "cancelled" && !state.stopRequested) state.abortNextTurn = true;
    } finally {
      clearTimeout(deadline);
      state.active = undefined;
      state.stopRequested = false;
    }
  };

  return { runTurn };
}
