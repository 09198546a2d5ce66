// Merging worktrees back on real temporary git repositories: independent changes land together, a conflict (between
// two worktrees, or with the user's own later edit) stops the merge before the user's tree is touched with the files
// named, every worktree kept and every change saved, and the user's index and tree are backed up (a restorable ref)
// before anything is applied.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createWorktrees } from "../../plugins/core/worktrees.ts";
import { listBackups, restoreBackup } from "../../plugins/core/backups.ts";
import { formatMergeReport, MAX_DIFF_BYTES, mergeChanges, mergeWorktrees } from "../../plugins/compose/merge.ts";

function repo() {
  const base = mkdtempSync(join(tmpdir(), "compose-merge-"));
  const dir = join(base, "project");
  mkdirSync(dir);
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
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
  writeFileSync(join(dir, "a.txt"), "one\ntwo\nthree\n");
  writeFileSync(join(dir, "b.txt"), "alpha\nbeta\n");
  writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
  git("add", "-A");
  git("commit", "-qm", "init");
  const wts = createWorktrees({ projectDir: dir, root: join(base, "data", "worktrees") });
  const backupRoot = join(base, "data", "merges");
  return { dir, base, git, wts, backupRoot, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

test("two independent worktrees merge together; the user's uncommitted and untracked work is kept and backed up first", async () => {
  const r = repo();
  try {
    writeFileSync(join(r.dir, "b.txt"), "alpha\nbeta (mine, uncommitted)\n");
    writeFileSync(join(r.dir, "notes.txt"), "my untracked notes\n");
    const one = await r.wts.create("compose", "T1");
    const two = await r.wts.create("compose", "T2");
    writeFileSync(join(one.dir, "a.txt"), "one\ntwo\nthree\nfour\n");
    writeFileSync(join(two.dir, "c.txt"), "new file from T2\n");
    writeFileSync(join(two.dir, "logo.bin"), Buffer.from([0, 159, 146, 150, 255]));
    const report = await mergeWorktrees(
      r.wts,
      [
        { label: "T1", worktree: one },
        { label: "T2", worktree: two },
      ],
      { backupRoot: r.backupRoot },
    );
    assert.equal(report.ok, true, formatMergeReport(report));
    assert.deepEqual(
      report.merged.map((m) => [m.label, m.files.sort()]),
      [
        ["T1", ["a.txt"]],
        ["T2", ["c.txt", "logo.bin"]],
      ],
    );
    assert.equal(read(r.dir, "a.txt"), "one\ntwo\nthree\nfour\n");
    assert.equal(read(r.dir, "c.txt"), "new file from T2\n");
    assert.deepEqual([...readFileSync(join(r.dir, "logo.bin"))], [0, 159, 146, 150, 255]);
    assert.equal(read(r.dir, "b.txt"), "alpha\nbeta (mine, uncommitted)\n", "the user's change is still there");
    assert.equal(read(r.dir, "notes.txt"), "my untracked notes\n");
    assert.ok(report.backup, "a backup of the index and tree before the apply");
    assert.deepEqual(
      (await listBackups(r.dir)).map((b) => b.name),
      [report.backup],
    );
    assert.match(formatMergeReport(report), new RegExp(`continuum restore ${report.backup}`));
    assert.ok(!existsSync(one.dir) && !existsSync(two.dir), "merged worktrees are removed");
    assert.equal(r.git("diff", "--cached", "--name-only"), "", "the user's index is untouched");
    assert.match(formatMergeReport(report), /Merged into the working tree: T1 \(a\.txt\); T2/);
    const restored = await restoreBackup(r.dir, report.backup!);
    assert.ok(restored.ok, JSON.stringify(restored));
    assert.equal(read(r.dir, "a.txt"), "one\ntwo\nthree\n", "the restore takes the merge back");
    assert.ok(!existsSync(join(r.dir, "c.txt")) && !existsSync(join(r.dir, "logo.bin")));
    assert.equal(read(r.dir, "b.txt"), "alpha\nbeta (mine, uncommitted)\n");
    assert.equal(read(r.dir, "notes.txt"), "my untracked notes\n");
  } finally {
    r.cleanup();
  }
});

test("a conflict between two worktrees stops the merge before the user's tree is touched, names the file, keeps both worktrees", async () => {
  const r = repo();
  try {
    writeFileSync(join(r.dir, "b.txt"), "alpha\nbeta (mine)\n");
    const one = await r.wts.create("compose", "T1");
    const two = await r.wts.create("compose", "T2");
    writeFileSync(join(one.dir, "a.txt"), "one\nTWO from T1\nthree\n");
    writeFileSync(join(one.dir, "d.txt"), "only T1\n");
    writeFileSync(join(two.dir, "a.txt"), "one\n2 from T2\nthree\n");
    const status = r.git("status", "--porcelain");
    const report = await mergeWorktrees(
      r.wts,
      [
        { label: "T1", worktree: one },
        { label: "T2", worktree: two },
      ],
      { backupRoot: r.backupRoot },
    );
    assert.equal(report.ok, false);
    assert.equal(report.conflict?.label, "T2");
    assert.deepEqual(report.conflict?.files, ["a.txt"]);
    assert.match(report.conflict!.reason, /after.*T1|changes before it \(T1\)/);
    assert.deepEqual(report.merged, [], "all or nothing: T1 is not half-merged either");
    assert.equal(read(r.dir, "a.txt"), "one\ntwo\nthree\n");
    assert.ok(!existsSync(join(r.dir, "d.txt")));
    assert.equal(read(r.dir, "b.txt"), "alpha\nbeta (mine)\n");
    assert.equal(r.git("status", "--porcelain"), status, "the user's tree is exactly as it was");
    assert.deepEqual(
      report.kept.map((k) => k.label),
      ["T1", "T2"],
    );
    assert.ok(
      existsSync(join(one.dir, "d.txt")) && read(two.dir, "a.txt").includes("2 from T2"),
      "both worktrees keep their work",
    );
    assert.match(
      readFileSync(report.conflict!.savedTo!, "utf8"),
      /\+2 from T2/,
      "the conflicting change is saved as a patch",
    );
    assert.deepEqual(
      report.saved?.map((s) => s.label),
      ["T1", "T2"],
      "every task's diff is saved, the one that merged cleanly too",
    );
    assert.match(readFileSync(report.saved![0]!.file, "utf8"), /\+only T1/);
    const text = formatMergeReport(report);
    assert.match(text, /Every change is saved: T1 → .*01-T1\.diff; T2 → .*02-T2\.diff/);
    assert.match(text, /Merge stopped at T2: .*Conflicting files: a\.txt\. Nothing was applied/);
    assert.match(text, /Worktrees kept: T1 → .*; T2 → /);
  } finally {
    r.cleanup();
  }
});

test("the user's own edit after the worktree started wins: the merge stops on it, naming the file, and loses neither side", async () => {
  const r = repo();
  try {
    const one = await r.wts.create("compose", "T1");
    writeFileSync(join(one.dir, "a.txt"), "one\ntwo (agent)\nthree\n");
    writeFileSync(join(r.dir, "a.txt"), "one\ntwo (user, meanwhile)\nthree\n");
    const report = await mergeWorktrees(r.wts, [{ label: "T1", worktree: one }], { backupRoot: r.backupRoot });
    assert.equal(report.ok, false);
    assert.deepEqual(report.conflict?.files, ["a.txt"]);
    assert.equal(read(r.dir, "a.txt"), "one\ntwo (user, meanwhile)\nthree\n");
    assert.equal(read(one.dir, "a.txt"), "one\ntwo (agent)\nthree\n");
    assert.equal(report.backup, undefined, "nothing was applied, so nothing needed a backup");
    assert.deepEqual(
      report.saved?.map((s) => s.label),
      ["T1"],
    );
    assert.equal(r.git("for-each-ref", "refs/continuum/"), "");
  } finally {
    r.cleanup();
  }
});

test("a worktree that changed nothing is removed; a deletion merges (after a backup, restorable)", async () => {
  const r = repo();
  try {
    const idle = await r.wts.create("compose", "idle");
    const deleting = await r.wts.create("compose", "delete b");
    rmSync(join(deleting.dir, "b.txt"));
    const report = await mergeWorktrees(
      r.wts,
      [
        { label: "idle", worktree: idle },
        { label: "delete b", worktree: deleting },
      ],
      { backupRoot: r.backupRoot },
    );
    assert.equal(report.ok, true, formatMergeReport(report));
    assert.deepEqual(report.unchanged, ["idle"]);
    assert.ok(report.backup);
    assert.ok(!existsSync(join(r.dir, "b.txt")));
    assert.ok(!existsSync(idle.dir));
    assert.equal(
      r.git("worktree", "list").trim().split("\n").length,
      1,
      "no worktree left registered, the scratch one included",
    );
  } finally {
    r.cleanup();
  }
});

test("a diff journaled before a crash still merges after its worktree was swept", async () => {
  const r = repo();
  try {
    const one = await r.wts.create("compose", "T1");
    writeFileSync(join(one.dir, "a.txt"), "one\ntwo\nthree\njournaled\n");
    const diff = await r.wts.diff(one);
    await r.wts.remove(one);
    const report = await mergeWorktrees(r.wts, [{ label: "T1", diff }], { backupRoot: r.backupRoot });
    assert.equal(report.ok, true, formatMergeReport(report));
    assert.equal(read(r.dir, "a.txt"), "one\ntwo\nthree\njournaled\n");
  } finally {
    r.cleanup();
  }
});

test("a worktree folder that cannot be made (the data dir is a file) stops the merge with the reason, nothing touched", async () => {
  const r = repo();
  try {
    const one = await r.wts.create("compose", "T1");
    writeFileSync(join(one.dir, "a.txt"), "agent\n");
    const diff = await r.wts.diff(one);
    const blocked = join(r.base, "blocked");
    writeFileSync(blocked, "a file where a folder should be");
    const broken = createWorktrees({ projectDir: r.dir, root: join(blocked, "worktrees") });
    const report = await mergeWorktrees(
      broken,
      [
        { label: "T1", diff },
        { label: "T0", worktree: one },
      ],
      { backupRoot: r.backupRoot },
    );
    assert.equal(report.ok, false);
    assert.match(report.conflict!.reason, /the merge failed before your working tree was touched/);
    assert.deepEqual(report.kept, [{ label: "T0", dir: one.dir }]);
    assert.equal(read(r.dir, "a.txt"), "one\ntwo\nthree\n");
  } finally {
    r.cleanup();
  }
});

test("nothing to merge, or no repository: a clear answer and nothing touched", async () => {
  const r = repo();
  try {
    assert.deepEqual(await mergeWorktrees(r.wts, [], { backupRoot: r.backupRoot }), {
      ok: true,
      merged: [],
      unchanged: [],
      kept: [],
    });
    const plain = mkdtempSync(join(tmpdir(), "compose-plain-"));
    const notRepo = createWorktrees({ projectDir: plain, root: join(plain, ".data") });
    const fake = { id: "x", dir: join(plain, "x"), base: "0", owner: "compose", label: "T1" };
    const report = await mergeWorktrees(notRepo, [{ label: "T1", worktree: fake }], {
      backupRoot: join(plain, ".merges"),
    });
    assert.equal(report.ok, false);
    assert.match(report.conflict!.reason, /not a git repository/);
    assert.deepEqual(report.kept, [{ label: "T1", dir: fake.dir }]);
    rmSync(plain, { recursive: true, force: true });
  } finally {
    r.cleanup();
  }
});

test("the service checks what a script hands it: not a list, missing or extra fields, a label twice, a huge diff", async () => {
  const r = repo();
  try {
    const options = { backupRoot: r.backupRoot };
    for (const bad of [
      null,
      "diff",
      [{ label: "T1" }],
      [{ label: "", diff: "" }],
      [{ label: "T1", diff: "", extra: 1 }],
      [{ label: "T1", diff: 42 }],
    ]) {
      const report = await mergeChanges(r.wts, bad, options);
      assert.equal(report.ok, false, JSON.stringify(bad));
      assert.match(report.conflict!.reason, /nothing merged: the changes must be a list of \{label, diff\}/);
    }
    const huge = await mergeChanges(r.wts, [{ label: "T1", diff: "x".repeat(MAX_DIFF_BYTES + 1) }], options);
    assert.match(huge.conflict!.reason, /nothing merged/);
    const twice = await mergeChanges(
      r.wts,
      [
        { label: "T1", diff: "" },
        { label: "T1", diff: "" },
      ],
      options,
    );
    assert.match(twice.conflict!.reason, /"T1" is given twice/);
    const one = await r.wts.create("compose", "T1");
    writeFileSync(join(one.dir, "a.txt"), "via the service\n");
    const diff = await r.wts.diff(one);
    const merged = await mergeChanges(r.wts, [{ label: "T1", diff }], options);
    assert.equal(merged.ok, true);
    assert.equal(read(r.dir, "a.txt"), "via the service\n");
    assert.equal(readFileSync(join(r.dir, "b.txt"), "utf8"), "alpha\nbeta\n", "nothing else touched");
  } finally {
    r.cleanup();
  }
});

test("a change to a protected path (.opencode/plugins, opencode.json, a nested .git hook), through a symlinked folder, or creating a symlink is refused whole; nothing touched", async () => {
  const r = repo();
  try {
    symlinkSync(r.base, join(r.dir, "out"));
    const plain = await r.wts.create("compose", "ok");
    writeFileSync(join(plain.dir, "c.txt"), "fine\n");
    const okDiff = await r.wts.diff(plain);
    const cases: [string, (dir: string) => void, RegExp][] = [
      [
        "plugin",
        (dir) => (
          mkdirSync(join(dir, ".opencode", "plugins"), { recursive: true }),
          writeFileSync(join(dir, ".opencode", "plugins", "x.ts"), "export default {}\n")
        ),
        /\.opencode\/plugins\/x\.ts: it is inside \.opencode/,
      ],
      [
        "config",
        (dir) => writeFileSync(join(dir, "opencode.json"), "{}\n"),
        /opencode\.json: it is an OpenCode config file/,
      ],
      [
        "nested config",
        (dir) => (mkdirSync(join(dir, "pkg")), writeFileSync(join(dir, "pkg", "opencode.jsonc"), "{}\n")),
        /pkg\/opencode\.jsonc/,
      ],
      ["link", (dir) => symlinkSync("/etc/passwd", join(dir, "passwd")), /passwd: the change would create a symlink/],
    ];
    for (const [label, change, message] of cases) {
      const wt = await r.wts.create("compose", label);
      change(wt.dir);
      await r.wts.diff(wt);
      const report = await mergeWorktrees(
        r.wts,
        [
          { label: "ok", diff: okDiff },
          { label, worktree: wt },
        ],
        { backupRoot: r.backupRoot },
      );
      assert.equal(report.ok, false, label);
      assert.match(formatMergeReport(report), message, label);
      await r.wts.remove(wt);
    }
    // A hand-made diff for paths git would not show from a worktree: a nested .git hook, a file behind the linked folder.
    const hook =
      "diff --git a/a/.git/hooks/pre-commit b/a/.git/hooks/pre-commit\nnew file mode 100755\nindex 0000000..1111111\n--- /dev/null\n+++ b/a/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+touch /tmp/pwned\n";
    const behind = hook.replaceAll("a/.git/hooks/pre-commit", "out/x.txt").replace("100755", "100644");
    for (const [diff, message] of [
      [hook, /inside a \.git folder/],
      [behind, /out is a symlink/],
    ] as const) {
      const report = await mergeWorktrees(r.wts, [{ label: "hand", diff }], { backupRoot: r.backupRoot });
      assert.equal(report.ok, false);
      assert.match(formatMergeReport(report), message);
    }
    assert.equal(existsSync(join(r.dir, "c.txt")), false, "nothing of the good change was applied either");
    assert.equal(
      existsSync(join(r.dir, ".opencode")) ||
        existsSync(join(r.dir, "opencode.json")) ||
        existsSync(join(r.dir, "passwd")) ||
        existsSync(join(r.base, "x.txt")),
      false,
    );
    assert.equal(r.git("status", "--porcelain"), "?? out\n");
  } finally {
    r.cleanup();
  }
});
