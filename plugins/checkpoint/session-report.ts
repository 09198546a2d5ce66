// The /context report and the pointer a new session gets to the previous session's checkpoint.
import { existsSync, readFileSync } from "node:fs";
import type { FeatureContext } from "../core/feature.ts";
import type { Schedule } from "./meter.ts";
import { formatContextReport } from "./report.ts";
import { checkpointShapeProblems } from "./sections.ts";
import type { CheckpointSession } from "./session-state.ts";
import type { CheckpointStore } from "./store.ts";
import type { WriterQueue } from "./writer.ts";

export interface SessionReportDeps {
  context: FeatureContext;
  store: CheckpointStore;
  queue: WriterQueue;
  stateOf(sessionId: string): CheckpointSession;
  scheduleOf(sessionId: string): Schedule | undefined;
  checkpointFile(sessionId: string): string;
}

export function createSessionReports(deps: SessionReportDeps) {
  const { context, store, queue, stateOf, scheduleOf, checkpointFile } = deps;
  const contextReport = (sessionId: string) => {
    const latest = store.latest(sessionId);
    const file = checkpointFile(sessionId);
    const onDisk = latest && existsSync(file) ? readFileSync(file, "utf8") : undefined;
    const state = stateOf(sessionId);
    return formatContextReport({
      state: store.state(sessionId),
      schedule: scheduleOf(sessionId),
      window: state.model?.limit.context,
      checkpoint: latest
        ? {
            seq: latest.seq,
            writtenAt: latest.writtenAt,
            watermark: latest.watermark,
            file,
            shapeProblems: onDisk ? checkpointShapeProblems(onDisk) : ["file missing"],
          }
        : undefined,
      writer: writerStatus(sessionId),
      estimate: state.estimator.check(),
      now: new Date(),
    });
  };

  const writerStatus = (sessionId: string) => {
    const status = queue.status(sessionId);
    const run = context.helpers
      .list()
      .find((r) => r.feature === "checkpoint" && r.parentSessionId === sessionId && r.state === "running");
    return { ...status, attempts: Math.max(1, run?.attempts ?? 1) };
  };

  const previousSessionPointer = (sessionId: string): string => {
    if (store.latest(sessionId)) return "";
    const previous = store.latestElsewhere(context.project.id, sessionId);
    if (!previous) return "";
    const file = checkpointFile(previous.sessionId);
    return `Earlier work in this project: the previous session (${previous.sessionId}) left a checkpoint written ${previous.writtenAt}, at ${file}. It is background only, not a task list: read it if the user refers to earlier work.`;
  };

  return { contextReport, previousSessionPointer };
}
