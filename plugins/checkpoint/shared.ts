// What the checkpoint feature's parts share: the store, the session's slot, its schedule and stored cut, the
// path of its checkpoint.md, and the one writer queue (whose running job lives in the session's slot).
import { join } from "node:path";
import type { FeatureContext } from "../core/feature.ts";
import type { Reporter } from "../core/report.ts";
import { resolveSchedule, type Schedule } from "./meter.ts";
import type { StoredCut } from "./rebuild.ts";
import { sessionSlot, type CheckpointSession } from "./session-state.ts";
import type { CheckpointStore } from "./store.ts";
import { WriterQueue, type WriterJobs } from "./writer.ts";
import { createWriterRun } from "./writer-run.ts";

export interface CheckpointShared {
  context: FeatureContext;
  store: CheckpointStore;
  settings: FeatureContext["config"]["checkpoint"];
  log: Reporter;
  stateOf(sessionId: string): CheckpointSession;
  scheduleOf(sessionId: string): Schedule | undefined;
  cutOf(sessionId: string): StoredCut | null;
  checkpointFile(sessionId: string): string;
  queue: WriterQueue;
  writer: ReturnType<typeof createWriterRun>;
}

export function createShared(context: FeatureContext, store: CheckpointStore): CheckpointShared {
  const { config, reporter, sessions } = context;
  const settings = config.checkpoint;
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(sessionSlot);
  const checkpointFile = (sessionId: string) => join(context.projectPaths.session(sessionId), "checkpoint.md");

  const scheduleOf = (sessionId: string): Schedule | undefined => {
    const model = stateOf(sessionId).model;
    return model ? resolveSchedule(settings, model.modelKey, model.limit) : undefined;
  };

  const cutOf = (sessionId: string): StoredCut | null => {
    const state = stateOf(sessionId);
    if (state.cut === undefined) {
      const stored = store.state(sessionId);
      const { boundaryMessageId, boundaryDump } = stored;
      state.cut = boundaryMessageId && boundaryDump ? { boundaryMessageId, dump: boundaryDump } : null;
    }
    return state.cut;
  };

  const writer = createWriterRun({
    context,
    store,
    checkpointFile,
    // A writer may end after its session was deleted: look, never create.
    model: (id) => {
      const model = sessions.peek(id)?.get(sessionSlot).model;
      if (!model) return undefined;
      return { providerID: model.providerID, modelID: model.modelID, usable: scheduleOf(id)?.usable };
    },
  });
  // A finished writer of a deleted session must not bring its record back: read and clear without creating.
  const jobs: WriterJobs = {
    get: (id) => sessions.peek(id)?.get(sessionSlot).writerJob,
    set: (id, job) => void (stateOf(id).writerJob = job),
    delete: (id) => {
      const record = sessions.peek(id);
      if (record?.has(sessionSlot)) record.get(sessionSlot).writerJob = undefined;
    },
  };
  const queue = new WriterQueue(writer.run, Date.now, jobs);
  const log = reporter.child("checkpoint");
  return { context, store, settings, log, stateOf, scheduleOf, cutOf, checkpointFile, queue, writer };
}
