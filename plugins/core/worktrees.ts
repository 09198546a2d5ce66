// Git worktrees for helper agents that change code (Max Mode's patch candidates, workflow agents with
// `isolation: "worktree"`, compose's parallel tasks). A worktree starts from a snapshot of the user's project as it
// is now (HEAD plus uncommitted and untracked, non-ignored changes), made without touching the user's index, working
// tree or refs. Worktrees live under the pack's data dir and are removed after use; a crash leaves them for the next
// start's sweep. Hooks of the user's repo never run for them.
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, realpathSync } from "node:fs";
import { storedText } from "./storage/stored-text.ts";
import { join } from "node:path";
import { captureState } from "./backups.ts";
import { git, gitOk } from "./git.ts";
import { processAlive } from "./process-alive.ts";
import { applyDiff } from "./worktree-apply.ts";
import { createWorktreeRegistry, sweepWorktrees } from "./worktree-registry.ts";

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

export { conflictFiles, diffFiles } from "./worktree-apply.ts";

export function createWorktrees(options: WorktreeOptions): Worktrees {
  const { projectDir, root } = options;
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processAlive;
  const linkIgnored = options.linkIgnored ?? ["node_modules"];
  let counter = 0;
  const { serial, add: addWorktree, unregister } = createWorktreeRegistry();

  // Each worktree's git dir, read while it is fresh. The pack's own git runs on a worktree with it named, never
  // found by search: a helper can write a `.git` of its own into its worktree (a sub-folder one sits below the real
  // link), and git would take that repository's config (core.fsmonitor runs a command) with the pack's rights.
  // Keyed by worktree id, dropped when the worktree is removed.
  const gitDirs = new Map<string, Record<string, string>>();
  const gitEnv = (worktree: Worktree) => ({ env: gitDirs.get(worktree.id) ?? {} });

  async function stage(worktree: Worktree): Promise<void> {
    const excludes = linkIgnored.map((name) => `:(exclude)${name}`);
    await gitOk(worktree.dir, ["add", "-A", "--", ".", ...excludes], gitEnv(worktree));
  }

  async function removeNow(worktree: Worktree): Promise<void> {
    const dir = worktreeRoot(root, worktree.dir);
    await unregister(projectDir, dir);
    rmSync(ownerFile(dir), { force: true });
  }

  return {
    projectDir,
    root,

    async isRepo() {
      const result = await git(projectDir, ["rev-parse", "--is-inside-work-tree"]);
      return result.code === 0 && result.stdout.trim() === "true";
    },

    async create(owner, label) {
      const top = await topLevel(projectDir);
      const base = await snapshotCommit(projectDir, `continuum snapshot for ${owner}: ${label}`.slice(0, 200));
      const id = `wt-${pid}-${Date.now().toString(36)}-${(++counter).toString(36)}`;
      const dir = join(root, id);
      mkdirSync(root, { recursive: true });
      const record: Owner = { pid, createdAt: new Date().toISOString(), owner, label, base, projectDir: top };
      const gitDir = await addOwnedWorktree(dir, record, addWorktree);
      gitDirs.set(id, { GIT_DIR: gitDir, GIT_WORK_TREE: dir });
      linkIgnoredFolders(top, dir, linkIgnored);
      // The worktree is where the relative path the user is in would be.
      const sub = realpathSync(projectDir).slice(realpathSync(top).length).replace(/^\/+/, "");
      return { id, dir: sub ? join(dir, sub) : dir, base, owner, label };
    },

    diff(worktree) {
      return serial(worktree.id, async () => {
        await stage(worktree);
        return gitOk(
          worktree.dir,
          [
            "diff",
            "--cached",
            "--binary",
            "--no-renames",
            "--no-ext-diff",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            worktree.base,
            "--",
          ],
          gitEnv(worktree),
        );
      });
    },

    changedFiles(worktree) {
      return serial(worktree.id, async () => {
        await stage(worktree);
        const out = await gitOk(
          worktree.dir,
          ["diff", "--cached", "--name-only", "--no-renames", worktree.base, "--"],
          gitEnv(worktree),
        );
        return out.split("\n").filter(Boolean);
      });
    },

    remove(worktree) {
      return serial(worktree.id, () => removeNow(worktree)).finally(() => gitDirs.delete(worktree.id));
    },

    sweep: () => sweepWorktrees({ root, projectDir }, isAlive, unregister),

    async fingerprint() {
      return (await snapshotTree(projectDir)).tree;
    },

    async apply(diff, applyOptions = {}) {
      if (!diff.trim()) return { ok: true, files: [], backup: undefined };
      return applyDiff({ projectDir, root, top: await topLevel(projectDir) }, diff, applyOptions);
    },
  };
}

const ownerFile = (dir: string) => `${dir}.owner.json`;

/** A tree id for the project as it is now (HEAD + uncommitted + untracked, non-ignored). */
function snapshotTree(projectDir: string): Promise<{ tree: string; head: string | undefined }> {
  return captureState(projectDir, true);
}

/** A commit of that tree on top of HEAD, made without touching the user's index or refs. */
async function snapshotCommit(projectDir: string, message: string): Promise<string> {
  const { tree, head } = await snapshotTree(projectDir);
  const args = ["commit-tree", tree, ...(head ? ["-p", head] : []), "-m", message];
  return (await gitOk(projectDir, args, { env: IDENTITY })).trim();
}

async function topLevel(projectDir: string): Promise<string> {
  return (await gitOk(projectDir, ["rev-parse", "--show-toplevel"])).trim();
}

/** Adds the worktree at `dir` with its owner file; returns its git dir, read while it is fresh. */
async function addOwnedWorktree(
  dir: string,
  record: Owner,
  add: (top: string, dir: string, base: string) => Promise<void>,
): Promise<string> {
  // The owner file comes first: a crash between it and `worktree add` still leaves something to sweep.
  writeFileSync(ownerFile(dir), storedText(JSON.stringify(record)));
  try {
    await add(record.projectDir, dir, record.base);
    return (await gitOk(dir, ["rev-parse", "--absolute-git-dir"])).trim();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(ownerFile(dir), { force: true });
    throw error;
  }
}

/** Ignored folders of the project (node_modules) linked into the worktree so checks can run there. */
function linkIgnoredFolders(top: string, dir: string, names: readonly string[]): void {
  for (const name of names) {
    const source = join(top, name);
    if (existsSync(source) && !existsSync(join(dir, name))) symlinkSync(source, join(dir, name));
  }
}

/** The worktree's own folder (a worktree made from a sub-folder of the repo reports that sub-folder as its dir). */
function worktreeRoot(root: string, dir: string): string {
  const rest = dir.slice(root.length).replace(/^\/+/, "");
  return join(root, rest.split("/")[0]!);
}
