// A script's merge(changes): isolated agents' diffs applied to the user's tree through the MergePort, journaled
// when it went through so a resumed run never applies the same changes twice.
import { errorText } from "../core/report.ts";
import { hash } from "./engine-util.ts";
import type { Occurrence, RunScope } from "./engine-types.ts";
import { saveRun, transcribe } from "./run-record.ts";

/** A merge that applied nothing, for why (the script sees the same shape as a real conflict). */
const refused = (reason: string) => ({
  ok: false,
  merged: [],
  unchanged: [],
  kept: [],
  conflict: { reason, files: [] },
});

/**
 * merge(changes): a merge that went through is journaled like an agent's result, so a resumed run never applies
 * the same changes twice; one that stopped (a conflict) applied nothing and is tried again on resume.
 */
export async function mergeCall(
  scope: RunScope,
  prefix: string,
  occurrence: Occurrence,
  changes: unknown,
): Promise<unknown> {
  const { options, run } = scope;
  const identity = hash(JSON.stringify(["merge", prefix, changes ?? null]));
  const key = `${prefix}${identity}#${occurrence(identity)}`;
  const journaled = run.journal.get(key);
  if (journaled) {
    transcribe(run, "log", "merge: replayed from the journal (already applied)");
    return journaled.value;
  }
  if (!options.merge) {
    const reason = "merging needs the compose feature (compose.enabled is false)";
    transcribe(run, "error", `merge: ${reason}`);
    return refused(reason);
  }
  if (run.controller.signal.aborted) return refused("the run was cancelled");
  const report = await options.merge(changes).catch((error) => refused(errorText(error)));
  if (report.ok) run.journal.put({ key, value: report, label: "merge", at: Date.now() });
  const conflict = report.conflict as { reason?: string; files?: string[] } | undefined;
  const files = conflict?.files?.length ? ` (files: ${conflict.files.join(", ")})` : "";
  transcribe(
    run,
    "log",
    report.ok
      ? `merge: applied (${(report.merged as unknown[] | undefined)?.length ?? 0} change(s))`
      : `merge stopped: ${conflict?.reason ?? "unknown reason"}${files}`,
  );
  saveRun(scope);
  return report;
}
