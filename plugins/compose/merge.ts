// Merging the changes of several worktrees back into the user's working tree, losing nothing:
// 1. the user's uncommitted work (tracked changes and untracked files) is copied to a backup folder first; when that
//    copy cannot be made, nothing is touched;
// 2. every change is first applied, in order, to a scratch worktree made from the user's tree as it is now: the first
//    one that does not apply stops the merge before the user's tree is touched, with its files named and every
//    worktree kept;
// 3. only then is the combined change applied to the user's tree, in one step (refused whole on a conflict with
//    edits the user made meanwhile); the merged worktrees are removed after that, the others never.
import { copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import { git, gitOk } from "../core/git.ts";
import type { MergeReport } from "../core/merge-report.ts";
import { conflictFiles, diffFiles, type Worktree, type Worktrees } from "../core/worktrees.ts";
import { pruneStamped } from "../core/retention.ts";
import { fileStamp, nameSafe } from "../core/file-stamp.ts";

export type { MergeConflict, MergeReport } from "../core/merge-report.ts";

/**
 * One change to merge: a live worktree, or its diff taken earlier (a workflow journals an isolated agent's diff when
 * the agent finishes, so a run resumed after a crash, whose worktrees were swept, can still merge it).
 */
export interface MergeItem {
  label: string;
  worktree?: Worktree;
  diff?: string;
}

export interface MergeOptions {
  /** Where backups of the user's uncommitted work go (one folder per merge). */
  backupRoot: string;
  now?: () => Date;
}


/**
 * Copies the user's uncommitted work to `<backupRoot>/<time>/`: `tracked.patch` (binary-safe diff against HEAD,
 * staged and unstaged) and `untracked/` (the untracked, non-ignored files as they are). Undefined when the tree is clean.
 */
export async function backupUncommitted(projectDir: string, backupRoot: string, now = new Date()): Promise<string | undefined> {
  const top = (await gitOk(projectDir, ["rev-parse", "--show-toplevel"])).trim();
  const status = await gitOk(top, ["status", "--porcelain", "-z", "--untracked-files=all"]);
  if (!status) return undefined;
  const dir = join(backupRoot, fileStamp(now));
  mkdirSync(dir, { recursive: true });
  const hasHead = (await git(top, ["rev-parse", "--verify", "-q", "HEAD"])).code === 0;
  // Without a commit yet everything is untracked or staged: the staged part is diffed against the empty tree.
  const tracked = hasHead ? await gitOk(top, ["diff", "--binary", "--no-ext-diff", "HEAD", "--"]) : await gitOk(top, ["diff", "--binary", "--no-ext-diff", "--cached", "--"]);
  writeFileSync(join(dir, "tracked.patch"), tracked);
  const untracked = (await gitOk(top, ["ls-files", "--others", "--exclude-standard", "-z"])).split("\0").filter(Boolean);
  for (const file of untracked) {
    const from = join(top, file);
    const to = join(dir, "untracked", file);
    mkdirSync(dirname(to), { recursive: true });
    const stat = lstatSync(from);
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (stat.isFile()) copyFileSync(from, to);
  }
  pruneStamped(backupRoot, now.getTime());
  writeFileSync(
    join(dir, "README.txt"),
    [
      `Backup of uncommitted work in ${top}, taken ${now.toISOString()} before a merge by opencode-continuum.`,
      "Restore tracked changes: git apply --binary tracked.patch (from the project's top folder).",
      `Untracked files: copy them back from untracked/ (${untracked.length} file(s)).`,
      "",
    ].join("\n"),
  );
  return dir;
}

/**
 * Merges the worktrees' changes into the user's working tree, in order; see the file's header for the guarantees.
 * Never throws: a failure of git or of the disk is reported as a stop (every step that can fail comes before the one
 * `git apply` on the user's tree, so nothing was applied then), with every worktree kept.
 */
export async function mergeWorktrees(worktrees: Worktrees, items: readonly MergeItem[], options: MergeOptions): Promise<MergeReport> {
  try {
    return await mergeSteps(worktrees, items, options);
  } catch (error) {
    const kept = items.flatMap((item) => (item.worktree ? [{ label: item.label, dir: item.worktree.dir }] : []));
    return { ok: false, merged: [], unchanged: [], kept, conflict: { label: "", reason: `the merge failed before your working tree was touched: ${(error as Error).message}`, files: [] } };
  }
}

async function mergeSteps(worktrees: Worktrees, items: readonly MergeItem[], options: MergeOptions): Promise<MergeReport> {
  const report: MergeReport = { ok: false, merged: [], unchanged: [], kept: [] };
  const keepAll = (from: readonly MergeItem[]) => from.flatMap((item) => (item.worktree ? [{ label: item.label, dir: item.worktree.dir }] : []));
  const removeWorktree = async (item: MergeItem) => {
    if (item.worktree) await worktrees.remove(item.worktree).catch(() => undefined);
  };
  if (!(await worktrees.isRepo())) {
    return { ...report, conflict: { label: "", reason: "the project is not a git repository: nothing can be merged", files: [] }, kept: keepAll(items) };
  }

  const changes: { item: MergeItem; diff: string; files: string[] }[] = [];
  for (const item of items) {
    const diff = item.diff ?? (item.worktree ? await worktrees.diff(item.worktree) : "");
    if (diff.trim()) changes.push({ item, diff, files: diffFiles(diff) });
    else report.unchanged.push(item.label);
  }
  const removeUnchanged = async () => {
    for (const item of items) if (report.unchanged.includes(item.label)) await removeWorktree(item);
  };
  if (changes.length === 0) {
    await removeUnchanged();
    return { ...report, ok: true };
  }

  // Before anything can touch the user's tree: a copy of their uncommitted work.
  try {
    report.backup = await backupUncommitted(worktrees.projectDir, options.backupRoot, options.now?.());
  } catch (error) {
    return { ...report, conflict: { label: "", reason: `your uncommitted work could not be backed up, so nothing was merged: ${(error as Error).message}`, files: [] }, kept: keepAll(items) };
  }

  const scratch = await worktrees.create("compose", "merge check");
  try {
    const top = (await gitOk(scratch.dir, ["rev-parse", "--show-toplevel"])).trim();
    for (const change of changes) {
      const applied = await git(top, ["apply", "--binary", "-"], { input: change.diff });
      if (applied.code === 0) continue;
      const files = conflictFiles(applied.stderr);
      const savedTo = saveChange(options.backupRoot, change.item.label, change.diff, options.now?.());
      const merged = changes.slice(0, changes.indexOf(change)).map((c) => c.item.label);
      const reason = merged.length
        ? `it does not apply on top of your working tree and the changes before it (${merged.join(", ")})`
        : "it does not apply on top of your working tree";
      await removeUnchanged();
      return { ...report, conflict: { label: change.item.label, reason, files: files.length ? files : change.files, savedTo }, kept: keepAll(changes.map((c) => c.item)) };
    }
    const combined = await worktrees.diff(scratch);
    const applied = await worktrees.apply(combined, { label: `compose merge of ${changes.map((c) => c.item.label).join(", ")}`.slice(0, 120) });
    if (!applied.ok) {
      await removeUnchanged();
      return { ...report, conflict: { label: changes.map((c) => c.item.label).join(", "), reason: applied.reason, files: applied.conflicts, savedTo: applied.savedTo }, kept: keepAll(changes.map((c) => c.item)) };
    }
    report.backupCommit = applied.backup;
    for (const change of changes) {
      report.merged.push({ label: change.item.label, files: change.files });
      await removeWorktree(change.item);
    }
    await removeUnchanged();
    return { ...report, ok: true };
  } finally {
    await worktrees.remove(scratch).catch(() => undefined);
  }
}

function saveChange(root: string, label: string, diff: string, now = new Date()): string | undefined {
  try {
    const dir = join(root, "conflicts");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${fileStamp(now)}-${nameSafe(label) || "change"}.diff`);
    writeStoredFile(file, diff);
    pruneStamped(dir, now.getTime());
    return file;
  } catch {
    return undefined;
  }
}

/** The report as the user reads it. */
export function formatMergeReport(report: MergeReport): string {
  const lines: string[] = [];
  if (report.merged.length) lines.push(`Merged into the working tree: ${report.merged.map((m) => `${m.label} (${m.files.join(", ")})`).join("; ")}.`);
  if (report.unchanged.length) lines.push(`No changes: ${report.unchanged.join(", ")}.`);
  if (report.conflict) {
    const c = report.conflict;
    lines.push(`Merge stopped${c.label ? ` at ${c.label}` : ""}: ${c.reason}.${c.files.length ? ` Conflicting files: ${c.files.join(", ")}.` : ""} Nothing was applied to your working tree.`);
    if (c.savedTo) lines.push(`The change is saved in ${c.savedTo}.`);
  }
  if (report.kept.length) lines.push(`Worktrees kept: ${report.kept.map((k) => `${k.label} → ${k.dir}`).join("; ")}.`);
  if (report.backup) lines.push(`Your uncommitted work was backed up first to ${report.backup}.`);
  return lines.join("\n");
}

/** Where a project's merge backups and conflicting changes are kept (under the pack's data dir). */
export function mergeBackupRoot(context: Pick<FeatureContext, "projectPaths">): string {
  return join(context.projectPaths.root, "merges");
}

/** A diff larger than this is refused (a workflow's isolated agent hands its whole change as one string). */
export const MAX_DIFF_BYTES = 64 * 1024 * 1024;

const changesSchema = z
  .array(
    z
      .object({
        label: z.string().trim().min(1).max(200),
        diff: z.string().max(MAX_DIFF_BYTES),
      })
      .strict(),
  )
  .max(200);

/** The service other features call: checks the untrusted list, then merges (see mergeWorktrees). */
export async function mergeChanges(worktrees: Worktrees, changes: unknown, options: MergeOptions): Promise<MergeReport> {
  const parsed = changesSchema.safeParse(changes);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join(".") || "changes"}: ${i.message}`).slice(0, 3).join("; ");
    return { ok: false, merged: [], unchanged: [], kept: [], conflict: { label: "", reason: `nothing merged: the changes must be a list of {label, diff} (${problem})`, files: [] } };
  }
  const labels = parsed.data.map((c) => c.label);
  const twice = labels.find((label, i) => labels.indexOf(label) !== i);
  if (twice) return { ok: false, merged: [], unchanged: [], kept: [], conflict: { label: twice, reason: `nothing merged: the label "${twice}" is given twice`, files: [] } };
  return mergeWorktrees(worktrees, parsed.data, options);
}
