// Project identity: the git root commit for repositories, a per-directory hash otherwise, never "global".
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execFileSync } from "node:child_process";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";
import { packPaths, safeSegment } from "../../plugins/core/paths.ts";

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
};

test("a git repository is identified by its root commit, from any sub-directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "continuum-git-"));
  execFileSync("git", ["init", "-q"], { cwd: dir });
  writeFileSync(join(dir, "a"), "a");
  execFileSync("git", ["add", "."], { cwd: dir });
  execFileSync("git", ["commit", "-qm", "root"], { cwd: dir, env: gitEnv });
  const root = execFileSync("git", ["rev-list", "--max-parents=0", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
  mkdirSync(join(dir, "sub"));
  assert.equal(resolveProjectIdentity(dir).id, root);
  assert.equal(resolveProjectIdentity(join(dir, "sub")).id, root);
  assert.equal(resolveProjectIdentity(dir).kind, "git");
});

test("OpenCode's own project id is used when it is a real one", () => {
  assert.equal(resolveProjectIdentity(tmpdir(), "abc123").id, "abc123");
});

test("non-git directories get distinct, stable ids; OpenCode's 'global' is never a bucket", () => {
  const a = mkdtempSync(join(tmpdir(), "continuum-plain-"));
  const b = mkdtempSync(join(tmpdir(), "continuum-plain-"));
  const idA = resolveProjectIdentity(a, "global");
  const idB = resolveProjectIdentity(b, "global");
  assert.notEqual(idA.id, idB.id);
  assert.notEqual(idA.id, "global");
  assert.equal(resolveProjectIdentity(a, "global").id, idA.id, "stable");
  assert.equal(idA.kind, "directory");
});

test("a symlink to a directory has the same id as the directory (real path)", () => {
  const real = mkdtempSync(join(tmpdir(), "continuum-real-"));
  const link = join(mkdtempSync(join(tmpdir(), "continuum-link-")), "l");
  symlinkSync(real, link);
  assert.equal(resolveProjectIdentity(link).id, resolveProjectIdentity(real).id);
});

test("ids never escape their folder", () => {
  for (const id of ["../../etc", "/abs/path", "..", "a/../../b"]) {
    const segment = safeSegment(id);
    assert.ok(!segment.includes("/") && !segment.startsWith("."), `${id} -> ${segment}`);
  }
  assert.equal(dirname(packPaths("/data").project("../../x").root), "/data/projects");
  assert.throws(() => safeSegment(""));
});
