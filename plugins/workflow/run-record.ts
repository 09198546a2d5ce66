// Writing a run's visible state: its transcript, its saved record and the progress reports. Failures to save or
// report are logged, never thrown: a full disk or a broken listener must not stop the script.
import { errorText } from "../core/report.ts";
import { type TranscriptLine, TRANSCRIPT_KEPT } from "./journal.ts";
import type { ActiveRun, ProgressKind, RunScope } from "./engine-types.ts";

const MAX_LOG_CHARS = 2000;

export function transcribe(run: ActiveRun, kind: TranscriptLine["kind"], text: string): void {
  // Kept bounded between saves too: a script logging in a loop must not grow the host's memory.
  if (run.record.transcript.length >= TRANSCRIPT_KEPT * 2) run.record.transcript.splice(0, TRANSCRIPT_KEPT);
  run.record.transcript.push({
    at: Date.now(),
    kind,
    text: text.length > MAX_LOG_CHARS ? text.slice(0, MAX_LOG_CHARS) + "…" : text,
  });
}

export function saveRun({ options, run }: RunScope): void {
  try {
    options.store.save(run.record);
  } catch (error) {
    options.log?.("warn", `workflow ${run.record.id}: could not save the run record: ${errorText(error)}`);
  }
}

export function reportProgress({ options, run }: RunScope, kind: ProgressKind): void {
  try {
    options.onProgress?.(run.record, kind);
  } catch (error) {
    options.log?.("warn", `workflow progress report failed: ${errorText(error)}`);
  }
}
