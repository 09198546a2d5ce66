// What the user sees of a run outside the tool's answer: progress toasts, and the notice a background or /workflow
// run leaves in its session when it ends. A message stored while the session's turn runs makes OpenCode take one
// more model step for it, so the notice waits for the turn to end, and for the report of the /workflow command that
// started the run to settle (the report channel says when; HOLD_MAX_MS is only a safety net should that never come).
import type { FeatureContext } from "../core/feature.ts";
import { slot } from "../core/sessions.ts";
import type { ProgressKind } from "./engine.ts";
import { progressLine, runSummary } from "./format.ts";
import type { RunRecord } from "./journal.ts";

const TOAST_EVERY_MS = 3000;
const HOLD_MAX_MS = 60_000;

/** Per session: run ends waiting to be posted, and the /workflow report not settled yet (dropped with the session). */
interface NoticeState {
  queued: RunRecord[];
  held?: { timer: ReturnType<typeof setTimeout> };
}
export const noticeSlot = slot<NoticeState>("workflow.notices", () => ({ queued: [] }));

export interface RunNotices {
  onProgress(run: RunRecord, kind: ProgressKind): void;
  /** The run's end is posted in its session (background and /workflow runs). */
  announce(runId: string): void;
  /** The session's /workflow report is on its way: notices wait until it settles. */
  hold(sessionId: string): void;
  unhold(sessionId: string): void;
  /** How many runs still await a toast or an announcement (process-wide, keyed by run id). */
  pending(): number;
  dispose(): void;
}

export function createRunNotices(
  context: Pick<FeatureContext, "sessions" | "reporter" | "host">,
  log: (message: string) => void,
): RunNotices {
  const { sessions, reporter, host } = context;
  // Keyed by run id, not session: a run outlives no process and both are dropped when it finishes.
  const lastToast = new Map<string, number>();
  const announced = new Set<string>();
  /** Hold timers alive (by timer, not session), so dispose stops them all. */
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const stopTimer = (timer: ReturnType<typeof setTimeout> | undefined) => {
    clearTimeout(timer);
    if (timer) timers.delete(timer);
  };
  let disposed = false;

  const postNotice = async (run: RunRecord) => {
    const text = `[continuum workflow] Run ${run.id} of ${run.name} ended.\n${runSummary(run, false, 10)}`;
    const shown = await host.showInSession(run.parentSessionId!, text, { synthetic: true }).catch(() => false);
    if (!shown) log(`could not post the end of run ${run.id} to session ${run.parentSessionId}`);
  };
  /** Posts what waits in a session once nothing holds it and its turn is over. */
  const flush = (sessionId: string) => {
    const record = sessions.peek(sessionId);
    if (disposed || !record?.has(noticeSlot)) return;
    const state = record.get(noticeSlot);
    if (state.held || record.busy || state.queued.length === 0) return;
    const runs = state.queued;
    state.queued = [];
    for (const run of runs) void postNotice(run);
  };
  const unhold = (sessionId: string) => {
    const state = sessions.peek(sessionId)?.get(noticeSlot);
    if (!state?.held) return;
    stopTimer(state.held.timer);
    state.held = undefined;
    flush(sessionId);
  };
  sessions.on("workflow", "turn.ended", (event) => flush(event.sessionId));
  sessions.on("workflow", "session.deleted", (event) => {
    stopTimer(sessions.peek(event.sessionId)?.get(noticeSlot).held?.timer);
  });

  const announceEnd = (run: RunRecord) => {
    const sessionId = run.parentSessionId!;
    sessions.session(sessionId).get(noticeSlot).queued.push(run);
    flush(sessionId);
  };

  return {
    onProgress(run, kind) {
      const now = Date.now();
      if (kind === "agent" && now - (lastToast.get(run.id) ?? 0) < TOAST_EVERY_MS) return;
      lastToast.set(run.id, now);
      if (kind === "finished") {
        lastToast.delete(run.id);
        const variant = run.status === "done" ? "success" : run.status === "cancelled" ? "warning" : "error";
        reporter.notify(
          `Workflow ${run.name} ${run.status}${run.error ? `: ${run.error.slice(0, 200)}` : ""} (${progressLine(run)})`,
          variant,
        );
        if (announced.delete(run.id) && run.parentSessionId) announceEnd(run);
        return;
      }
      reporter.notify(
        kind === "started"
          ? `Workflow ${run.name} started (run ${run.id})`
          : `Workflow ${run.name}: ${progressLine(run)}`,
        "info",
      );
    },
    announce: (runId) => void announced.add(runId),
    hold(sessionId) {
      const state = sessions.session(sessionId).get(noticeSlot);
      stopTimer(state.held?.timer);
      const timer = setTimeout(() => unhold(sessionId), HOLD_MAX_MS);
      (timer as { unref?: () => void }).unref?.();
      timers.add(timer);
      state.held = { timer };
    },
    unhold,
    pending: () => lastToast.size + announced.size + timers.size,
    dispose() {
      disposed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
