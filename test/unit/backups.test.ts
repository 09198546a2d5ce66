// Backups of the user's index and working tree on real git repositories: every kind of uncommitted state (staged-only,
// staged-then-edited, untracked, deleted, staged deletion, binary, renamed, an empty repository) comes back exactly,
// index and tree, after the tree was changed and after `git gc --prune=now`; a restore refuses when the user changed
// something since the apply, and with --force backs the state up first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BACKUP_REFS,
  listBackups,
  pruneBackups,
  recordAfter,
  restoreBackup,
  takeBackup,
  type Backup,
} from "../../plugins/core/backups.ts";

function repo(commit = true) {
  const base = mkdtempSync(join(tmpdir(), "continuum-backup-"));
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
  if (commit) {
    for (const name of ["a.txt", "b.txt", "c.txt", "d.txt", "old.txt"])
      writeFileSync(join(dir, name), `${name} committed\n`);
    writeFileSync(join(dir, "e.bin"), Buffer.from([0, 1, 2, 3]));
    writeFileSync(join(dir, ".gitignore"), "build/\n");
    git("add", "-A");
    git("commit", "-qm", "init");
  }
  const write = (file: string, content: string | Buffer) => {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), content);
  };
  return { dir, git, write, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** Everything a restore must bring back: the index entries, the status, and every non-ignored file's bytes. */
function state(r: ReturnType<typeof repo>) {
  const files = r.git("ls-files", "-co", "--exclude-standard", "-z").split("\0").filter(Boolean).sort();
  return {
    index: r.git("ls-files", "-s"),
    status: r.git("status", "--porcelain=v1", "--untracked-files=all"),
    files: Object.fromEntries(
      files.filter((f) => existsSync(join(r.dir, f))).map((f) => [f, readFileSync(join(r.dir, f)).toString("base64")]),
    ),
  };
}

/** The uncommitted state of every kind the backup must keep. */
function dirty(r: ReturnType<typeof repo>) {
  r.write("a.txt", "a staged only\n");
  r.git("add", "a.txt");
  r.write("b.txt", "b staged\n");
  r.git("add", "b.txt");
  r.write("b.txt", "b staged then edited\n");
  r.write("new/untracked file ü.txt", "untracked\n");
  rmSync(join(r.dir, "c.txt"));
  r.git("rm", "-q", "d.txt");
  r.write("e.bin", Buffer.from([255, 0, 254, 1, 0]));
  r.git("mv", "old.txt", "renamed.txt");
  r.write("build/ignored.out", "ignored\n");
}

/** What an apply (or anything) might do to the tree and the index afterwards. */
function clobber(r: ReturnType<typeof repo>) {
  r.write("a.txt", "clobbered\n");
  r.write("b.txt", "clobbered\n");
  r.write("c.txt", "recreated\n");
  rmSync(join(r.dir, "new"), { recursive: true });
  r.write("brand/new.txt", "added later\n");
  r.write("e.bin", Buffer.from([9]));
  r.git("add", "-A");
}

test("a backup brings back staged-only, staged-then-edited, untracked, deleted, staged-deleted, binary and renamed files, index and tree, even after git gc --prune=now", async () => {
  const r = repo();
  try {
    dirty(r);
    const before = state(r);
    const backup = await takeBackup(r.dir, "before applying max candidate 1");
    assert.deepEqual(state(r), before, "taking a backup touches nothing");
    assert.equal(
      r.git("branch", "--list").trim(),
      "* master".replace("master", r.git("branch", "--show-current").trim()),
      "no branch added",
    );
    assert.equal(r.git("tag", "--list"), "", "no tag added");
    clobber(r);
    await recordAfter(r.dir, backup);
    r.git("gc", "-q", "--prune=now");
    const restored = await restoreBackup(r.dir, backup.name);
    assert.ok(restored.ok, JSON.stringify(restored));
    assert.deepEqual(state(r), before);
    assert.equal(readFileSync(join(r.dir, "build/ignored.out"), "utf8"), "ignored\n", "ignored files are left alone");
    assert.ok(!existsSync(join(r.dir, "brand")), "a folder the restore emptied is gone");
    const listed = await listBackups(r.dir);
    assert.equal(listed[0]!.label, "before applying max candidate 1");
    assert.ok(listed[0]!.after, "the state after the apply is recorded");
  } finally {
    r.cleanup();
  }
});

test("an empty repository (no commit yet) with a staged and an untracked file is backed up and restored", async () => {
  const r = repo(false);
  try {
    r.write("staged.txt", "staged\n");
    r.git("add", "staged.txt");
    r.write("loose.txt", "untracked\n");
    const before = state(r);
    const backup = await takeBackup(r.dir, "empty repo");
    assert.equal(backup.head, undefined);
    r.write("staged.txt", "changed\n");
    rmSync(join(r.dir, "loose.txt"));
    r.write("other.txt", "x\n");
    r.git("add", "-A");
    await recordAfter(r.dir, backup);
    const restored = await restoreBackup(r.dir, backup.name);
    assert.ok(restored.ok, JSON.stringify(restored));
    assert.deepEqual(state(r), before);
  } finally {
    r.cleanup();
  }
});

test("a restore refuses when the tree changed since the apply, naming the files; --force backs the state up first and restores", async () => {
  const r = repo();
  try {
    dirty(r);
    const before = state(r);
    const backup = await takeBackup(r.dir, "apply");
    r.write("a.txt", "applied change\n");
    await recordAfter(r.dir, backup);
    r.write("later.txt", "the user's later work\n");
    const refused = await restoreBackup(r.dir, backup.name);
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.changed.includes("later.txt"), JSON.stringify(refused));
    assert.equal(readFileSync(join(r.dir, "later.txt"), "utf8"), "the user's later work\n", "nothing touched");
    const forced = await restoreBackup(r.dir, backup.name, { force: true });
    assert.ok(forced.ok && forced.safety, JSON.stringify(forced));
    assert.deepEqual(state(r), before);
    // The state that --force replaced is itself a backup, so the force can be taken back.
    const undo = forced.ok && forced.safety ? forced.safety.name : "";
    assert.equal(r.git("show", `${BACKUP_REFS}${undo}:later.txt`), "the user's later work\n");
    const back = await restoreBackup(r.dir, undo, { force: true });
    assert.ok(back.ok);
    assert.equal(readFileSync(join(r.dir, "later.txt"), "utf8"), "the user's later work\n");
    assert.equal(readFileSync(join(r.dir, "a.txt"), "utf8"), "applied change\n");
  } finally {
    r.cleanup();
  }
});

test("an unknown backup name and an unresolved merge conflict are reported, nothing touched", async () => {
  const r = repo();
  try {
    const missing = await restoreBackup(r.dir, "2020-01-01T00-00-00-000Z");
    assert.ok(!missing.ok && /no backup named/.test(missing.reason));
    r.git("checkout", "-qb", "side");
    r.write("a.txt", "side\n");
    r.git("commit", "-qam", "side");
    r.git("checkout", "-q", "-");
    r.write("a.txt", "main\n");
    r.git("commit", "-qam", "main");
    try {
      r.git("merge", "-q", "side");
    } catch {
      // The conflict is the point.
    }
    await assert.rejects(takeBackup(r.dir, "during a conflict"), /write-tree/);
    assert.equal(r.git("for-each-ref", BACKUP_REFS), "");
  } finally {
    r.cleanup();
  }
});

test("backup refs are pruned like the pack's other kept copies: the newest stay, older ones for the retention days", async () => {
  const r = repo();
  try {
    const old = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 3; i++) await takeBackup(r.dir, `old ${i}`, new Date(old + i * 1000));
    const recent = await takeBackup(r.dir, "recent", new Date(old + 30 * 86_400_000));
    const deleted = await pruneBackups(r.dir, old + 30 * 86_400_000, { keepNewest: 2, keepDays: 14 });
    assert.equal(deleted.length, 2);
    assert.deepEqual(
      (await listBackups(r.dir)).map((b) => b.label),
      ["recent", "old 2"],
    );
    assert.ok(recent.name);
  } finally {
    r.cleanup();
  }
});

test("continuum restore: lists the backups, puts one back, refuses (naming the files) when the tree changed since, --force", async () => {
  const r = repo();
  try {
    const { capture } = await import("./helpers/cli.ts");
    const empty = await capture(["restore", "--project", r.dir]);
    assert.equal(empty.code, 0);
    assert.match(empty.out, /No backups/);
    dirty(r);
    const before = state(r);
    const backup = await takeBackup(r.dir, "before applying compose merge of T1");
    clobber(r);
    await recordAfter(r.dir, backup);
    const listed = await capture(["restore", "--project", r.dir]);
    assert.match(listed.out, new RegExp(`${backup.name}  before applying compose merge of T1`));
    assert.deepEqual(
      JSON.parse((await capture(["restore", "--project", r.dir, "--json"])).out).backups.map((b: Backup) => b.name),
      [backup.name],
    );
    r.write("mine.swp", "later\n");
    const refused = await capture(["restore", backup.name, "--project", r.dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /not restored: the tree changed since the apply.*Changed since: mine\.swp/);
    const forced = await capture(["restore", backup.name, "--force", "--project", r.dir]);
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /Restored .*index and working tree are as they were/);
    assert.match(forced.out, /The state before this restore is backup /);
    assert.deepEqual(state(r), before);
    const unknown = await capture(["restore", "nope", "--project", r.dir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no backup named nope/);
  } finally {
    r.cleanup();
  }
});
