// One run at a time across processes (two `continuum dream` at once start two OpenCode servers): a lock file
// created exclusively, holding the owner's pid, so the second run is refused naming the first, and a lock left by a
// process that is gone (kill -9) is taken over instead of blocking forever.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { processAlive } from "./process-alive.ts";

const holderSchema = z.object({ pid: z.number().int(), startedAt: z.string(), what: z.string() });
export type LockHolder = z.infer<typeof holderSchema>;

export type LockResult = { ok: true; release(): void } | { ok: false; holder: LockHolder };

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock, or names who holds it; a holder whose process is gone (or an unreadable lock) is replaced. */
export function acquireLock(
  file: string,
  holder: LockHolder,
  isAlive: (pid: number) => boolean = processAlive,
): LockResult {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, JSON.stringify(holder));
      } finally {
        closeSync(fd);
      }
      return { ok: true, release: () => releaseLock(file, holder) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const current = readHolder(file);
    // A lock being written right now reads as empty: give its writer a moment rather than taking it over.
    if (current && isAlive(current.pid)) return { ok: false, holder: current };
    if (!current && attempt === 0) continue;
    rmSync(file, { force: true });
  }
  const current = readHolder(file);
  return current
    ? { ok: false, holder: current }
    : { ok: false, holder: { pid: 0, startedAt: "", what: "an unreadable lock" } };
}

/** Removes the lock only while it is still this holder's (a taken-over lock belongs to someone else). */
function releaseLock(file: string, holder: LockHolder): void {
  const current = readHolder(file);
  if (current && current.pid === holder.pid && current.startedAt === holder.startedAt) rmSync(file, { force: true });
}
