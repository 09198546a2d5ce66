// Small helpers of the engine (kept apart so engine.ts stays readable).
import { createHash } from "node:crypto";
import { errorText } from "../core/report.ts";

export async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.allSettled(promises), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export const hash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 24);

export function firstWords(text: string): string {
  const line = text.trim().split("\n")[0]!.replace(/\s+/g, " ");
  return line.length > 60 ? line.slice(0, 57) + "…" : line;
}

const MAX_ARGS_CHARS = 1_000_000;

/** A run's (or nested workflow's) args must be JSON and bounded: they are saved in the run record. */
export function checkArgs(args: unknown): void {
  if (args === undefined) return;
  let text: string | undefined;
  try {
    text = JSON.stringify(args);
  } catch (error) {
    throw new TypeError(`workflow args must be JSON: ${errorText(error)}`);
  }
  if (text !== undefined && text.length > MAX_ARGS_CHARS)
    throw new TypeError(`workflow args are longer than ${MAX_ARGS_CHARS} characters`);
}
