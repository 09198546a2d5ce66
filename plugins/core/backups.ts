// Backups of the user's index and working tree, taken before the pack applies or merges anything into them, kept
// reachable under the pack's own ref namespace (refs/continuum/backups/<stamp>: no branch, no tag, safe from
// `git gc`). A backup is two commits: the index as a tree (parent: HEAD) and the working tree (staged, unstaged and
// untracked non-ignored files) on top of it; once the change is applied a third commit records the state it left,
// so a restore can tell whether the user changed anything since. Made through private index copies: the user's
// index, tree and HEAD are never touched by a backup.
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { git, gitOk } from "./git.ts";
import { fileStamp } from "./file-stamp.ts";
import { expiredStamps, RETENTION } from "./retention.ts";

export const BACKUP_REFS = "refs/continuum/backups/";

const IDENTITY = {
  GIT_AUTHOR_NAME: "opencode-continuum",
  GIT_AUTHOR_EMAIL: "continuum@localhost",
  GIT_COMMITTER_NAME: "opencode-continuum",
  GIT_COMMITTER_EMAIL: "continuum@localhost",
};

/** The user's state as two tree ids (the index, and the working tree with untracked non-ignored files) and HEAD. */
export interface StateTrees {
  index: string;
  tree: string;
  head: string | undefined;
}

export interface Backup {
  /** The stamp, as `continuum restore` takes it. */
  name: string;
  ref: string;
  /** The working-tree commit (its parent is the index commit). */
  commit: string;
  index: string;
  tree: string;
  head: string | undefined;
  label: string;
  at: string;
  /** The state the apply left, when it went through. */
  after?: { index: string; tree: string };
}

export async function topLevel(projectDir: string): Promise<string> {
  return (await gitOk(projectDir, ["rev-parse", "--show-toplevel"])).trim();
}

/**
 * The user's index and working tree as trees, written through a private copy of the index. The index tree fails
 * while a merge conflict is unresolved (git cannot write a tree from an unmerged index): that is an error here.
 */
export async function captureState(projectDir: string, onlyTree = false): Promise<StateTrees> {
  const top = await topLevel(projectDir);
  const scratch = mkdtempSync(join(tmpdir(), "continuum-index-"));
  const index = join(scratch, "index");
  try {
    const realIndex = (await gitOk(top, ["rev-parse", "--path-format=absolute", "--git-path", "index"])).trim();
    // Copying the user's index keeps its stat cache, so unchanged files are not hashed again.
    if (existsSync(realIndex)) copyFileSync(realIndex, index);
    const env = { GIT_INDEX_FILE: index };
    const head = await git(top, ["rev-parse", "--verify", "-q", "HEAD"]);
    const indexTree = onlyTree ? "" : (await gitOk(top, ["write-tree"], { env })).trim();
    await gitOk(top, ["add", "-A", "--", "."], { env });
    const tree = (await gitOk(top, ["write-tree"], { env })).trim();
    return { index: indexTree, tree, head: head.code === 0 ? head.stdout.trim() : undefined };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function commitTree(
  top: string,
  tree: string,
  parents: (string | undefined)[],
  message: string,
): Promise<string> {
  const args = ["commit-tree", tree, ...parents.flatMap((p) => (p ? ["-p", p] : [])), "-m", message];
  return (await gitOk(top, args, { env: IDENTITY })).trim();
}

/** Takes a backup of the user's index and working tree now; returns it (kept reachable under BACKUP_REFS). */
export async function takeBackup(projectDir: string, label: string, now = new Date()): Promise<Backup> {
  const top = await topLevel(projectDir);
  const state = await captureState(top);
  const at = now.toISOString();
  const indexCommit = await commitTree(top, state.index, [state.head], "continuum backup: index");
  const message = [
    `continuum backup: ${label.replace(/\n/g, " ").slice(0, 200)}`,
    "",
    `at: ${at}`,
    `head: ${state.head ?? "none"}`,
  ].join("\n");
  const commit = await commitTree(top, state.tree, [indexCommit], message);
  const base = fileStamp(now);
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    // The empty old value makes git refuse a name that exists: two backups in one millisecond get their own.
    const created = await git(top, ["update-ref", "-m", "continuum backup", `${BACKUP_REFS}${name}`, commit, ""]);
    if (created.code === 0) {
      await pruneBackups(top, now.getTime()).catch(() => undefined);
      return {
        name,
        ref: `${BACKUP_REFS}${name}`,
        commit,
        index: state.index,
        tree: state.tree,
        head: state.head,
        label,
        at,
      };
    }
    if (n >= 20) throw new Error(`the backup ref could not be written: ${created.stderr.trim()}`);
  }
}

/** Records the state an apply left on the backup taken before it (a commit on top; the ref moves to it). */
export async function recordAfter(projectDir: string, backup: Backup): Promise<void> {
  const top = await topLevel(projectDir);
  const state = await captureState(top);
  const after = await commitTree(
    top,
    backup.tree,
    [backup.commit],
    ["continuum backup: after", "", `after-index: ${state.index}`, `after-tree: ${state.tree}`].join("\n"),
  );
  await gitOk(top, ["update-ref", "-m", "continuum backup applied", backup.ref, after, backup.commit]);
}

interface ParsedCommit {
  tree: string;
  parents: string[];
  message: string;
}

async function readCommit(top: string, id: string): Promise<ParsedCommit> {
  const raw = await gitOk(top, ["cat-file", "commit", id]);
  const split = raw.indexOf("\n\n");
  const header = raw.slice(0, split < 0 ? raw.length : split);
  const message = split < 0 ? "" : raw.slice(split + 2);
  const tree = /^tree (\S+)/m.exec(header)?.[1] ?? "";
  const parents = [...header.matchAll(/^parent (\S+)/gm)].map((m) => m[1]!);
  return { tree, parents, message };
}

const field = (message: string, key: string) => new RegExp(`^${key}: (.*)$`, "m").exec(message)?.[1]?.trim();

async function readBackup(top: string, ref: string, id: string): Promise<Backup | undefined> {
  let commit = await readCommit(top, id);
  let after: Backup["after"];
  let workCommit = id;
  if (commit.message.startsWith("continuum backup: after")) {
    after = { index: field(commit.message, "after-index") ?? "", tree: field(commit.message, "after-tree") ?? "" };
    workCommit = commit.parents[0] ?? "";
    commit = await readCommit(top, workCommit);
  }
  const indexCommit = commit.parents[0];
  if (!indexCommit || !commit.message.startsWith("continuum backup: ")) return undefined;
  const index = (await readCommit(top, indexCommit)).tree;
  const head = field(commit.message, "head");
  return {
    name: ref.slice(BACKUP_REFS.length),
    ref,
    commit: workCommit,
    index,
    tree: commit.tree,
    head: head && head !== "none" ? head : undefined,
    label: commit.message.split("\n")[0]!.slice("continuum backup: ".length),
    at: field(commit.message, "at") ?? "",
    ...(after ? { after } : {}),
  };
}

/** Every backup of the repository, newest first. */
export async function listBackups(projectDir: string): Promise<Backup[]> {
  const top = await topLevel(projectDir);
  const out = await gitOk(top, ["for-each-ref", "--format=%(refname) %(objectname)", BACKUP_REFS]);
  const backups: Backup[] = [];
  for (const line of out.split("\n").filter(Boolean)) {
    const [ref, id] = line.split(" ");
    const backup = await readBackup(top, ref!, id!).catch(() => undefined);
    if (backup) backups.push(backup);
  }
  return backups.sort((a, b) => b.name.localeCompare(a.name));
}

/** Deletes backup refs that are both older than the retention's days and not among its newest; returns their names. */
export async function pruneBackups(
  projectDir: string,
  now = Date.now(),
  policy: { keepNewest: number; keepDays: number } = RETENTION,
): Promise<string[]> {
  const top = await topLevel(projectDir);
  const out = await gitOk(top, ["for-each-ref", "--format=%(refname)", BACKUP_REFS]);
  const refs = out.split("\n").filter(Boolean);
  const deleted: string[] = [];
  for (const ref of expiredStamps(refs, now, policy, (r) => r.slice(BACKUP_REFS.length))) {
    if ((await git(top, ["update-ref", "-d", ref])).code === 0) deleted.push(ref.slice(BACKUP_REFS.length));
  }
  return deleted;
}

/** Paths that differ between two trees (no rename detection: a rename is its two paths). */
export async function changedPaths(projectDir: string, from: string, to: string): Promise<string[]> {
  if (from === to) return [];
  const out = await gitOk(projectDir, ["diff-tree", "-r", "-z", "--name-only", "--no-renames", from, to]);
  return out.split("\0").filter(Boolean);
}

export type RestoreResult =
  | { ok: true; backup: Backup; written: string[]; deleted: string[]; safety?: Backup; headMoved: boolean }
  | { ok: false; reason: string; changed: string[] };

/**
 * Puts back the index and the working tree of a backup exactly (files the backup did not have, ignored ones aside,
 * are deleted). Refused, naming the files, when the state changed since the apply recorded after the backup (or no
 * apply was recorded) unless `force`; with `force` the state now is backed up first.
 */
export async function restoreBackup(
  projectDir: string,
  name: string,
  options: { force?: boolean; now?: Date } = {},
): Promise<RestoreResult> {
  const top = await topLevel(projectDir);
  const backup = (await listBackups(top)).find((b) => b.name === name);
  if (!backup) return { ok: false, reason: `no backup named ${name}`, changed: [] };
  const now = await captureState(top);
  const unchangedSinceBackup = now.index === backup.index && now.tree === backup.tree;
  if (!options.force && !unchangedSinceBackup) {
    if (!backup.after)
      return {
        ok: false,
        reason:
          "no apply was recorded after this backup, so changes since cannot be told apart from yours (--force restores anyway, after backing up the state now)",
        changed: [],
      };
    const changed = [
      ...new Set([
        ...(await changedPaths(top, backup.after.tree, now.tree)),
        ...(await changedPaths(top, backup.after.index, now.index)),
      ]),
    ].sort();
    if (changed.length)
      return {
        ok: false,
        reason: "the tree changed since the apply (--force restores anyway, after backing up the state now)",
        changed,
      };
  }
  const safety =
    options.force && !unchangedSinceBackup ? await takeBackup(top, `before restoring ${name}`, options.now) : undefined;
  const { written, deleted } = await putBackTree(top, now.tree, backup.tree);
  await gitOk(top, ["read-tree", backup.index]);
  // read-tree drops the stat cache: refreshing it keeps `git status` from hashing (or listing) every file.
  await git(top, ["update-index", "-q", "--refresh"]);
  return { ok: true, backup, written, deleted, ...(safety ? { safety } : {}), headMoved: backup.head !== now.head };
}

/** Makes the working tree's non-ignored files those of `target`: deletions first, then the files that differ. */
async function putBackTree(
  top: string,
  current: string,
  target: string,
): Promise<{ written: string[]; deleted: string[] }> {
  const out = await gitOk(top, ["diff-tree", "-r", "-z", "--name-status", "--no-renames", current, target]);
  const parts = out.split("\0").filter(Boolean);
  const written: string[] = [];
  const deleted: string[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) (parts[i] === "D" ? deleted : written).push(parts[i + 1]!);
  for (const file of deleted) removeFile(top, file);
  if (written.length) {
    const scratch = mkdtempSync(join(tmpdir(), "continuum-restore-"));
    try {
      const env = { GIT_INDEX_FILE: join(scratch, "index") };
      await gitOk(top, ["read-tree", target], { env });
      await gitOk(top, ["checkout-index", "-f", "-z", "--stdin"], {
        env,
        input: written.map((f) => `${f}\0`).join(""),
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return { written, deleted };
}

function removeFile(top: string, file: string): void {
  const path = join(top, file);
  try {
    if (lstatSync(path).isDirectory()) return;
    unlinkSync(path);
  } catch {
    return;
  }
  // Folders the removal emptied go too, as git would leave none.
  for (let dir = dirname(path); dir.length > top.length; dir = dirname(dir)) {
    try {
      if (readdirSync(dir).length) return;
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}
