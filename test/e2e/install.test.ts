// install.sh end to end: project and global installs with the doctor's real round trip, idempotence, refusal to
// overwrite a user's file, a failing doctor, and an uninstall that leaves the config dir exactly as it was.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createIsolatedEnv, opencodeBinary, type IsolatedEnv } from "../harness/env.ts";
import { execFileSync } from "node:child_process";
import { runInstallScript, uninstallPack } from "../harness/install.ts";
import { snapshotTree } from "../harness/snapshot.ts";
import { killAll } from "../harness/opencode.ts";

after(killAll);

function freshEnv(): IsolatedEnv {
  // The doctor brings its own scripted model; the project's model URL is never used here.
  return createIsolatedEnv({ baseURL: "http://127.0.0.1:9/v1" });
}

test("project install: doctor passes, re-install is idempotent, uninstall restores .opencode exactly", () => {
  const env = freshEnv();
  try {
    const configDir = join(env.projectDir, ".opencode");
    const before = snapshotTree(configDir);
    const first = runInstallScript(env, ["--project", env.projectDir]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /wrote .*\.opencode\/plugins\/continuum\.ts/);
    assert.match(first.stdout, /ok +plugin loaded/);
    assert.match(first.stdout, /ok +hook fired/);
    assert.match(first.stdout, /ok +pack tool offered to the model/);
    assert.match(first.stdout, /doctor: all checks passed/);
    const skills = execFileSync(opencodeBinary(), ["debug", "skill"], { cwd: env.projectDir, env: env.env, encoding: "utf8" });
    assert.match(skills, /"name": "continuum-memory"/, "the pack's skill is visible to OpenCode");
    const shim = readFileSync(join(configDir, "plugins", "continuum.ts"), "utf8");
    assert.match(shim, /export \{ default \} from ".*\/plugins\/continuum\.ts";/);

    const second = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /kept .*continuum\.ts \(already current\)/);

    const removed = uninstallPack(env);
    assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    assert.match(removed.stdout, /memory, checkpoints and settings were left in place/);
    assert.deepEqual(snapshotTree(configDir), before, "the config dir is as it was before install");
  } finally {
    env.cleanup();
  }
});

test("a project that had no .opencode at all gets none back after uninstall, even after the doctor ran OpenCode there", () => {
  const env = freshEnv();
  try {
    const configDir = join(env.projectDir, ".opencode");
    // Start from a project OpenCode has never touched.
    rmSync(configDir, { recursive: true, force: true });
    const installed = runInstallScript(env, ["--project", env.projectDir]);
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    assert.ok(existsSync(join(configDir, "plugins", "continuum.ts")));
    const removed = uninstallPack(env);
    assert.equal(removed.code, 0, removed.stdout);
    assert.equal(existsSync(configDir), false, `.opencode removed: ${removed.stdout}`);
  } finally {
    env.cleanup();
  }
});

test("global install and uninstall leave the global config dir as it was", () => {
  const env = freshEnv();
  try {
    writeFileSync(join(env.globalConfigDir, "opencode.json"), JSON.stringify({ theme: "user-choice" }));
    const before = snapshotTree(env.globalConfigDir);
    const installed = runInstallScript(env, []);
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    assert.ok(existsSync(join(env.globalConfigDir, "plugins", "continuum.ts")));
    assert.match(installed.stdout, /doctor: all checks passed/);
    assert.equal(uninstallPack(env, "global").code, 0);
    assert.deepEqual(snapshotTree(env.globalConfigDir), before);
  } finally {
    env.cleanup();
  }
});

test("a user's own skill of the same name is never touched: a project install does not link over it", () => {
  const env = freshEnv();
  try {
    const mine = join(env.projectDir, ".opencode", "skills", "continuum-memory");
    mkdirSync(mine, { recursive: true });
    writeFileSync(join(mine, "SKILL.md"), "---\nname: continuum-memory\ndescription: my own version\n---\nmine\n");
    const installed = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, /kept your own skill .*continuum-memory/);
    const skills = JSON.parse(execFileSync(opencodeBinary(), ["debug", "skill"], { cwd: env.projectDir, env: env.env, encoding: "utf8" })) as { name: string; description: string }[];
    assert.deepEqual(skills.filter((s) => s.name === "continuum-memory").map((s) => s.description), ["my own version"], "only the user's skill is there");
    // A global install beside it leaves the project's file alone too (which of two same-named skills OpenCode
    // 1.18.33 shows is its own choice: it picks either, so the README advises a project install to override).
    assert.equal(runInstallScript(env, ["--no-doctor"]).code, 0);
    assert.equal(uninstallPack(env, "global").code, 0);
    assert.equal(uninstallPack(env).code, 0);
    assert.match(readFileSync(join(mine, "SKILL.md"), "utf8"), /my own version/);
  } finally {
    env.cleanup();
  }
});

test("install never overwrites a plugin file the user owns", () => {
  const env = freshEnv();
  try {
    const mine = join(env.projectDir, ".opencode", "plugins", "continuum.ts");
    mkdirSync(join(mine, ".."), { recursive: true });
    writeFileSync(mine, "export default { id: 'mine', server: async () => ({}) };\n");
    const result = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /was not written by opencode-continuum/);
    assert.match(readFileSync(mine, "utf8"), /id: 'mine'/);
  } finally {
    env.cleanup();
  }
});

test("a failing doctor exits non-zero and says why", () => {
  const env = freshEnv();
  try {
    const result = runInstallScript(env, ["--project", env.projectDir, "--opencode", "/bin/false"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout, /FAIL opencode ran: exit 1/);
    assert.match(result.stdout, /FAIL plugin loaded/);
    assert.match(result.stdout, /doctor: FAILED/);
  } finally {
    env.cleanup();
  }
});

test("uninstall without an install says so instead of deleting anything", () => {
  const env = freshEnv();
  try {
    const result = uninstallPack(env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not installed/);
  } finally {
    env.cleanup();
  }
});

test("install.sh rejects unknown options and a missing project directory clearly", () => {
  const env = freshEnv();
  try {
    const unknown = runInstallScript(env, ["--frobnicate"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /frobnicate/);
    const misplaced = runInstallScript(env, ["--purge-data"]);
    assert.notEqual(misplaced.code, 0, "an uninstall option given to install is refused, not ignored");
    assert.match(misplaced.stderr, /purge-data/);
    const missing = runInstallScript(env, ["--project", join(env.root, "nope")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not a directory/);
  } finally {
    env.cleanup();
  }
});
