// A project id that is stable and distinct for every directory. Git repositories use OpenCode's own id
// (the root commit); any other directory gets a hash of its real path, never one shared "global" bucket.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";

export interface ProjectIdentity {
  id: string;
  kind: "git" | "directory";
  /** The directory the id was derived from (worktree root for git, real path otherwise). */
  root: string;
}

/**
 * @param hostProjectId OpenCode's `project.id` when running inside it: the literal "global" means
 * "not a git repository" and must not be used as a bucket.
 */
export function resolveProjectIdentity(directory: string, hostProjectId?: string, worktree?: string): ProjectIdentity {
  const root = realPath(worktree && worktree !== "/" ? worktree : directory);
  if (hostProjectId && hostProjectId !== "global") return { id: hostProjectId, kind: "git", root };
  const gitRoot = gitRootCommit(directory);
  if (gitRoot) return { id: gitRoot.commit, kind: "git", root: gitRoot.toplevel };
  const real = realPath(directory);
  return { id: directoryProjectId(real), kind: "directory", root: real };
}

export function directoryProjectId(realDirectory: string): string {
  return "dir-" + createHash("sha256").update(realDirectory).digest("hex").slice(0, 24);
}

function gitRootCommit(directory: string): { commit: string; toplevel: string } | undefined {
  try {
    const run = (args: string[]) =>
      execFileSync("git", args, {
        cwd: directory,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 5000,
      }).trim();
    const toplevel = run(["rev-parse", "--show-toplevel"]);
    const commit = run(["rev-list", "--max-parents=0", "HEAD"])
      .split(/\r?\n/)
      .find((line) => line.trim())
      ?.trim();
    return commit ? { commit, toplevel } : undefined;
  } catch {
    return undefined;
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
