// The meter: each finished model call of a main session is one reading of its context; crossing a threshold
// starts a checkpoint writer (when enough is new), reaching the rebuild point asks for a rebuild.
import type { CallTokens } from "../core/host-types.ts";
import { actionFor, enoughNewContent, percent } from "./meter.ts";
import type { CheckpointSession } from "./session-state.ts";
import type { CheckpointShared } from "./shared.ts";

export function watchReadings(shared: CheckpointShared, hiddenAgents: ReadonlySet<string>): void {
  const { context, stateOf } = shared;
  const { sessions } = context;

  sessions.on("checkpoint", "assistant.finished", async (event) => {
    if (sessions.helperOf(event.sessionId) || event.summary || hiddenAgents.has(event.agent)) return;
    if (!(await sessions.isMain(event.sessionId))) return;
    const used = event.contextTokens;
    const state = stateOf(event.sessionId);
    // message.updated can repeat for one finished call: one call is one reading.
    if (used <= 0 || state.lastReadMessageId === event.messageId) return;
    state.lastReadMessageId = event.messageId;
    state.estimator.noteReported(reportedInput(event.tokens));
    state.lastReading = { used, messagesTokens: state.estimator.lastMessagesTokens() };
    onReading(shared, event.sessionId, used, state);
  });

  sessions.on("checkpoint", "session.compacted", async (event) => {
    if (!(await sessions.isMain(event.sessionId))) return;
    stateOf(event.sessionId).pendingRebuild = { reason: "after OpenCode's own compaction", afterCompaction: true };
  });
}

const reportedInput = (tokens: CallTokens) => tokens.input + tokens.cacheRead + tokens.cacheWrite;

function onReading(shared: CheckpointShared, sessionId: string, used: number, state: CheckpointSession): void {
  const { store, log, queue } = shared;
  const schedule = shared.scheduleOf(sessionId);
  if (!schedule) return;
  const readingAt = new Date().toISOString();
  const modelKey = state.model?.modelKey ?? null;
  const stored = store.update(sessionId, { lastUsed: used, lastUsable: schedule.usable, modelKey, readingAt });
  if (state.resetAfterRebuild) {
    // First reading after a rebuild: thresholds below it count as passed, so the climb starts over.
    state.resetAfterRebuild = false;
    store.update(sessionId, { firedIndex: schedule.thresholds.filter((t) => used >= t).length - 1 });
    return;
  }
  const action = actionFor(used, schedule, stored.firedIndex);
  if (action.kind === "checkpoint") {
    const content = state.estimator.lastMessagesTokens();
    const crossed = percent(action.threshold / schedule.usable);
    if (!enoughNewContent(content, state.contentAtCheckpoint, schedule.usable)) {
      const why = `with ~${content} tokens of messages: too little to checkpoint yet`;
      return log.log("debug", `session ${sessionId} crossed ${crossed} ${why}`);
    }
    state.contentAtCheckpoint = content;
    store.update(sessionId, { firedIndex: action.index });
    const outcome = queue.request(sessionId, `${crossed} threshold`);
    log.log("info", `session ${sessionId} at ${percent(used / schedule.usable)}: checkpoint ${outcome}`);
  } else if (action.kind === "rebuild" && !state.pendingRebuild) {
    const point = percent(schedule.rebuildAt / schedule.usable);
    state.pendingRebuild = { reason: `rebuild point ${point} reached at ${percent(used / schedule.usable)}` };
  }
}
