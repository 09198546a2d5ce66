// The request about to go out for a main session: the stored cut applied, old tool outputs and huge tool inputs
// shortened, and a rebuild first when one is pending or the request would reach the rebuild point.
import type { HostMessage } from "../core/host-types.ts";
import { applyCut, shortenOldToolOutputs } from "./rebuild.ts";
import type { Rebuild } from "./rebuild-run.ts";
import type { CheckpointSession } from "./session-state.ts";
import type { CheckpointShared } from "./shared.ts";
import { textOf } from "./transcript.ts";

/** A command turn answered by a real model when the local report model is unavailable: it needs only the report. */
const REPORT_POINTER = /^\[continuum \/[a-z-]+\] (The report is in the previous message|Show the user this report)/;

export function createRequestShaper(shared: CheckpointShared, rebuild: Rebuild) {
  const { context, stateOf } = shared;

  /** The request as it will go out: the stored cut applied, old tool outputs and huge tool inputs shortened. */
  const shaped = (sessionId: string, messages: HostMessage[]): HostMessage[] => {
    const out = [...messages];
    const state = stateOf(sessionId);
    const cut = shared.cutOf(sessionId);
    if (cut && applyCut(out, cut) > 0) shortenOldToolOutputs(out, 1, undefined, undefined, state.shortenCache);
    else if (state.shortenOldOutputs) shortenOldToolOutputs(out, 0, undefined, undefined, state.shortenCache);
    return out;
  };

  /**
   * When the request about to go out would reach the rebuild point (one huge tool output or tool argument since
   * the last call), rebuild first. Anchored on the provider's count of the last call; only the growth since then
   * is estimated, on the request in the shape it goes out (cut applied, tool outputs and inputs shortened), the
   * same shape the last measured request had.
   */
  const overflowGuard = (
    sessionId: string,
    request: HostMessage[],
    state: CheckpointSession,
  ): CheckpointSession["pendingRebuild"] => {
    const schedule = shared.scheduleOf(sessionId);
    const last = state.lastReading;
    if (!schedule || !last) return undefined;
    const predicted = last.used + state.estimator.messagesTokens(request) - last.messagesTokens;
    if (predicted < schedule.rebuildAt || predicted - last.used <= 0) return undefined;
    return { reason: `the next request would hold ~${predicted} tokens, over the rebuild point` };
  };

  return async (sessionId: string, messages: HostMessage[]): Promise<void> => {
    if (!(await context.sessions.isMain(sessionId))) return;
    const last = messages.at(-1);
    if (last?.info.role === "user" && REPORT_POINTER.test(textOf(last))) {
      // The model only needs the report, so the call stays cheap.
      messages.splice(0, messages.length - 1);
      return;
    }
    const state = stateOf(sessionId);
    let request = shaped(sessionId, messages);
    const pending = state.pendingRebuild ?? overflowGuard(sessionId, request, state);
    if (pending) {
      state.pendingRebuild = undefined;
      await rebuild(sessionId, messages, pending.reason, Boolean(pending.afterCompaction));
      request = shaped(sessionId, messages);
    }
    messages.splice(0, messages.length, ...request);
    state.estimator.noteRequest(state.estimator.messagesTokens(messages));
  };
}
