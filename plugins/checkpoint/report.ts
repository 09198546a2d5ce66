// The /context report: meter, thresholds, last checkpoint and its age, writer state, next scheduled action,
// and how the token estimate compares with what the provider reported. Pure.
import { nextScheduled, percent, type Schedule } from "./meter.ts";
import type { SessionState } from "./store.ts";
import type { WriterStatus } from "./writer.ts";

export interface ContextReportInput {
  state: SessionState;
  schedule: Schedule | undefined;
  window?: number;
  checkpoint?: { seq: number; writtenAt: string; watermark: string | null; file: string; shapeProblems: string[] };
  writer: WriterStatus;
  estimate?: { estimated: number; reported: number };
  now: Date;
}

const n = (value: number) => value.toLocaleString("en-US");

export function age(fromIso: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(fromIso).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function formatContextReport(input: ContextReportInput): string {
  const { state, schedule, writer } = input;
  const lines: string[] = [];
  if (!schedule) {
    lines.push("Context: no model call measured yet in this session.");
  } else {
    lines.push(
      `Context: ${n(state.lastUsed)} / ${n(schedule.usable)} usable tokens (${percent(state.lastUsed / (schedule.usable || 1))})${state.modelKey ? ` · model ${state.modelKey}` : ""}${input.window ? ` · window ${n(input.window)}` : ""}`,
    );
    const marks = schedule.thresholds.map(
      (t, i) => `${percent(t / schedule.usable)} ${i <= state.firedIndex ? "✓" : "·"} (${n(t)})`,
    );
    lines.push(
      `Checkpoints at: ${marks.length ? marks.join(", ") : "none (window below checkpoint.minWindowForCheckpoints: rebuild only)"}`,
    );
    lines.push(
      `Rebuild at: ${percent(schedule.rebuildAt / schedule.usable)} (${n(schedule.rebuildAt)}) · rebuilt request cap ${n(schedule.cap)} tokens`,
    );
    lines.push(`Next: ${nextScheduled(state.lastUsed, schedule, state.firedIndex)}`);
  }
  if (input.checkpoint) {
    const c = input.checkpoint;
    lines.push(
      `Last checkpoint: #${c.seq}, ${age(c.writtenAt, input.now)}, covers up to ${c.watermark ?? "(start)"} · ${c.file}`,
    );
    if (c.shapeProblems.length)
      lines.push(
        `  checkpoint.md was edited into an invalid shape (${c.shapeProblems.join("; ")}); the stored checkpoint #${c.seq} is used.`,
      );
  } else {
    lines.push("Last checkpoint: none yet");
  }
  const w =
    writer.state === "running"
      ? `running (${writer.reason}, attempt ${writer.attempts}, ${Math.round((writer.runningForMs ?? 0) / 1000)} s)`
      : writer.state;
  lines.push(
    `Writer: ${w}${writer.pending ? ` · queued: ${writer.pending}` : ""} · runs ${state.writerRuns}, failures ${state.writerFailures}`,
  );
  if (state.lastFailure)
    lines.push(
      `  last failure ${state.lastFailureAt ? age(state.lastFailureAt, input.now) : ""}: ${state.lastFailure}`,
    );
  lines.push(`Writer tokens: ${n(state.writerInputTokens)} in · ${n(state.writerOutputTokens)} out`);
  lines.push(
    state.rebuilds > 0
      ? `Rebuilds: ${state.rebuilds} (last ${state.boundaryAt ? age(state.boundaryAt, input.now) : "?"}, ${state.boundaryReason ?? ""}) · history cut before ${state.boundaryMessageId}`
      : "Rebuilds: none yet",
  );
  if (input.estimate && input.estimate.reported > 0) {
    const ratio = input.estimate.reported / Math.max(1, input.estimate.estimated);
    lines.push(
      `Token estimate check: last request estimated ${n(input.estimate.estimated)}, provider reported ${n(input.estimate.reported)} (×${ratio.toFixed(2)})`,
    );
  }
  return lines.join("\n");
}
