// Applying a helper's diff to the user's working tree (never the index): refused whole, nothing touched and the diff
// saved, when the user changed a file it touches since the work started, when a hunk does not apply, or when no
// backup of the index and the tree can be taken first.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { captureState, changedPaths, recordAfter, takeBackup } from "./backups.ts";
import { fileStamp, nameSafe } from "./file-stamp.ts";
import { git } from "./git.ts";
import { pruneStamped } from "./retention.ts";
import { writeStoredFile } from "./storage/stored-text.ts";
import type { ApplyResult } from "./worktrees.ts";

/** Paths named by a unified diff's `diff --git` headers (b/ side, or a/ for deletions). */
export function diffFiles(diff: string): string[] {
  const files = new Set<string>();
  for (const line of diff.split("\n")) {
    const match = /^diff --git a\/(.+?) b\/(.+)$/.exec(line);
    if (match) files.add(match[2]!);
  }
  return [...files];
}

/** Files `git apply --check` complained about. */
export function conflictFiles(stderr: string): string[] {
  const files = new Set<string>();
  for (const line of stderr.split("\n")) {
    const match =
      /^error: (?:patch failed: (.+?):\d+|(.+?): (?:does not exist in index|already exists in working directory|No such file or directory|does not match index|patch does not apply|does not exist))/.exec(
        line,
      );
    const file = match?.[1] ?? match?.[2];
    if (file) files.add(file);
  }
  return [...files];
}

/** A refused diff is kept under `<root>/rejected` (stamped, pruned) so the work is never lost. */
function saveRejected(root: string, diff: string, label: string | undefined): string {
  const dir = join(root, "rejected");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${fileStamp()}-${nameSafe(label ?? "diff")}.diff`);
  writeStoredFile(file, diff);
  pruneStamped(dir);
  return file;
}

export async function applyDiff(
  where: { projectDir: string; root: string; top: string },
  diff: string,
  options: { expectFingerprint?: string; label?: string },
): Promise<ApplyResult> {
  if (!diff.trim()) return { ok: true, files: [], backup: undefined };
  const { top } = where;
  const rejected = () => saveRejected(where.root, diff, options.label);
  const files = diffFiles(diff);
  if (options.expectFingerprint) {
    const now = await captureState(where.projectDir, true);
    // Only the user's edits to the files the change touches stand in its way (a new editor swap file does not).
    const yours = await changedPaths(top, options.expectFingerprint, now.tree).catch(() => undefined);
    const clash = yours ? yours.filter((file) => files.includes(file)) : files;
    if (clash.length)
      return {
        ok: false,
        reason: `you changed ${clash.join(", ")} since the work started`,
        conflicts: clash,
        savedTo: rejected(),
      };
  }
  const check = await git(top, ["apply", "--check", "--binary", "-"], { input: diff });
  if (check.code !== 0) {
    const conflicts = conflictFiles(check.stderr);
    return {
      ok: false,
      reason: `the change does not apply: ${check.stderr.trim().split("\n")[0] ?? "git apply failed"}`,
      conflicts,
      savedTo: rejected(),
    };
  }
  // The user's index and tree are kept first (reachable, `continuum restore` puts them back); no backup, no apply.
  let backup;
  try {
    backup = await takeBackup(top, `before applying ${options.label ?? "a change"}`);
  } catch (error) {
    return {
      ok: false,
      reason: `your index and working tree could not be backed up, so nothing was applied: ${(error as Error).message}`,
      conflicts: [],
      savedTo: rejected(),
    };
  }
  const applied = await git(top, ["apply", "--binary", "-"], { input: diff });
  if (applied.code !== 0) {
    return {
      ok: false,
      reason: `git apply failed after its check passed: ${applied.stderr.trim().split("\n")[0]}`,
      conflicts: conflictFiles(applied.stderr),
      savedTo: rejected(),
    };
  }
  await recordAfter(top, backup).catch(() => undefined);
  return { ok: true, files, backup: backup.name };
}
