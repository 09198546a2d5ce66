// How runs read in the tool's answers, the /workflow reports and the CLI.
import type { RunRecord } from "./journal.ts";
import type { WorkflowSource } from "./loader.ts";
import { processAlive } from "../core/process-alive.ts";

const RESULT_CHARS = 8000;

/** A stored "running" run whose process is gone was interrupted (kill -9, crash): resume finishes it. */
export function displayStatus(run: RunRecord, activeHere: boolean): string {
  if (run.status !== "running" || activeHere) return run.status;
  return run.pid === process.pid || !processAlive(run.pid)
    ? "interrupted (resume it)"
    : `running in process ${run.pid}`;
}

/**
 * The run's agent() calls. The record knows only the calls started and not finished, which includes those waiting
 * for a helper slot (agents.maxConcurrent): with the runner's live counts they are told apart.
 */
export function progressLine(run: RunRecord, live?: { running: number; queued: number }): string {
  const a = run.agents;
  const inFlight = live ? [`${live.running} running`, `${live.queued} waiting for a slot`] : [`${a.running} in flight`];
  const parts = [...inFlight, `${a.finished} done`];
  if (a.failed) parts.push(`${a.failed} failed`);
  if (a.replayed) parts.push(`${a.replayed} replayed`);
  return `agents ${parts.join(", ")}; ${run.tokens} tokens${checksLine(run)}${run.phase ? `; phase: ${run.phase}` : ""}`;
}

/** check() calls are commands the pack ran, not model calls: counted apart, no tokens. */
function checksLine(run: RunRecord): string {
  const c = run.checks;
  if (!c || c.run + c.replayed === 0) return "";
  const parts = [`${c.passed} passed`, `${c.failed} failed`];
  if (c.replayed) parts.push(`${c.replayed} replayed`);
  return `; checks ${c.run} run (${parts.join(", ")})`;
}

export function runSummary(run: RunRecord, activeHere: boolean, transcriptLines = 20): string {
  const lines = [`Workflow ${run.name} · run ${run.id} · ${displayStatus(run, activeHere)}`, progressLine(run)];
  if (run.resumes) lines.push(`resumed ${run.resumes} time(s)`);
  const tail = run.transcript.slice(-transcriptLines);
  if (tail.length) {
    lines.push("", `Transcript (last ${tail.length} of ${run.transcript.length}):`);
    for (const line of tail) lines.push(`  [${line.kind}] ${line.text}`);
  }
  if (run.status === "done") lines.push("", `Result:\n${resultText(run.result)}`);
  if (run.error) lines.push("", `Error: ${run.error}`);
  return lines.join("\n");
}

export function resultText(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.length > RESULT_CHARS
    ? `${text.slice(0, RESULT_CHARS)}\n… (${text.length} characters; the whole result is in the run record)`
    : text;
}

export function runList(runs: RunRecord[], isActive: (id: string) => boolean, limit = 20): string {
  if (runs.length === 0) return "No workflow runs yet.";
  return runs
    .slice(0, limit)
    .map(
      (r) =>
        `${r.id}  ${r.name}  ${displayStatus(r, isActive(r.id))}  ${new Date(r.startedAt).toISOString()}  ${progressLine(r)}`,
    )
    .join("\n");
}

export function workflowList(list: (WorkflowSource & { description?: string; problem?: string })[]): string {
  if (list.length === 0)
    return "No workflows found (built-in, ~/.config/opencode/workflows/*.js, .opencode/workflows/*.js).";
  return list
    .map((w) => `${w.name} (${w.origin}): ${w.problem ? `BROKEN: ${w.problem}` : (w.description ?? "")}`)
    .join("\n");
}

/** `/workflow name {"a":1}` or `/workflow name some words`: JSON when it parses, else the text itself. */
export function parseArgsText(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}
