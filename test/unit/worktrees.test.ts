// The shared worktree helper on real temporary git repositories, and the confinement of a worktree agent's tools.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { confinePath, confineToolArgs } from "../../plugins/core/confinement.ts";
import { conflictFiles, createWorktrees, diffFiles } from "../../plugins/core/worktrees.ts";

function repo(): { dir: string; data: string; cleanup(): void } {
  const base = mkdtempSync(join(tmpdir(), "continuum-wt-"));
  const dir = join(base, "project");
  mkdirSync(dir);
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t",
      },
    });
  git("init", "-q");
  writeFileSync(join(dir, "a.txt"), "one\ntwo\nthree\n");
  writeFileSync(join(dir, ".gitignore"), "node_modules/\nbuild/\n");
  git("add", "-A");
  git("commit", "-qm", "init");
  return { dir, data: join(base, "data"), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

const gitStatus = (dir: string) => execFileSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" });

test("a worktree starts from the user's uncommitted and untracked work, leaves the user's index, tree and refs alone, and its diff applies back", async () => {
  const r = repo();
  try {
    writeFileSync(join(r.dir, "a.txt"), "one\nTWO\nthree\n");
    writeFileSync(join(r.dir, "new.txt"), "untracked\n");
    mkdirSync(join(r.dir, "node_modules"));
    writeFileSync(join(r.dir, "node_modules", "dep.js"), "x");
    const statusBefore = gitStatus(r.dir);
    const refsBefore = execFileSync("git", ["for-each-ref"], { cwd: r.dir, encoding: "utf8" });
    const wts = createWorktrees({ projectDir: r.dir, root: r.data });
    assert.equal(await wts.isRepo(), true);
    const fingerprint = await wts.fingerprint();
    const wt = await wts.create("max", "candidate 1");
    assert.equal(readFileSync(join(wt.dir, "a.txt"), "utf8"), "one\nTWO\nthree\n");
    assert.equal(readFileSync(join(wt.dir, "new.txt"), "utf8"), "untracked\n");
    assert.ok(
      existsSync(join(wt.dir, "node_modules", "dep.js")),
      "ignored dependencies are linked in so checks can run",
    );
    assert.equal(gitStatus(r.dir), statusBefore, "the user's status is unchanged");
    assert.equal(execFileSync("git", ["for-each-ref"], { cwd: r.dir, encoding: "utf8" }), refsBefore, "no ref added");

    writeFileSync(join(wt.dir, "a.txt"), "one\nTWO\nthree\nfour\n");
    writeFileSync(join(wt.dir, "added.bin"), Buffer.from([0, 1, 2, 255]));
    rmSync(join(wt.dir, "new.txt"));
    // Callers ask for the diff and the file list at once: git's index lock must not make either fail.
    const [diff, , again] = await Promise.all([wts.diff(wt), wts.changedFiles(wt), wts.diff(wt)]);
    assert.equal(again, diff);
    assert.deepEqual(diffFiles(diff).sort(), ["a.txt", "added.bin", "new.txt"]);
    assert.deepEqual((await wts.changedFiles(wt)).sort(), ["a.txt", "added.bin", "new.txt"]);
    assert.ok(!diff.includes("node_modules"), "the linked dependencies are not part of the change");

    const applied = await wts.apply(diff, { expectFingerprint: fingerprint, label: "candidate 1" });
    assert.ok(applied.ok, JSON.stringify(applied));
    assert.equal(readFileSync(join(r.dir, "a.txt"), "utf8"), "one\nTWO\nthree\nfour\n");
    assert.deepEqual([...readFileSync(join(r.dir, "added.bin"))], [0, 1, 2, 255]);
    assert.ok(!existsSync(join(r.dir, "new.txt")));
    assert.ok(applied.ok && applied.backup, "a backup of the state before the apply");
    const backedUp = execFileSync("git", ["show", `refs/continuum/backups/${applied.ok && applied.backup}:new.txt`], {
      cwd: r.dir,
      encoding: "utf8",
    });
    assert.equal(backedUp, "untracked\n", "the backup holds the untracked file the apply deleted");

    await wts.remove(wt);
    assert.ok(!existsSync(wt.dir));
    assert.equal(
      execFileSync("git", ["worktree", "list"], { cwd: r.dir, encoding: "utf8" }).trim().split("\n").length,
      1,
      "unregistered",
    );
  } finally {
    r.cleanup();
  }
});

test("apply is refused whole, with the diff saved, when the tree changed meanwhile or a hunk conflicts (files named)", async () => {
  const r = repo();
  try {
    const wts = createWorktrees({ projectDir: r.dir, root: r.data });
    const fingerprint = await wts.fingerprint();
    const wt = await wts.create("compose", "task");
    writeFileSync(join(wt.dir, "a.txt"), "one\ntwo changed\nthree\n");
    const diff = await wts.diff(wt);

    writeFileSync(join(r.dir, "a.txt"), "one\ntwo by the user\nthree\n");
    const moved = await wts.apply(diff, { expectFingerprint: fingerprint, label: "task" });
    assert.equal(moved.ok, false);
    assert.ok(!moved.ok && /you changed a\.txt since/.test(moved.reason), "the message names the file");
    assert.ok(!moved.ok && moved.conflicts.includes("a.txt"));
    assert.ok(!moved.ok && readFileSync(moved.savedTo, "utf8") === diff, "the diff is kept");
    assert.equal(
      readFileSync(join(r.dir, "a.txt"), "utf8"),
      "one\ntwo by the user\nthree\n",
      "the user's edit is untouched",
    );

    const conflict = await wts.apply(diff, { label: "task" });
    assert.equal(conflict.ok, false);
    assert.ok(!conflict.ok && conflict.conflicts.includes("a.txt"), JSON.stringify(conflict));
    assert.equal(readFileSync(join(r.dir, "a.txt"), "utf8"), "one\ntwo by the user\nthree\n");
    assert.ok(existsSync(wt.dir), "the worktree is kept for the user to look at");
    await wts.remove(wt);
  } finally {
    r.cleanup();
  }
});

test("a change the user made elsewhere meanwhile (an editor's swap file, another file) does not block the apply", async () => {
  const r = repo();
  try {
    writeFileSync(join(r.dir, "b.txt"), "b\n");
    const wts = createWorktrees({ projectDir: r.dir, root: r.data });
    const fingerprint = await wts.fingerprint();
    const wt = await wts.create("max", "candidate");
    writeFileSync(join(wt.dir, "a.txt"), "one\ntwo\nthree\nfour\n");
    const diff = await wts.diff(wt);
    writeFileSync(join(r.dir, ".b.txt.swp"), "vim swap");
    writeFileSync(join(r.dir, "b.txt"), "b edited by the user\n");
    const applied = await wts.apply(diff, { expectFingerprint: fingerprint, label: "candidate" });
    assert.ok(applied.ok, JSON.stringify(applied));
    assert.equal(readFileSync(join(r.dir, "a.txt"), "utf8"), "one\ntwo\nthree\nfour\n");
    assert.equal(readFileSync(join(r.dir, "b.txt"), "utf8"), "b edited by the user\n");
    assert.equal(readFileSync(join(r.dir, ".b.txt.swp"), "utf8"), "vim swap");
    await wts.remove(wt);
  } finally {
    r.cleanup();
  }
});

test("sweep removes the worktrees of a process that is gone and keeps those of a live one", async () => {
  const r = repo();
  try {
    const dead = createWorktrees({ projectDir: r.dir, root: r.data, pid: 999_999_1, isAlive: () => false });
    const live = createWorktrees({ projectDir: r.dir, root: r.data, pid: process.pid });
    const left = await dead.create("max", "crashed");
    const mine = await live.create("max", "running");
    const sweeper = createWorktrees({ projectDir: r.dir, root: r.data, isAlive: (pid) => pid === process.pid });
    assert.equal(await sweeper.sweep(), 1);
    assert.ok(!existsSync(left.dir));
    assert.ok(existsSync(mine.dir));
    assert.equal(
      execFileSync("git", ["worktree", "list"], { cwd: r.dir, encoding: "utf8" }).trim().split("\n").length,
      2,
    );
    await live.remove(mine);
  } finally {
    r.cleanup();
  }
});

test("a worktree of a sub-folder project maps to the same sub-folder", async () => {
  const r = repo();
  try {
    mkdirSync(join(r.dir, "pkg"));
    writeFileSync(join(r.dir, "pkg", "x.txt"), "x\n");
    const wts = createWorktrees({ projectDir: join(r.dir, "pkg"), root: r.data });
    const wt = await wts.create("workflow", "sub");
    assert.equal(readFileSync(join(wt.dir, "x.txt"), "utf8"), "x\n");
    writeFileSync(join(wt.dir, "x.txt"), "y\n");
    const applied = await wts.apply(await wts.diff(wt));
    assert.ok(applied.ok);
    assert.equal(readFileSync(join(r.dir, "pkg", "x.txt"), "utf8"), "y\n");
    await wts.remove(wt);
    assert.ok(!existsSync(wt.dir));
  } finally {
    r.cleanup();
  }
});

test("git apply's complaints name the files", () => {
  const stderr =
    "error: patch failed: src/a.ts:3\nerror: src/a.ts: patch does not apply\nerror: new.txt: already exists in working directory\n";
  assert.deepEqual(conflictFiles(stderr).sort(), ["new.txt", "src/a.ts"]);
});

const C = { dir: "/data/wt/wt-1", projectDir: "/home/u/proj" };

test("confinement moves project paths into the worktree and refuses everything outside it", () => {
  assert.equal(confinePath("/home/u/proj/src/a.ts", C), "/data/wt/wt-1/src/a.ts");
  assert.equal(confinePath("src/a.ts", C), "/data/wt/wt-1/src/a.ts");
  assert.equal(confinePath("/data/wt/wt-1/x", C), "/data/wt/wt-1/x");
  assert.equal(confinePath("../outside", C), undefined);
  assert.equal(confinePath("/home/u/proj/../other/x", C), undefined);
  assert.equal(confinePath("/etc/passwd", C), undefined);
  assert.equal(confinePath("/home/u/project-two/x", C), undefined, "a sibling with a common prefix is outside");

  const edit = confineToolArgs("edit", { filePath: "/home/u/proj/a.ts", oldString: "a", newString: "b" }, C);
  assert.deepEqual(edit, { ok: true, args: { filePath: "/data/wt/wt-1/a.ts", oldString: "a", newString: "b" } });
  const grep = confineToolArgs("grep", { pattern: "x" }, C);
  assert.ok(grep.ok && grep.args.path === C.dir, "a search with no path searches the worktree");
  const bash = confineToolArgs(
    "bash",
    { command: "cat /home/u/proj/a.ts && ls /home/u/project-two", description: "d" },
    C,
  );
  assert.ok(bash.ok);
  assert.equal(bash.ok && bash.args.workdir, C.dir);
  assert.equal(bash.ok && bash.args.command, "cat /data/wt/wt-1/a.ts && ls /home/u/project-two");
  assert.equal(confineToolArgs("bash", { command: "ls", workdir: "/tmp" }, C).ok, false);
  const patch = confineToolArgs(
    "apply_patch",
    { patchText: "*** Begin Patch\n*** Update File: /home/u/proj/a.ts\n@@\n-a\n+b\n*** End Patch" },
    C,
  );
  assert.ok(patch.ok && String(patch.args.patchText).includes("*** Update File: /data/wt/wt-1/a.ts"));
  assert.equal(confineToolArgs("apply_patch", { patchText: "*** Add File: /etc/x\n+a" }, C).ok, false);
  assert.equal(confineToolArgs("task", { prompt: "x" }, C).ok, false, "no sub-agent escapes the worktree");
  assert.equal(confineToolArgs("write", { filePath: "../../x", content: "" }, C).ok, false);
  assert.deepEqual(confineToolArgs("memory", { action: "search", query: "x" }, C), {
    ok: true,
    args: { action: "search", query: "x" },
  });
});

test("property: a confined path is always inside the worktree", () => {
  const segment = fc.constantFrom("..", ".", "a", "b", "proj", "wt-1", "", "x y");
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (parts, absolute) => {
      const path = (absolute ? "/" : "") + parts.join("/");
      const confined = confinePath(path, C);
      return confined === undefined || confined === C.dir || confined.startsWith(`${C.dir}/`);
    }),
  );
});

test("a symlink in the project does not make the worktree's copy point outside by name", () => {
  const r = repo();
  try {
    symlinkSync("/etc", join(r.dir, "etc-link"));
    assert.equal(
      confinePath(join(r.dir, "etc-link", "passwd"), { dir: "/wt", projectDir: r.dir }),
      "/wt/etc-link/passwd",
    );
  } finally {
    r.cleanup();
  }
});

test("worktrees created and removed in parallel all succeed (git's registry is not safe for concurrent adds)", async () => {
  const r = repo();
  try {
    const worktrees = createWorktrees({ projectDir: r.dir, root: r.data });
    for (let round = 0; round < 25; round++) {
      const made = await Promise.all([1, 2, 3].map((i) => worktrees.create("max", `builder ${i}`)));
      for (const w of made) assert.equal(readFileSync(join(w.dir, "a.txt"), "utf8"), "one\ntwo\nthree\n");
      await Promise.all(made.map((w) => worktrees.remove(w)));
    }
    assert.equal(
      execFileSync("git", ["worktree", "list"], { cwd: r.dir, encoding: "utf8" }).trim().split("\n").length,
      1,
    );
  } finally {
    r.cleanup();
  }
});

test("sweep leaves a live process's private index copy alone and removes a dead one's", async () => {
  const r = repo();
  try {
    mkdirSync(r.data, { recursive: true });
    writeFileSync(join(r.data, `.index-${process.pid}-7`), "in use");
    writeFileSync(join(r.data, ".index-999999991-3"), "left over");
    await createWorktrees({ projectDir: r.dir, root: r.data, isAlive: (pid) => pid === process.pid }).sweep();
    assert.ok(existsSync(join(r.data, `.index-${process.pid}-7`)));
    assert.ok(!existsSync(join(r.data, ".index-999999991-3")));
  } finally {
    r.cleanup();
  }
});
