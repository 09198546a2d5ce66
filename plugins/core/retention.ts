// Copies the pack keeps for the user's sake (backups of uncommitted work before a merge, refused or conflicting
// diffs) are pruned when a new one is written, never by a daemon: the newest are always kept, older ones only for
// a while, so a long-lived project's data dir does not grow without end.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stampedAt } from "./file-stamp.ts";

export const RETENTION = { keepNewest: 20, keepDays: 14 } as const;

export type RetentionPolicy = { keepNewest: number; keepDays: number };

/**
 * Of names carrying a file stamp (`stampOf` finds it in each), those past the policy: older than `keepDays` and not
 * among the `keepNewest` newest. Names without a stamp are never chosen.
 */
export function expiredStamps(
  names: readonly string[],
  now = Date.now(),
  policy: RetentionPolicy = RETENTION,
  stampOf: (name: string) => string = (name) => name,
): string[] {
  const cutoff = now - policy.keepDays * 86_400_000;
  return names
    .map((name) => ({ name, at: stampedAt(stampOf(name)) }))
    .filter((e): e is { name: string; at: number } => e.at !== undefined)
    .sort((a, b) => b.at - a.at || b.name.localeCompare(a.name))
    .slice(policy.keepNewest)
    .filter((e) => e.at < cutoff)
    .map((e) => e.name);
}

/**
 * Deletes the time-stamped entries of `dir` that are both older than `keepDays` and not among the `keepNewest`
 * newest; anything else in the folder (not named by the pack) is left alone. Returns what was deleted; never throws.
 */
export function pruneStamped(dir: string, now = Date.now(), policy: RetentionPolicy = RETENTION): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const deleted: string[] = [];
  for (const name of expiredStamps(names, now, policy)) {
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      deleted.push(name);
    } catch {
      // A copy that cannot be deleted now is tried again at the next write.
    }
  }
  return deleted;
}
