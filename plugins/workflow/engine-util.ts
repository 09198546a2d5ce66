// Small helpers of the engine (kept apart so engine.ts stays readable).
import { createHash } from "node:crypto";

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
