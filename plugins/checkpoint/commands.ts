// The /context, /checkpoint and /rebuild commands, the pointer a new session gets to the previous session's
// checkpoint, and what OpenCode's own compaction is told to keep.
import type { FeatureParts } from "../core/feature.ts";
import { createSessionReports } from "./session-report.ts";
import type { CheckpointShared } from "./shared.ts";

export const REPORT_TITLE = "opencode-continuum · context report";

const REBUILD_NOTICE =
  "[continuum /rebuild] Context rebuild requested: it is applied to the next request " +
  "(a short history is left as it is; /context shows the result).";
const REBUILD_PROMPT =
  "[continuum /rebuild] The user asked for a context rebuild. " +
  "Confirm in one short sentence, then continue any work that is pending.";

export function checkpointCommands(shared: CheckpointShared): NonNullable<FeatureParts["commands"]> {
  const { queue } = shared;
  const { contextReport } = reports(shared);
  return {
    // The report is stored verbatim; the command's own call carries only a pointer, so it costs next to nothing.
    context: ({ sessionId }) => ({ kind: "report", text: `${REPORT_TITLE}\n${contextReport(sessionId)}` }),
    checkpoint: ({ sessionId }) => {
      const outcome = queue.request(sessionId, "manual /checkpoint");
      const how = outcome === "started" ? "was started in the background" : "was queued behind the running one";
      return { kind: "report", text: `[continuum /checkpoint] A checkpoint writer ${how}; /context shows its state.` };
    },
    rebuild: ({ sessionId }) => {
      shared.stateOf(sessionId).pendingRebuild = { reason: "manual /rebuild" };
      return { kind: "prompt", notice: REBUILD_NOTICE, text: REBUILD_PROMPT };
    },
  };
}

/** The system-prompt pointer to the previous session's checkpoint, worked out once per session. */
export function pointerPart(shared: CheckpointShared): NonNullable<FeatureParts["systemPrompt"]> {
  const { previousSessionPointer } = reports(shared);
  return async (call) => {
    if (!(await shared.context.sessions.isMain(call.sessionId))) return;
    const state = shared.stateOf(call.sessionId);
    state.pointer ??= previousSessionPointer(call.sessionId);
    if (state.pointer) call.add(state.pointer);
  };
}

/** What OpenCode's own compaction must keep: the latest checkpoint and the project rules. */
export function compactingPart(shared: CheckpointShared): NonNullable<FeatureParts["compacting"]> {
  return (sessionId, add) => {
    const checkpoint = shared.store.latest(sessionId);
    if (checkpoint) {
      const intro = "The latest structured checkpoint of this session (keep its directives and exact values):";
      add(`${intro}\n${checkpoint.markdown}`);
    }
    const rules = shared.context.services.memory?.projectRules();
    if (rules) add(`Project rules (from MEMORY.md), keep them:\n${rules}`);
  };
}

const reports = (shared: CheckpointShared) =>
  createSessionReports({
    context: shared.context,
    store: shared.store,
    queue: shared.queue,
    stateOf: shared.stateOf,
    scheduleOf: shared.scheduleOf,
    checkpointFile: shared.checkpointFile,
  });
