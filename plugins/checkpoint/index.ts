// Checkpoints and context rebuild: the meter (reading.ts: model calls and their reported usage), the schedule, the
// background writer (writer-run.ts, through the helper runner), the rebuild of the next request (request.ts,
// rebuild-run.ts), the compaction lines and the /checkpoint, /rebuild, /context commands (commands.ts). What a
// session needs is in its slot (session-state.ts), dropped with the session.
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { checkpointCommands, compactingPart, pointerPart } from "./commands.ts";
import { watchReadings } from "./reading.ts";
import { createRebuild } from "./rebuild-run.ts";
import { createRequestShaper } from "./request.ts";
import { checkpointService } from "./service.ts";
import { sessionSlot } from "./session-state.ts";
import { createShared } from "./shared.ts";
import { openCheckpointStore, type CheckpointStore } from "./store.ts";
import { WRITER_AGENT, WRITER_TOOL } from "./writer-run.ts";

export { WRITER_AGENT } from "./writer-run.ts";
export { REPORT_TITLE } from "./commands.ts";
const HIDDEN_AGENTS = new Set(["title", "summary", "compaction", WRITER_AGENT]);

export const checkpointFeature: FeatureModule = {
  name: "checkpoint",
  needsDatabase: true,
  provides: ["checkpoint"],
  uses: ["tasks", "memory", "subagents"],
  assets: { agents: [WRITER_AGENT], commands: ["checkpoint", "rebuild", "context"] },
  internalTools: [{ tool: WRITER_TOOL, agent: WRITER_AGENT }],
  create(context) {
    return createCheckpoint(context, openCheckpointStore(context.db!, { sessionDir: context.projectPaths.session }));
  },
};

export default checkpointFeature;

/** The feature's parts over a given store (the lifecycle test passes one without session files). */
export function createCheckpoint(context: FeatureContext, store: CheckpointStore): FeatureParts {
  const shared = createShared(context, store);
  context.provide("checkpoint", checkpointService(context.projectPaths.session));
  watchReadings(shared, HIDDEN_AGENTS);
  context.sessions.on("checkpoint", "session.deleted", (event) => {
    // The slot goes with the record; a writer still running finishes, but nothing queued behind it starts.
    const job = context.sessions.peek(event.sessionId)?.get(sessionSlot).writerJob;
    if (job) job.pending = undefined;
  });
  return {
    tools: { [WRITER_TOOL]: shared.writer.channel.tool },
    modelCall(call) {
      if (HIDDEN_AGENTS.has(call.agent)) return;
      const modelKey = `${call.providerID}/${call.modelID}`;
      const { providerID, modelID, limit } = call;
      shared.stateOf(call.sessionId).model = { limit, modelKey, providerID, modelID };
    },
    requestMessages: createRequestShaper(shared, createRebuild(shared)),
    systemPrompt: pointerPart(shared),
    compacting: compactingPart(shared),
    commands: checkpointCommands(shared),
  };
}
