// `continuum uninstall --project DIR --purge-data` on a real repository that the pack used: it names every piece of
// recovery material (a refused diff, a stopped merge's diffs, a worktree a crash left, the restore backups) before
// deleting it, and leaves no `.git/worktrees/wt-*` registration and no `refs/continuum/*` behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capture, withIsolatedDirs } from "./helpers/cli.ts";
import { createWorktrees } from "../../plugins/core/worktrees.ts";
import { takeBackup } from "../../plugins/core/backups.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";

test("purge lists the recovery material before deleting it, prunes the worktree registrations and deletes the backup refs", async () => {
  await withIsolatedDirs(async (root) => {
    const project = join(root, "proj");
    mkdirSync(project);
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: project,
        encoding: "utf8",
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@t",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@t",
        },
      });
    git("init", "-q");
    writeFileSync(join(project, "a.txt"), "a\n");
    git("add", "-A");
    git("commit", "-qm", "init");
    const projectRoot = packPaths(join(root, "data", "opencode-continuum")).project(
      resolveProjectIdentity(project).id,
    ).root;
    // A worktree whose OpenCode crashed (never removed), a refused diff, a stopped merge's diffs and a backup.
    const crashed = createWorktrees({
      projectDir: project,
      root: join(projectRoot, "worktrees"),
      pid: 999_999_1,
      isAlive: () => false,
    });
    const left = await crashed.create("max", "candidate 1");
    const rejected = join(projectRoot, "worktrees", "rejected", "2026-12-07T10-00-00-000Z-max_candidate_1.diff");
    const conflict = join(projectRoot, "merges", "conflicts", "2026-12-07T10-00-00-000Z", "01-T1.diff");
    for (const file of [rejected, conflict]) {
      mkdirSync(join(file, ".."), { recursive: true });
      writeFileSync(file, "diff --git a/a.txt b/a.txt\n");
    }
    const backup = await takeBackup(project, "before applying max candidate 1");
    assert.equal(git("worktree", "list").trim().split("\n").length, 2);

    const purged = await capture(["uninstall", "--project", project, "--purge-data"]);
    assert.equal(purged.code, 0, purged.err + purged.out);
    const out = purged.out;
    for (const named of [rejected, conflict, left.dir, backup.name])
      assert.ok(out.includes(named), `${named} is named:\n${out}`);
    const listedAt = out.indexOf(rejected);
    assert.ok(listedAt < out.indexOf(`deleted ${projectRoot}`), "listed before the folder is deleted");
    assert.match(out, /removed 1 worktree registration\(s\) in /);
    assert.equal(existsSync(projectRoot), false);
    assert.equal(git("worktree", "list").trim().split("\n").length, 1, "no .git/worktrees/wt-* left");
    assert.equal(git("for-each-ref", "refs/continuum/"), "", "the backup refs are gone");
  });
});
