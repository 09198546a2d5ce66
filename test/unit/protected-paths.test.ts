// The one check every write of the pack goes through: protected places at any depth, symlinks at any component,
// hard-linked files, and the data dir; then the same escapes through a workflow script's writeFile().
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkProjectPath, protectedReason, writeProjectFile } from "../../plugins/core/protected-paths.ts";
import { projectFiles } from "../../plugins/workflow/files.ts";

function project() {
  const root = mkdtempSync(join(tmpdir(), "protected-"));
  const dir = join(root, "project");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(root, "outside.txt"), "outside");
  return { root, dir };
}

test("protectedReason: .git, .opencode, opencode.json(c) and node_modules at any depth; ordinary files pass", () => {
  for (const rel of [
    ".git/config",
    "a/.git/hooks/pre-commit",
    "sub/deep/.GIT/HEAD",
    ".opencode/plugins/zz.ts",
    ".opencode/opencode.json",
    "pkg/.opencode/agents/x.md",
    "opencode.json",
    "a/b/opencode.jsonc",
    "node_modules/x/index.js",
    "a/node_modules/.bin/x",
    "../x",
    ".",
  ]) {
    assert.ok(protectedReason(rel), rel);
  }
  for (const rel of ["src/a.ts", "README.md", "a/.gitignore", "docs/opencode.md", ".opencodex/x"])
    assert.equal(protectedReason(rel), undefined, rel);
  // distill's own places only: markdown under the top-level skills/commands/agents folders.
  assert.equal(protectedReason(".opencode/skills/x/SKILL.md", { opencodeAssets: true }), undefined);
  assert.equal(protectedReason(".opencode/agents/x.md", { opencodeAssets: true }), undefined);
  for (const rel of [
    ".opencode/plugins/x.ts",
    ".opencode/agents/x.ts",
    ".opencode/opencode.json",
    "a/.opencode/agents/x.md",
    ".opencode/x.md",
  ]) {
    assert.ok(protectedReason(rel, { opencodeAssets: true }), rel);
  }
});

test("checkProjectPath: a symlink at any component is refused with 'symlink', for reads too; hard links refused for writes", () => {
  const { root, dir } = project();
  symlinkSync(join(root), join(dir, "up"));
  symlinkSync("src", join(dir, "inner"));
  symlinkSync(join(root, "outside.txt"), join(dir, "file-link"));
  symlinkSync(join(root, "nowhere"), join(dir, "dangling"));
  writeFileSync(join(dir, "src", "a.txt"), "A");
  linkSync(join(dir, "src", "a.txt"), join(dir, "src", "b.txt"));
  for (const path of ["up/outside.txt", "up/new/file", "inner/a.txt", "file-link", "dangling"]) {
    assert.throws(() => checkProjectPath(dir, path, "read"), /symlink/, path);
    assert.throws(() => checkProjectPath(dir, path, "write"), /symlink/, path);
  }
  assert.throws(() => checkProjectPath(dir, "src/b.txt", "write"), /hard links/);
  assert.equal(checkProjectPath(dir, "src/b.txt", "read").exists, true);
  assert.throws(() => checkProjectPath(dir, join(root, "outside.txt"), "read"), /outside the project/);
  assert.throws(() => checkProjectPath(dir, "../outside.txt", "write"), /outside the project/);
  assert.throws(() => checkProjectPath(dir, ".git/config", "read"), /\.git/);
  assert.throws(() => checkProjectPath(dir, "src/x", "write", { dataDir: join(dir, "src") }), /data dir/);
  const ok = checkProjectPath(dir, "src/new/deep.txt", "write");
  assert.equal(ok.rel, "src/new/deep.txt");
  assert.equal(ok.exists, false);
  writeProjectFile(dir, "src/new/deep.txt", "hello");
  assert.equal(readFileSync(join(dir, "src", "new", "deep.txt"), "utf8"), "hello");
  assert.equal(readFileSync(join(root, "outside.txt"), "utf8"), "outside");
  assert.equal(existsSync(join(root, "new")), false);
});

test("workflow writeFile: every protected place and every link is refused, nothing written; the policy is asked last", () => {
  const { root, dir } = project();
  mkdirSync(join(dir, "a", ".git", "hooks"), { recursive: true });
  symlinkSync(root, join(dir, "escape"));
  const asked: string[] = [];
  const files = projectFiles(dir, {
    policy: (rel) => (asked.push(rel), rel.endsWith(".secret") ? "edit is denied" : undefined),
  });
  for (const path of [
    ".opencode/plugins/zz.ts",
    "opencode.json",
    "sub/opencode.jsonc",
    "a/.git/hooks/pre-commit",
    ".git/config",
    "node_modules/x.js",
    "escape/pwned.txt",
    join(root, "abs.txt"),
  ]) {
    assert.throws(() => files.writeFile(path, "x"), /writeFile: /, path);
  }
  assert.throws(() => files.writeFile("escape/pwned.txt", "x"), /symlink/);
  assert.deepEqual(asked, [], "the policy is not asked for a path that is refused anyway");
  assert.throws(() => files.writeFile("notes.secret", "x"), /edit is denied/);
  assert.equal(files.writeFile("src/ok.txt", "fine"), true);
  assert.deepEqual(asked, ["notes.secret", "src/ok.txt"]);
  for (const gone of [
    ".opencode",
    "opencode.json",
    "sub",
    "a/.git/hooks/pre-commit",
    "node_modules",
    "notes.secret",
    "pwned.txt",
  ]) {
    assert.equal(existsSync(join(dir, gone)) || existsSync(join(root, gone)), false, gone);
  }
  assert.equal(readFileSync(join(dir, "src", "ok.txt"), "utf8"), "fine");
});
