// Merging the changes of several worktrees back into the user's working tree, losing nothing:
// 1. every change is first applied, in order, to a scratch worktree made from the user's tree as it is now: the first
//    one that does not apply stops the merge before the user's tree is touched, with its files named, every
//    worktree kept and every change's diff saved;
// 2. only then is the combined change applied to the user's tree, in one step, after a backup of the user's index and
//    tree (core/backups.ts: `continuum restore` puts them back; no backup, no apply); refused whole on a conflict
//    with edits the user made meanwhile; the merged worktrees are removed after that, the others never.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import { git, gitOk } from "../core/git.ts";
import type { MergeReport } from "../core/merge-report.ts";
import { conflictFiles, diffFiles, type Worktree, type Worktrees } from "../core/worktrees.ts";
import { pruneStamped } from "../core/retention.ts";
import { checkProjectPath, protectedReason } from "../core/protected-paths.ts";
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
  /** Where the changes of a merge that stopped are saved (`conflicts/<time>/`, one file per change). */
  backupRoot: string;
  now?: () => Date;
}

/**
 * Merges the worktrees' changes into the user's working tree, in order; see the file's header for the guarantees.
 * Never throws: a failure of git or of the disk is reported as a stop (every step that can fail comes before the one
 * `git apply` on the user's tree, so nothing was applied then), with every worktree kept.
 */
export async function mergeWorktrees(
  worktrees: Worktrees,
  items: readonly MergeItem[],
  options: MergeOptions,
): Promise<MergeReport> {
  try {
    return await mergeSteps(worktrees, items, options);
  } catch (error) {
    const kept = items.flatMap((item) => (item.worktree ? [{ label: item.label, dir: item.worktree.dir }] : []));
    return {
      ok: false,
      merged: [],
      unchanged: [],
      kept,
      conflict: {
        label: "",
        reason: `the merge failed before your working tree was touched: ${(error as Error).message}`,
        files: [],
      },
    };
  }
}

async function mergeSteps(
  worktrees: Worktrees,
  items: readonly MergeItem[],
  options: MergeOptions,
): Promise<MergeReport> {
  const report: MergeReport = { ok: false, merged: [], unchanged: [], kept: [] };
  const keepAll = (from: readonly MergeItem[]) =>
    from.flatMap((item) => (item.worktree ? [{ label: item.label, dir: item.worktree.dir }] : []));
  const removeWorktree = async (item: MergeItem) => {
    if (item.worktree) await worktrees.remove(item.worktree).catch(() => undefined);
  };
  if (!(await worktrees.isRepo())) {
    return {
      ...report,
      conflict: { label: "", reason: "the project is not a git repository: nothing can be merged", files: [] },
      kept: keepAll(items),
    };
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

  // A change to where OpenCode or git run code from (or through a link) is refused whole, before anything else.
  for (const change of changes) {
    const refused = await protectedChange(worktrees.projectDir, change.diff);
    if (refused)
      return {
        ...report,
        conflict: {
          label: change.item.label,
          reason: `it changes a protected path, so nothing was merged: ${refused.reason}`,
          files: refused.files,
        },
        kept: keepAll(items),
      };
  }

  const scratch = await worktrees.create("compose", "merge check");
  try {
    const top = (await gitOk(scratch.dir, ["rev-parse", "--show-toplevel"])).trim();
    for (const change of changes) {
      const applied = await git(top, ["apply", "--binary", "-"], { input: change.diff });
      if (applied.code === 0) continue;
      const files = conflictFiles(applied.stderr);
      const saved = saveChanges(options.backupRoot, changes, options.now?.());
      const savedTo = saved.find((s) => s.label === change.item.label)?.file;
      const merged = changes.slice(0, changes.indexOf(change)).map((c) => c.item.label);
      const reason = merged.length
        ? `it does not apply on top of your working tree and the changes before it (${merged.join(", ")})`
        : "it does not apply on top of your working tree";
      await removeUnchanged();
      return {
        ...report,
        conflict: { label: change.item.label, reason, files: files.length ? files : change.files, savedTo },
        saved,
        kept: keepAll(changes.map((c) => c.item)),
      };
    }
    const combined = await worktrees.diff(scratch);
    const applied = await worktrees.apply(combined, {
      label: `compose merge of ${changes.map((c) => c.item.label).join(", ")}`.slice(0, 120),
    });
    if (!applied.ok) {
      await removeUnchanged();
      const saved = saveChanges(options.backupRoot, changes, options.now?.());
      return {
        ...report,
        conflict: {
          label: changes.map((c) => c.item.label).join(", "),
          reason: applied.reason,
          files: applied.conflicts,
          savedTo: applied.savedTo,
        },
        saved,
        kept: keepAll(changes.map((c) => c.item)),
      };
    }
    if (applied.backup) report.backup = applied.backup;
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

/**
 * The first path of a diff the pack may not write (core/protected-paths.ts: .git, .opencode, opencode.json(c),
 * node_modules at any depth, a symlink on the way in the user's tree) or a symlink the diff would create. The paths
 * come from git's own parser (`git apply --numstat -z`, `--summary`), not from matching the diff's text.
 */
export async function protectedChange(
  projectDir: string,
  diff: string,
): Promise<{ reason: string; files: string[] } | undefined> {
  const numstat = await gitOk(projectDir, ["apply", "--numstat", "-z", "-"], { input: diff });
  const paths = new Set<string>();
  // Records: "added\tdeleted\tpath\0", or for a rename "added\tdeleted\t\0old\0new\0".
  const fields = numstat.split("\0");
  for (let i = 0; i < fields.length; i++) {
    const tab = fields[i]!.split("\t");
    if (tab.length < 3) continue;
    if (tab[2]) paths.add(tab[2]);
    else {
      paths.add(fields[++i] ?? "");
      paths.add(fields[++i] ?? "");
    }
  }
  for (const path of [...paths].filter(Boolean)) {
    const reason = protectedReason(path);
    if (reason) return { reason: `${path}: ${reason}`, files: [path] };
    try {
      checkProjectPath(projectDir, path, "read");
    } catch (error) {
      return { reason: (error as Error).message, files: [path] };
    }
  }
  const summary = await gitOk(projectDir, ["apply", "--summary", "-"], { input: diff });
  const link = /^\s*(?:create mode 120000|mode change \d+ => 120000) (.+)$/m.exec(summary);
  if (link) return { reason: `${link[1]}: the change would create a symlink`, files: [link[1]!] };
  return undefined;
}

/** Every change of a merge that stopped, each in its own file (one folder per merge), so none lives only in a journal. */
function saveChanges(
  root: string,
  changes: readonly { item: MergeItem; diff: string }[],
  now = new Date(),
): { label: string; file: string }[] {
  const saved: { label: string; file: string }[] = [];
  try {
    const conflicts = join(root, "conflicts");
    const dir = join(conflicts, fileStamp(now));
    mkdirSync(dir, { recursive: true });
    changes.forEach((change, i) => {
      const file = join(dir, `${String(i + 1).padStart(2, "0")}-${nameSafe(change.item.label) || "change"}.diff`);
      writeStoredFile(file, change.diff);
      saved.push({ label: change.item.label, file });
    });
    pruneStamped(conflicts, now.getTime());
  } catch {
    // What could not be written is still in the worktrees kept (named in the report).
  }
  return saved;
}

/** The report as the user reads it. */
export function formatMergeReport(report: MergeReport): string {
  const lines: string[] = [];
  if (report.merged.length)
    lines.push(
      `Merged into the working tree: ${report.merged.map((m) => `${m.label} (${m.files.join(", ")})`).join("; ")}.`,
    );
  if (report.unchanged.length) lines.push(`No changes: ${report.unchanged.join(", ")}.`);
  if (report.conflict) {
    const c = report.conflict;
    lines.push(
      `Merge stopped${c.label ? ` at ${c.label}` : ""}: ${c.reason}.${c.files.length ? ` Conflicting files: ${c.files.join(", ")}.` : ""} Nothing was applied to your working tree.`,
    );
    if (report.saved?.length)
      lines.push(`Every change is saved: ${report.saved.map((s) => `${s.label} → ${s.file}`).join("; ")}.`);
    else if (c.savedTo) lines.push(`The change is saved in ${c.savedTo}.`);
  }
  if (report.kept.length) lines.push(`Worktrees kept: ${report.kept.map((k) => `${k.label} → ${k.dir}`).join("; ")}.`);
  if (report.backup)
    lines.push(
      `Your index and working tree were backed up first: \`continuum restore ${report.backup}\` puts them back.`,
    );
  return lines.join("\n");
}

/** Where a project's conflicting changes are kept (under the pack's data dir). */
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
export async function mergeChanges(
  worktrees: Worktrees,
  changes: unknown,
  options: MergeOptions,
): Promise<MergeReport> {
  const parsed = changesSchema.safeParse(changes);
  if (!parsed.success) {
    const problem = parsed.error.issues
      .map((i) => `${i.path.join(".") || "changes"}: ${i.message}`)
      .slice(0, 3)
      .join("; ");
    return {
      ok: false,
      merged: [],
      unchanged: [],
      kept: [],
      conflict: {
        label: "",
        reason: `nothing merged: the changes must be a list of {label, diff} (${problem})`,
        files: [],
      },
    };
  }
  const labels = parsed.data.map((c) => c.label);
  const twice = labels.find((label, i) => labels.indexOf(label) !== i);
  if (twice)
    return {
      ok: false,
      merged: [],
      unchanged: [],
      kept: [],
      conflict: { label: twice, reason: `nothing merged: the label "${twice}" is given twice`, files: [] },
    };
  return mergeWorktrees(worktrees, parsed.data, options);
}
