// Serialised git access for worktrees. git takes a lock on a worktree's index, so two operations on one worktree
// at once would fail: they queue by key. git also reads every worktree's entry while it adds or prunes one, so two
// at once can fail ("failed to read .git/worktrees/<other>/commondir", about 1 in 100 for three parallel adds):
// this process queues them, and an add that still fails (another process raced it) is tried again.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { git, gitOk } from "./git.ts";

export interface WorktreeRegistry {
  /** Runs `work` after every earlier work of the same key has settled. */
  serial<T>(key: string, work: () => Promise<T>): Promise<T>;
  add(top: string, dir: string, base: string): Promise<void>;
  unregister(repo: string, dir: string): Promise<void>;
}

export function createWorktreeRegistry(): WorktreeRegistry {
  // Keyed by worktree id (and one registry key): each entry goes as soon as its queue is empty.
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const next = (queues.get(key) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => undefined);
    queues.set(key, settled);
    void settled.then(() => queues.get(key) === settled && queues.delete(key));
    return next;
  };
  const registry = <T>(work: () => Promise<T>) => serial("worktree-registry", work);
  return {
    serial,
    async add(top, dir, base) {
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
    },
    async unregister(repo, dir) {
      await registry(async () => {
        const removed = await git(repo, ["worktree", "remove", "--force", dir]);
        if (removed.code !== 0) rmSync(dir, { recursive: true, force: true });
        await git(repo, ["worktree", "prune"]);
      });
    },
  };
}

/** Removes worktrees whose creating process is gone (a crash), and such a process's private index copies. */
export async function sweepWorktrees(
  where: { root: string; projectDir: string },
  isAlive: (pid: number) => boolean,
  unregister: WorktreeRegistry["unregister"],
): Promise<number> {
  const { root } = where;
  if (!existsSync(root)) return 0;
  let swept = 0;
  for (const name of readdirSync(root)) {
    if (!name.endsWith(".owner.json")) continue;
    const dir = join(root, name.slice(0, -".owner.json".length));
    let record: { pid?: unknown; projectDir?: string } | undefined;
    try {
      record = JSON.parse(readFileSync(join(root, name), "utf8"));
    } catch {
      record = undefined;
    }
    if (record && typeof record.pid === "number" && isAlive(record.pid)) continue;
    await unregister(record?.projectDir ?? where.projectDir, dir);
    rmSync(join(root, name), { force: true });
    swept++;
  }
  // A live process's private index copy is in use by its snapshot right now: only a dead process's goes.
  for (const name of readdirSync(root)) {
    const owner = /^\.index-(\d+)-/.exec(name);
    if (owner && !isAlive(Number(owner[1]))) rmSync(join(root, name), { force: true });
  }
  return swept;
}
