// Rebuilding a session's context now: wait briefly for a running writer, plan the cut from the latest checkpoint,
// the task ledger and memory, store it and reset the meter so the climb through the thresholds starts over.
import type { HostMessage } from "../core/host-types.ts";
import { isPackText } from "../core/pack-text.ts";
import { redact } from "../core/redaction.ts";
import { estimateTokens } from "../core/tokens.ts";
import { planRebuild } from "./rebuild.ts";
import { age } from "./report.ts";
import type { CheckpointShared } from "./shared.ts";
import { userTextOf } from "./transcript.ts";

const DEFAULT_OVERHEAD = 6000;
const NO_MEMORY = { projectMemory: "", globalMemory: "", notes: "", memoryIndex: [] };

export type Rebuild = (
  sessionId: string,
  messages: HostMessage[],
  reason: string,
  afterCompaction: boolean,
) => Promise<void>;

export function createRebuild(shared: CheckpointShared): Rebuild {
  const { context, store, settings, log, queue, stateOf } = shared;

  return async (sessionId, messages, reason, afterCompaction) => {
    const waited = await queue.waitIdle(sessionId, settings.writerWaitMs);
    const schedule = shared.scheduleOf(sessionId);
    if (!schedule) return log.log("warn", `rebuild of ${sessionId} skipped: model limits unknown`);
    const state = stateOf(sessionId);
    const checkpoint = store.latest(sessionId);
    const tasks = context.services.tasks?.summary(sessionId) ?? { count: 0, allSettled: false };
    const memory = context.services.memory;
    const plan = planRebuild({
      messages,
      cap: schedule.cap,
      overhead: state.estimator.overheadOf(DEFAULT_OVERHEAD),
      checkpoint: checkpoint
        ? { markdown: checkpoint.markdown, watermark: checkpoint.watermark, age: age(checkpoint.writtenAt, new Date()) }
        : undefined,
      taskLedger: context.services.tasks?.ledger(sessionId) ?? "",
      hasTasks: tasks.count > 0,
      allTasksSettled: tasks.allSettled,
      memory: memory?.rebuildFiles(sessionId) ?? NO_MEMORY,
      tailMinTokens: settings.tailMinTokens,
      tailMinTextMessages: settings.tailMinTextMessages,
      afterCompaction,
      earlierUserMessages: await userWordsBeforeCompaction(shared, sessionId, messages),
      isPackText,
      redact,
      shortenCache: state.shortenCache,
      subagentsRunning: subagentLines(context.services.subagents?.active(sessionId) ?? []),
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
    const kept = messages.length - plan.boundary;
    const summary = `a ${estimateTokens(plan.dump)}-token summary, ${kept} kept`;
    log.notify(`context rebuilt (${reason}): ${plan.boundary} messages replaced by ${summary}`);
  };
}

/**
 * After OpenCode's compaction the request starts at its summary: the user's earlier words are only in the stored
 * history. They are read from there so the dump still quotes them (a rebuild is rare; the read is paid then only).
 */
async function userWordsBeforeCompaction(
  shared: CheckpointShared,
  sessionId: string,
  messages: HostMessage[],
): Promise<string[]> {
  const compacted = messages.some((m) => m.info.summary || m.parts.some((p) => p.type === "compaction"));
  if (!compacted) return [];
  try {
    const inRequest = new Set(messages.map((m) => m.info.id));
    const stored = await shared.context.host.messages(sessionId);
    return stored.filter((m) => m.info.role === "user" && !inRequest.has(m.info.id)).map(userTextOf);
  } catch (error) {
    const why = `the history before OpenCode's compaction could not be read (${String(error)})`;
    shared.log.log("warn", `rebuild of ${sessionId}: ${why}; the dump quotes only the messages in the request`);
    return [];
  }
}

/** The rebuild's lines for the task subagents still running (their answers come back as task results). */
export function subagentLines(
  active: readonly { sessionId: string; agent: string; description: string; startedAt: number; tokens: number }[],
): string {
  return active
    .map(
      (a) =>
        `- ${a.agent} «${a.description || "no description"}» (session ${a.sessionId}, started ${new Date(a.startedAt).toISOString().slice(0, 16)}Z, ${a.tokens} tokens so far): its answer comes back as the result of your task call; do not start it again.`,
    )
    .join("\n");
}
