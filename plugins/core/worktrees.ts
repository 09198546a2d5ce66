// Git worktrees for helper agents that change code (Max Mode's patch candidates, workflow agents with
// `isolation: "worktree"`, compose's parallel tasks). A worktree starts from a snapshot of the user's project as it
// is now (HEAD plus uncommitted and untracked, non-ignored changes), made without touching the user's index, working
// tree or refs. Worktrees live under the pack's data dir and are removed after use; a crash leaves them for the next
// start's sweep. Hooks of the user's repo never run for them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, realpathSync } from "node:fs";
import { storedText, writeStoredFile } from "./storage/stored-text.ts";
import { join } from "node:path";
import { git, gitOk } from "./git.ts";
import { processAlive } from "./process-alive.ts";
import { pruneStamped } from "./retention.ts";
import { fileStamp, nameSafe } from "./file-stamp.ts";
import { captureState, changedPaths, recordAfter, takeBackup } from "./backups.ts";

export interface Worktree {
  id: string;
  dir: string;
  /** The snapshot commit the worktree started from; its diff is taken against it. */
  base: string;
  owner: string;
  label: string;
}

export type ApplyResult =
  /** `backup`: the name `continuum restore` takes (refs/continuum/backups/<name>). */
  | { ok: true; files: string[]; backup: string | undefined }
  | { ok: false; reason: string; conflicts: string[]; savedTo: string };

export interface Worktrees {
  readonly projectDir: string;
  readonly root: string;
  /** True when the project is inside a git repository with at least one commit or none (an empty repo works too). */
  isRepo(): Promise<boolean>;
  create(owner: string, label: string): Promise<Worktree>;
  /** Unified diff (binary-safe, new and deleted files included) of the worktree against its snapshot. */
  diff(worktree: Worktree): Promise<string>;
  /** Paths the worktree changed, relative to the project. */
  changedFiles(worktree: Worktree): Promise<string[]>;
  remove(worktree: Worktree): Promise<void>;
  /** Removes worktrees whose creating process is gone (a crash); returns how many. */
  sweep(): Promise<number>;
  /** The state of the user's working tree (HEAD + uncommitted + untracked), as a tree id. */
  fingerprint(): Promise<string>;
  /**
   * Applies a diff to the user's working tree (never the index), after a backup of the index and the tree (its name
   * is returned). Refused whole, nothing touched and the diff saved, when the user changed a file the diff touches
   * since `expectFingerprint`, when any hunk does not apply, or when no backup can be taken (the files are named).
   */
  apply(diff: string, options?: { expectFingerprint?: string; label?: string }): Promise<ApplyResult>;
}

export interface WorktreeOptions {
  projectDir: string;
  /** The pack's folder for this project's worktrees (e.g. `<data>/projects/<id>/worktrees`). */
  root: string;
  /** Ignored folders of the project linked into each worktree so checks can run (default: node_modules). */
  linkIgnored?: string[];
  pid?: number;
  isAlive?(pid: number): boolean;
}

interface Owner {
  pid: number;
  createdAt: string;
  owner: string;
  label: string;
  base: string;
  /** The real project a leftover belongs to, so a sweep can prune its registration. */
  projectDir: string;
}

const IDENTITY = {
  GIT_AUTHOR_NAME: "opencode-continuum",
  GIT_AUTHOR_EMAIL: "continuum@localhost",
  GIT_COMMITTER_NAME: "opencode-continuum",
  GIT_COMMITTER_EMAIL: "continuum@localhost",
};

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
    const match = /^error: (?:patch failed: (.+?):\d+|(.+?): (?:does not exist in index|already exists in working directory|No such file or directory|does not match index|patch does not apply|does not exist))/.exec(line);
    const file = match?.[1] ?? match?.[2];
    if (file) files.add(file);
  }
  return [...files];
}

export function createWorktrees(options: WorktreeOptions): Worktrees {
  const { projectDir, root } = options;
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processAlive;
  const linkIgnored = options.linkIgnored ?? ["node_modules"];
  let counter = 0;
  // git takes a lock on a worktree's index: two operations on one worktree at once would fail, so they queue.
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const next = (queues.get(key) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => undefined);
    queues.set(key, settled);
    void settled.then(() => queues.get(key) === settled && queues.delete(key));
    return next;
  };

  const ownerFile = (dir: string) => `${dir}.owner.json`;

  // Each worktree's git dir, read while it is fresh. The pack's own git runs on a worktree with it named, never
  // found by search: a helper can write a `.git` of its own into its worktree (a sub-folder one sits below the real
  // link), and git would take that repository's config (core.fsmonitor runs a command) with the pack's rights.
  const gitDirs = new Map<string, Record<string, string>>();
  const gitEnv = (worktree: Worktree) => ({ env: gitDirs.get(worktree.id) ?? {} });

  // git reads every worktree's entry while it adds or prunes one, so two at once can fail ("failed to read
  // .git/worktrees/<other>/commondir", about 1 in 100 for three parallel adds): this process queues them, and an
  // add that still fails (another process raced it) is tried again.
  const registry = <T>(work: () => Promise<T>) => serial("worktree-registry", work);

  async function addWorktree(top: string, dir: string, base: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await registry(() => gitOk(top, ["worktree", "add", "--detach", dir, base]));
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        rmSync(dir, { recursive: true, force: true });
        await registry(() => git(top, ["worktree", "prune"]));
      }
    }
  }

  async function unregister(repo: string, dir: string): Promise<void> {
    await registry(async () => {
      const removed = await git(repo, ["worktree", "remove", "--force", dir]);
      if (removed.code !== 0) rmSync(dir, { recursive: true, force: true });
      await git(repo, ["worktree", "prune"]);
    });
  }

  /** A tree id for the project as it is now (HEAD + uncommitted + untracked, non-ignored). */
  function snapshotTree(): Promise<{ tree: string; head: string | undefined }> {
    return captureState(projectDir, true);
  }

  async function snapshotCommit(message: string): Promise<string> {
    const { tree, head } = await snapshotTree();
    const args = ["commit-tree", tree, ...(head ? ["-p", head] : []), "-m", message];
    return (await gitOk(projectDir, args, { env: IDENTITY })).trim();
  }

  async function topLevel(): Promise<string> {
    return (await gitOk(projectDir, ["rev-parse", "--show-toplevel"])).trim();
  }

  async function stage(worktree: Worktree): Promise<void> {
    const excludes = linkIgnored.map((name) => `:(exclude)${name}`);
    await gitOk(worktree.dir, ["add", "-A", "--", ".", ...excludes], gitEnv(worktree));
  }

  async function removeNow(worktree: Worktree): Promise<void> {
    const dir = worktreeRoot(root, worktree.dir);
    await unregister(projectDir, dir);
    rmSync(ownerFile(dir), { force: true });
  }

  function saveRejected(diff: string, label: string | undefined): string {
    const dir = join(root, "rejected");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${fileStamp()}-${nameSafe(label ?? "diff")}.diff`);
    writeStoredFile(file, diff);
    pruneStamped(dir);
    return file;
  }

  return {
    projectDir,
    root,

    async isRepo() {
      const result = await git(projectDir, ["rev-parse", "--is-inside-work-tree"]);
      return result.code === 0 && result.stdout.trim() === "true";
    },

    async create(owner, label) {
      const top = await topLevel();
      const base = await snapshotCommit(`continuum snapshot for ${owner}: ${label}`.slice(0, 200));
      const id = `wt-${pid}-${Date.now().toString(36)}-${(++counter).toString(36)}`;
      const dir = join(root, id);
      mkdirSync(root, { recursive: true });
      const record: Owner = { pid, createdAt: new Date().toISOString(), owner, label, base, projectDir: top };
      // The owner file comes first: a crash between it and `worktree add` still leaves something to sweep.
      writeFileSync(ownerFile(dir), storedText(JSON.stringify(record)));
      try {
        await addWorktree(top, dir, base);
        const gitDir = (await gitOk(dir, ["rev-parse", "--absolute-git-dir"])).trim();
        gitDirs.set(id, { GIT_DIR: gitDir, GIT_WORK_TREE: dir });
      } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        rmSync(ownerFile(dir), { force: true });
        throw error;
      }
      for (const name of linkIgnored) {
        const source = join(top, name);
        if (existsSync(source) && !existsSync(join(dir, name))) symlinkSync(source, join(dir, name));
      }
      // The worktree is where the relative path the user is in would be.
      const sub = realpathSync(projectDir).slice(realpathSync(top).length).replace(/^\/+/, "");
      return { id, dir: sub ? join(dir, sub) : dir, base, owner, label };
    },

    diff(worktree) {
      return serial(worktree.id, async () => {
        await stage(worktree);
        return gitOk(worktree.dir, ["diff", "--cached", "--binary", "--no-renames", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/", worktree.base, "--"], gitEnv(worktree));
      });
    },

    changedFiles(worktree) {
      return serial(worktree.id, async () => {
        await stage(worktree);
        const out = await gitOk(worktree.dir, ["diff", "--cached", "--name-only", "--no-renames", worktree.base, "--"], gitEnv(worktree));
        return out.split("\n").filter(Boolean);
      });
    },

    remove(worktree) {
      return serial(worktree.id, () => removeNow(worktree)).finally(() => gitDirs.delete(worktree.id));
    },

    async sweep() {
      if (!existsSync(root)) return 0;
      let swept = 0;
      for (const name of readdirSync(root)) {
        if (!name.endsWith(".owner.json")) continue;
        const dir = join(root, name.slice(0, -".owner.json".length));
        let record: Owner | undefined;
        try {
          record = JSON.parse(readFileSync(join(root, name), "utf8")) as Owner;
        } catch {
          record = undefined;
        }
        if (record && typeof record.pid === "number" && isAlive(record.pid)) continue;
        await unregister(record?.projectDir ?? projectDir, dir);
        rmSync(join(root, name), { force: true });
        swept++;
      }
      // A live process's private index copy is in use by its snapshot right now: only a dead process's goes.
      for (const name of readdirSync(root)) {
        const owner = /^\.index-(\d+)-/.exec(name);
        if (owner && !isAlive(Number(owner[1]))) rmSync(join(root, name), { force: true });
      }
      return swept;
    },

    async fingerprint() {
      return (await snapshotTree()).tree;
    },

    async apply(diff, applyOptions = {}) {
      if (!diff.trim()) return { ok: true, files: [], backup: undefined };
      const top = await topLevel();
      const files = diffFiles(diff);
      if (applyOptions.expectFingerprint) {
        const now = await snapshotTree();
        // Only the user's edits to the files the change touches stand in its way (a new editor swap file does not).
        const yours = await changedPaths(top, applyOptions.expectFingerprint, now.tree).catch(() => undefined);
        const clash = yours ? yours.filter((file) => files.includes(file)) : files;
        if (clash.length) {
          return { ok: false, reason: `you changed ${clash.join(", ")} since the work started`, conflicts: clash, savedTo: saveRejected(diff, applyOptions.label) };
        }
      }
      const check = await git(top, ["apply", "--check", "--binary", "-"], { input: diff });
      if (check.code !== 0) {
        const conflicts = conflictFiles(check.stderr);
        return { ok: false, reason: `the change does not apply: ${check.stderr.trim().split("\n")[0] ?? "git apply failed"}`, conflicts, savedTo: saveRejected(diff, applyOptions.label) };
      }
      // The user's index and tree are kept first (reachable, `continuum restore` puts them back); no backup, no apply.
      let backup;
      try {
        backup = await takeBackup(top, `before applying ${applyOptions.label ?? "a change"}`);
      } catch (error) {
        return { ok: false, reason: `your index and working tree could not be backed up, so nothing was applied: ${(error as Error).message}`, conflicts: [], savedTo: saveRejected(diff, applyOptions.label) };
      }
      const applied = await git(top, ["apply", "--binary", "-"], { input: diff });
      if (applied.code !== 0) {
        return { ok: false, reason: `git apply failed after its check passed: ${applied.stderr.trim().split("\n")[0]}`, conflicts: conflictFiles(applied.stderr), savedTo: saveRejected(diff, applyOptions.label) };
      }
      await recordAfter(top, backup).catch(() => undefined);
      return { ok: true, files, backup: backup.name };
    },
  };
}

/** The worktree's own folder (a worktree made from a sub-folder of the repo reports that sub-folder as its dir). */
function worktreeRoot(root: string, dir: string): string {
  const rest = dir.slice(root.length).replace(/^\/+/, "");
  return join(root, rest.split("/")[0]!);
}
