// Checkpoints and context rebuild: the meter (model calls and their reported usage), the schedule, the background
// writer (writer-run.ts, through the helper runner), the rebuild of the next request, the compaction lines, the
// /checkpoint, /rebuild, /context commands (the report and the previous-session pointer: session-report.ts).
import { join } from "node:path";
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import type { HostMessage } from "../core/host-types.ts";
import { isPackText } from "../core/pack-text.ts";
import { redact } from "../core/redaction.ts";
import { estimateTokens } from "../core/tokens.ts";
import { actionFor, enoughNewContent, resolveSchedule, percent, type Schedule } from "./meter.ts";
import { applyCut, planRebuild, shortenOldToolOutputs, type StoredCut } from "./rebuild.ts";
import { age } from "./report.ts";
import { createSessionReports } from "./session-report.ts";
import { sessionSlot, type CheckpointSession } from "./session-state.ts";
import { openCheckpointStore, type CheckpointStore } from "./store.ts";
import { textOf, userTextOf } from "./transcript.ts";
import { WriterQueue } from "./writer.ts";
import { createWriterRun, WRITER_AGENT, WRITER_TOOL } from "./writer-run.ts";
import { checkpointService } from "./service.ts";

export { WRITER_AGENT } from "./writer-run.ts";
const HIDDEN_AGENTS = new Set(["title", "summary", "compaction", WRITER_AGENT]);
/** A command turn answered by a real model when the local report model is unavailable: it needs only the report. */
const REPORT_POINTER = /^\[continuum \/[a-z-]+\] (The report is in the previous message|Show the user this report)/;
export const REPORT_TITLE = "opencode-continuum · context report";
const DEFAULT_OVERHEAD = 6000;

export const checkpointFeature: FeatureModule = {
  name: "checkpoint",
  needsDatabase: true,
  provides: ["checkpoint"],
  uses: ["tasks", "memory"],
  assets: { agents: [WRITER_AGENT], commands: ["checkpoint", "rebuild", "context"] },
  internalTools: [{ tool: WRITER_TOOL, agent: WRITER_AGENT }],
  create(context) {
    return createCheckpoint(context, openCheckpointStore(context.db!, { sessionDir: context.projectPaths.session }));
  },
};

export default checkpointFeature;

function createCheckpoint(context: FeatureContext, store: CheckpointStore): FeatureParts {
  const { config, reporter, sessions } = context;
  const settings = config.checkpoint;
  const log = reporter.child("checkpoint");
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(sessionSlot);
  const checkpointFile = (sessionId: string) => join(context.projectPaths.session(sessionId), "checkpoint.md");
  context.provide("checkpoint", checkpointService(context.projectPaths.session));

  const scheduleOf = (sessionId: string): Schedule | undefined => {
    const model = stateOf(sessionId).model;
    return model ? resolveSchedule(settings, model.modelKey, model.limit) : undefined;
  };

  const cutOf = (sessionId: string): StoredCut | null => {
    const state = stateOf(sessionId);
    if (state.cut === undefined) {
      const stored = store.state(sessionId);
      state.cut = stored.boundaryMessageId && stored.boundaryDump ? { boundaryMessageId: stored.boundaryMessageId, dump: stored.boundaryDump } : null;
    }
    return state.cut;
  };

  const writer = createWriterRun({
    context,
    store,
    checkpointFile,
    model: (id) => {
      const model = stateOf(id).model;
      return model ? { providerID: model.providerID, modelID: model.modelID, usable: scheduleOf(id)?.usable } : undefined;
    },
  });
  const queue = new WriterQueue(writer.run);

  // ---- the meter ---------------------------------------------------------------------------------------

  sessions.on("checkpoint", "assistant.finished", async (event) => {
    if (sessions.helperOf(event.sessionId) || event.summary || HIDDEN_AGENTS.has(event.agent)) return;
    if (!(await sessions.isMain(event.sessionId))) return;
    const used = event.contextTokens;
    const state = stateOf(event.sessionId);
    // message.updated can repeat for one finished call: one call is one reading.
    if (used <= 0 || state.lastReadMessageId === event.messageId) return;
    state.lastReadMessageId = event.messageId;
    state.estimator.noteReported(event.sessionId, event.tokens.input + event.tokens.cacheRead + event.tokens.cacheWrite);
    state.lastReading = { used, messagesTokens: state.estimator.lastMessagesTokens(event.sessionId) };
    onReading(event.sessionId, used, state);
  });

  const onReading = (sessionId: string, used: number, state: CheckpointSession) => {
    const schedule = scheduleOf(sessionId);
    if (!schedule) return;
    const stored = store.update(sessionId, { lastUsed: used, lastUsable: schedule.usable, modelKey: state.model?.modelKey ?? null, readingAt: new Date().toISOString() });
    if (state.resetAfterRebuild) {
      // First reading after a rebuild: thresholds below it count as passed, so the climb starts over.
      state.resetAfterRebuild = false;
      store.update(sessionId, { firedIndex: schedule.thresholds.filter((t) => used >= t).length - 1 });
      return;
    }
    const action = actionFor(used, schedule, stored.firedIndex);
    if (action.kind === "checkpoint") {
      const content = state.estimator.lastMessagesTokens(sessionId);
      if (!enoughNewContent(content, state.contentAtCheckpoint, schedule.usable)) {
        return log.log("debug", `session ${sessionId} crossed ${percent(action.threshold / schedule.usable)} with ~${content} tokens of messages: too little to checkpoint yet`);
      }
      state.contentAtCheckpoint = content;
      store.update(sessionId, { firedIndex: action.index });
      const outcome = queue.request(sessionId, `${percent(action.threshold / schedule.usable)} threshold`);
      log.log("info", `session ${sessionId} at ${percent(used / schedule.usable)}: checkpoint ${outcome}`);
    } else if (action.kind === "rebuild" && !state.pendingRebuild) {
      state.pendingRebuild = { reason: `rebuild point ${percent(schedule.rebuildAt / schedule.usable)} reached at ${percent(used / schedule.usable)}` };
    }
  };

  sessions.on("checkpoint", "session.compacted", async (event) => {
    if (await sessions.isMain(event.sessionId)) stateOf(event.sessionId).pendingRebuild = { reason: "after OpenCode's own compaction", afterCompaction: true };
  });

  // ---- the rebuild -------------------------------------------------------------------------------------

  const rebuild = async (sessionId: string, messages: HostMessage[], reason: string, afterCompaction: boolean) => {
    const waited = await queue.waitIdle(sessionId, settings.writerWaitMs);
    const schedule = scheduleOf(sessionId);
    if (!schedule) return log.log("warn", `rebuild of ${sessionId} skipped: model limits unknown`);
    const state = stateOf(sessionId);
    const checkpoint = store.latest(sessionId);
    const tasks = context.services.tasks?.summary(sessionId) ?? { count: 0, allSettled: false };
    const memory = context.services.memory;
    const earlierUserMessages = await userWordsBeforeCompaction(sessionId, messages);
    const plan = planRebuild({
      messages,
      cap: schedule.cap,
      overhead: state.estimator.overheadOf(sessionId, DEFAULT_OVERHEAD),
      checkpoint: checkpoint ? { markdown: checkpoint.markdown, watermark: checkpoint.watermark, age: age(checkpoint.writtenAt, new Date()) } : undefined,
      taskLedger: context.services.tasks?.ledger(sessionId) ?? "",
      hasTasks: tasks.count > 0,
      allTasksSettled: tasks.allSettled,
      memory: memory?.rebuildFiles(sessionId) ?? { projectMemory: "", globalMemory: "", notes: "", memoryIndex: [] },
      tailMinTokens: settings.tailMinTokens,
      tailMinTextMessages: settings.tailMinTextMessages,
      afterCompaction,
      earlierUserMessages,
      isPackText,
      redact,
    });
    if (!plan.cut) {
      // Nothing to cut, but old tool outputs must be shortened for the history to fit: every request from now on.
      if (plan.shortenOldOutputs) state.shortenOldOutputs = true;
      return log.log("info", `rebuild of ${sessionId} (${reason}): ${plan.reason}`);
    }
    const previous = store.state(sessionId);
    store.update(sessionId, {
      boundaryMessageId: plan.boundaryMessageId,
      boundaryDump: plan.dump,
      boundaryAt: new Date().toISOString(),
      boundaryReason: reason + (waited ? "" : " (writer still running: older checkpoint, longer tail)"),
      rebuilds: previous.rebuilds + 1,
    });
    state.cut = { boundaryMessageId: plan.boundaryMessageId, dump: plan.dump };
    state.lastReading = undefined;
    state.resetAfterRebuild = true;
    state.contentAtCheckpoint = 0;
    memory?.contextRebuilt(sessionId);
    log.notify(`context rebuilt (${reason}): ${plan.boundary} messages replaced by a ${estimateTokens(plan.dump)}-token summary, ${messages.length - plan.boundary} kept`);
  };

  /**
   * After OpenCode's compaction the request starts at its summary: the user's earlier words are only in the stored
   * history. They are read from there so the dump still quotes them (a rebuild is rare; the read is paid then only).
   */
  const userWordsBeforeCompaction = async (sessionId: string, messages: HostMessage[]): Promise<string[]> => {
    const compacted = messages.some((m) => m.info.summary || m.parts.some((p) => p.type === "compaction"));
    if (!compacted) return [];
    try {
      const inRequest = new Set(messages.map((m) => m.info.id));
      return (await context.host.messages(sessionId)).filter((m) => m.info.role === "user" && !inRequest.has(m.info.id)).map(userTextOf);
    } catch (error) {
      log.log("warn", `rebuild of ${sessionId}: the history before OpenCode's compaction could not be read (${String(error)}); the dump quotes only the messages in the request`);
      return [];
    }
  };

  /** The request as it will go out: the stored cut applied, old tool outputs and huge tool inputs shortened. */
  const shaped = (sessionId: string, messages: HostMessage[]): HostMessage[] => {
    const out = [...messages];
    const cut = cutOf(sessionId);
    if (cut && applyCut(out, cut) > 0) shortenOldToolOutputs(out, 1);
    else if (stateOf(sessionId).shortenOldOutputs) shortenOldToolOutputs(out, 0);
    return out;
  };

  const requestMessages = async (sessionId: string, messages: HostMessage[]) => {
    if (!(await sessions.isMain(sessionId))) return;
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
    state.estimator.noteRequest(sessionId, state.estimator.messagesTokens(messages));
  };

  /**
   * When the request about to go out would reach the rebuild point (one huge tool output or tool argument since
   * the last call), rebuild first. Anchored on the provider's count of the last call; only the growth since then
   * is estimated, on the request in the shape it goes out (cut applied, tool outputs and inputs shortened), the
   * same shape the last measured request had.
   */
  const overflowGuard = (sessionId: string, request: HostMessage[], state: CheckpointSession): CheckpointSession["pendingRebuild"] => {
    const schedule = scheduleOf(sessionId);
    const last = state.lastReading;
    if (!schedule || !last) return undefined;
    const predicted = last.used + state.estimator.messagesTokens(request) - last.messagesTokens;
    return predicted >= schedule.rebuildAt && predicted - last.used > 0 ? { reason: `the next request would hold ~${predicted} tokens, over the rebuild point` } : undefined;
  };

  // ---- commands ----------------------------------------------------------------------------------------

  const { contextReport, previousSessionPointer } = createSessionReports({ context, store, queue, stateOf, scheduleOf, checkpointFile });

  return {
    tools: { [WRITER_TOOL]: writer.channel.tool },
    modelCall(call) {
      if (HIDDEN_AGENTS.has(call.agent)) return;
      stateOf(call.sessionId).model = { limit: call.limit, modelKey: `${call.providerID}/${call.modelID}`, providerID: call.providerID, modelID: call.modelID };
    },
    requestMessages,
    async systemPrompt(call) {
      if (!(await sessions.isMain(call.sessionId))) return;
      const state = stateOf(call.sessionId);
      state.pointer ??= previousSessionPointer(call.sessionId);
      if (state.pointer) call.add(state.pointer);
    },
    compacting(sessionId, add) {
      const checkpoint = store.latest(sessionId);
      if (checkpoint) add(`The latest structured checkpoint of this session (keep its directives and exact values):\n${checkpoint.markdown}`);
      const rules = context.services.memory?.projectRules();
      if (rules) add(`Project rules (from MEMORY.md), keep them:\n${rules}`);
    },
    commands: {
      // The report is stored verbatim; the command's own call carries only a pointer, so it costs next to nothing.
      context: ({ sessionId }) => ({ kind: "report", text: `${REPORT_TITLE}\n${contextReport(sessionId)}` }),
      checkpoint: ({ sessionId }) => {
        const outcome = queue.request(sessionId, "manual /checkpoint");
        return {
          kind: "report",
          text: `[continuum /checkpoint] A checkpoint writer ${outcome === "started" ? "was started in the background" : "was queued behind the running one"}; /context shows its state.`,
        };
      },
      rebuild: ({ sessionId }) => {
        stateOf(sessionId).pendingRebuild = { reason: "manual /rebuild" };
        return {
          kind: "prompt",
          notice: "[continuum /rebuild] Context rebuild requested: it is applied to the next request (a short history is left as it is; /context shows the result).",
          text: "[continuum /rebuild] The user asked for a context rebuild. Confirm in one short sentence, then continue any work that is pending.",
        };
      },
    },
  };
}
