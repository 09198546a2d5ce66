// Getting an unfinished run ready to run again: refused when it is done, damaged or alive in another process; its
// journal dropped when the script changed (replayed results would belong to other code); its counters reset.
import { processAlive } from "../core/process-alive.ts";
import type { EngineOptions } from "./engine-types.ts";
import type { Journal, RunRecord } from "./journal.ts";
import type { LoadedWorkflow } from "./loader.ts";

export interface ResumableRun {
  record: RunRecord;
  loaded: LoadedWorkflow;
  journal: Journal;
  /** Said once: why the journal was dropped. */
  notice?: string;
}

/** Loads, checks and re-marks a stored run as running in this process (saved); throws why it cannot resume. */
export function prepareResume(options: EngineOptions, runId: string, parentSessionId?: string): ResumableRun {
  const { store } = options;
  const record = store.load(runId);
  if (!record)
    throw new Error(
      store.exists(runId)
        ? `the record of run ${runId} is damaged (${store.dir(runId)}/run.json); its journal is kept there`
        : `no workflow run ${runId}`,
    );
  if (record.status === "done") throw new Error(`run ${runId} already finished; its result is kept (workflow status)`);
  if (record.status === "running" && record.pid !== process.pid && processAlive(record.pid))
    throw new Error(`run ${runId} is still running in process ${record.pid}`);
  const loaded = options.loader.load(record.target);
  let notice: string | undefined;
  const journal = store.journal(runId);
  if (loaded.hash !== record.scriptHash) {
    notice = `the script ${record.target} changed since the run started: its journal (${journal.size} results) was dropped and the run starts fresh`;
    journal.reset();
    record.scriptHash = loaded.hash;
  }
  Object.assign(record, {
    status: "running",
    pid: process.pid,
    endedAt: undefined,
    error: undefined,
    result: undefined,
    parentSessionId: parentSessionId ?? record.parentSessionId,
  });
  record.agents = { started: 0, finished: 0, failed: 0, replayed: 0, running: 0 };
  record.checks = undefined; // counted afresh, like agents: finished checks show as replayed
  record.resumes++;
  const line = notice ?? `resumed with ${journal.size} journaled result(s)`;
  record.transcript.push({ at: Date.now(), kind: "notice", text: line });
  store.save(record);
  return { record, loaded, journal, notice };
}
