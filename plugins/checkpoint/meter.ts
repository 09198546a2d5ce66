// The context meter and the checkpoint schedule. Tokens in use come from the last finished assistant call;
// the usable window follows OpenCode's own compaction rule, so the rebuild always lands before it. Pure.
import type { ContinuumConfig } from "../core/config-schema.ts";

export interface ModelLimit {
  context: number;
  input?: number;
  output: number;
}

export interface ReportedTokens {
  total?: number;
  input: number;
  output: number;
  reasoning?: number;
  cache?: { read: number; write: number };
}

/** OpenCode's count of the context in use after a call. */
export function tokensInUse(tokens: ReportedTokens): number {
  return tokens.total || tokens.input + tokens.output + (tokens.cache?.read ?? 0) + (tokens.cache?.write ?? 0);
}

const OUTPUT_MAX = 32000;
const RESERVED_MAX = 20000;

/** OpenCode 1.18.33's usable window: it compacts when the tokens in use reach this. */
export function usableWindow(limit: ModelLimit, reserved?: number): number {
  if (!limit.context) return 0;
  const maxOut = Math.min(limit.output || OUTPUT_MAX, OUTPUT_MAX);
  if (limit.input) return Math.max(0, limit.input - (reserved ?? Math.min(RESERVED_MAX, maxOut)));
  return Math.max(0, limit.context - maxOut);
}

export interface Schedule {
  usable: number;
  /** Checkpoint thresholds in tokens, ascending, all below the rebuild point. */
  thresholds: number[];
  rebuildAt: number;
  /** Hard cap of a rebuilt request, tokens. */
  cap: number;
}

type CheckpointConfig = ContinuumConfig["checkpoint"];

/** Fractions (≤ 1) are of the usable window; larger numbers are absolute tokens. */
const toTokens = (value: number, usable: number) => Math.round(value <= 1 ? value * usable : value);

/** The margin kept under OpenCode's compaction point, so our rebuild always comes first. */
export const compactionMargin = (usable: number) => Math.max(500, Math.round(usable * 0.05));

export function resolveSchedule(
  config: CheckpointConfig,
  modelKey: string,
  limit: ModelLimit,
  reserved?: number,
): Schedule {
  const usable = usableWindow(limit, reserved);
  const override = config.models[modelKey] ?? {};
  const rebuildAt = Math.min(
    toTokens(override.rebuildAt ?? config.rebuildAt, usable),
    usable - compactionMargin(usable),
  );
  const window = limit.input ?? limit.context;
  const thresholds =
    window < config.minWindowForCheckpoints
      ? []
      : [...new Set((override.thresholds ?? config.thresholds).map((t) => toTokens(t, usable)))]
          .filter((t) => t > 0 && t < rebuildAt)
          .sort((a, b) => a - b);
  const configuredCap = override.rebuildCapTokens ?? config.rebuildCapTokens;
  // The cap stays under the rebuild point too, or a rebuilt request would trigger the next rebuild at once.
  const cap = Math.min(
    configuredCap,
    window < 110000 ? Math.round(usable * 0.6) : usable - compactionMargin(usable),
    Math.round(rebuildAt * 0.8),
  );
  return { usable, thresholds, rebuildAt: Math.max(1, rebuildAt), cap: Math.max(1000, cap) };
}

export interface MeterReading {
  used: number;
  fraction: number;
}

export const reading = (used: number, schedule: Schedule): MeterReading => ({
  used,
  fraction: schedule.usable ? used / schedule.usable : 0,
});

export type ScheduledAction =
  | { kind: "checkpoint"; threshold: number; index: number }
  | { kind: "rebuild" }
  | { kind: "none" };

/**
 * What a new reading calls for. `firedIndex` is the highest threshold already acted on (-1 for none), so a
 * jump over two thresholds starts one checkpoint, and a restart never repeats one.
 */
export function actionFor(used: number, schedule: Schedule, firedIndex: number): ScheduledAction {
  if (used >= schedule.rebuildAt) return { kind: "rebuild" };
  let crossed = -1;
  schedule.thresholds.forEach((t, i) => {
    if (used >= t) crossed = i;
  });
  if (crossed > firedIndex) return { kind: "checkpoint", threshold: schedule.thresholds[crossed]!, index: crossed };
  return { kind: "none" };
}

/**
 * A checkpoint needs something to record: a crossing reached on the system prompt and tool schemas alone (small
 * windows) waits until the messages grew by max(1,000 tokens, 5 % of the usable window) since the last one.
 */
export function enoughNewContent(messagesTokens: number, atLastCheckpoint: number, usable: number): boolean {
  return messagesTokens - atLastCheckpoint >= Math.max(1000, Math.round(usable * 0.05));
}

/** The next thing the schedule will do, for /context. */
export function nextScheduled(used: number, schedule: Schedule, firedIndex: number): string {
  const next = schedule.thresholds.findIndex((t, i) => i > firedIndex && t > used);
  if (next >= 0)
    return `checkpoint at ${schedule.thresholds[next]} tokens (${percent(schedule.thresholds[next]! / schedule.usable)})`;
  return `rebuild at ${schedule.rebuildAt} tokens (${percent(schedule.rebuildAt / schedule.usable)})`;
}

export const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;
