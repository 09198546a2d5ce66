// install.sh end to end: project and global installs with the doctor's real round trip, idempotence, refusal to
// overwrite a user's file, a failing doctor, and an uninstall that leaves the config dir exactly as it was.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { execFileSync, spawnSync } from "node:child_process";
import { runInstallScript, uninstallPack } from "../harness/install.ts";
import { snapshotTree } from "../harness/snapshot.ts";
import { killAll, opencodeServe } from "../harness/opencode.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

// No scripted model and no pack installed up front: the doctor brings its own model, and each test installs.

test("project install: doctor passes, re-install is idempotent, uninstall restores .opencode exactly", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const configDir = join(env.projectDir, ".opencode");
    const before = snapshotTree(configDir);
    const excludeBefore = readFileSync(join(env.projectDir, ".git", "info", "exclude"), "utf8");
    const first = runInstallScript(env, ["--project", env.projectDir]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /wrote .*\.opencode\/plugins\/continuum\.ts/);
    assert.match(first.stdout, /ok +plugin loaded/);
    assert.match(first.stdout, /ok +hook fired/);
    assert.match(first.stdout, /ok +pack tool offered to the model/);
    assert.match(first.stdout, /ok +upstream: [\d.]+ inside the tested range .*experimental\.session\.compacting/);
    assert.match(first.stdout, /doctor: all checks passed/);
    const skills = execFileSync(opencodeBinary(), ["debug", "skill"], {
      cwd: env.projectDir,
      env: env.env,
      encoding: "utf8",
    });
    assert.match(skills, /"name": "continuum-memory"/, "the pack's skill is visible to OpenCode");
    const shim = readFileSync(join(configDir, "plugins", "continuum.ts"), "utf8");
    assert.match(shim, /const entry = ".*\/plugins\/continuum\.ts";/);
    assert.match(
      shim,
      /^export default \{ id: "opencode-continuum", server \};$/m,
      "the shim is export-clean: one default export",
    );
    const exclude = readFileSync(join(env.projectDir, ".git", "info", "exclude"), "utf8");
    assert.match(exclude, /^\/\.opencode\/plugins\/continuum\.ts$/m, "the machine-local shim is kept out of git");
    assert.equal(
      existsSync(join(configDir, "skills", "continuum-memory")),
      false,
      "skills are offered by the plugin, not linked into the config dir",
    );
    assert.equal(
      execFileSync("git", ["status", "--porcelain", "--untracked-files=all", ".opencode"], {
        cwd: env.projectDir,
        encoding: "utf8",
      }).includes("continuum"),
      false,
    );

    const second = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /kept .*continuum\.ts \(already current\)/);

    const removed = uninstallPack(env);
    assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    assert.match(removed.stdout, /memory, checkpoints and settings were left in place/);
    assert.deepEqual(snapshotTree(configDir), before, "the config dir is as it was before install");
    assert.equal(
      readFileSync(join(env.projectDir, ".git", "info", "exclude"), "utf8"),
      excludeBefore,
      "git's exclude list is as it was",
    );
  });
});

test("a project that had no .opencode at all gets none back after uninstall, even after the doctor ran OpenCode there", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const configDir = join(env.projectDir, ".opencode");
    // Start from a project OpenCode has never touched.
    rmSync(configDir, { recursive: true, force: true });
    const installed = runInstallScript(env, ["--project", env.projectDir]);
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    assert.ok(existsSync(join(configDir, "plugins", "continuum.ts")));
    const removed = uninstallPack(env);
    assert.equal(removed.code, 0, removed.stdout);
    assert.equal(existsSync(configDir), false, `.opencode removed: ${removed.stdout}`);
  });
});

test("global install and uninstall leave the global config dir as it was", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    writeFileSync(join(env.globalConfigDir, "opencode.json"), JSON.stringify({ theme: "user-choice" }));
    const before = snapshotTree(env.globalConfigDir);
    const installed = runInstallScript(env, []);
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    assert.ok(existsSync(join(env.globalConfigDir, "plugins", "continuum.ts")));
    assert.match(installed.stdout, /doctor: all checks passed/);
    assert.equal(uninstallPack(env, "global").code, 0);
    assert.deepEqual(snapshotTree(env.globalConfigDir), before);
  });
});

test("a user's own skill of the same name is never touched, and it is the one OpenCode shows", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const mine = join(env.projectDir, ".opencode", "skills", "continuum-memory");
    mkdirSync(mine, { recursive: true });
    writeFileSync(join(mine, "SKILL.md"), "---\nname: continuum-memory\ndescription: my own version\n---\nmine\n");
    const installed = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.equal(installed.code, 0, installed.stderr);
    const skills = JSON.parse(
      execFileSync(opencodeBinary(), ["debug", "skill"], { cwd: env.projectDir, env: env.env, encoding: "utf8" }),
    ) as { name: string; description: string }[];
    assert.deepEqual(
      skills.filter((s) => s.name === "continuum-memory").map((s) => s.description),
      ["my own version"],
      "only the user's skill is there",
    );
    // A global install beside it leaves the project's file alone too, and the project's skill is still the one shown.
    assert.equal(runInstallScript(env, ["--no-doctor"]).code, 0);
    const again = JSON.parse(
      execFileSync(opencodeBinary(), ["debug", "skill"], { cwd: env.projectDir, env: env.env, encoding: "utf8" }),
    ) as { name: string; description: string }[];
    assert.deepEqual(
      again.filter((s) => s.name === "continuum-memory").map((s) => s.description),
      ["my own version"],
    );
    assert.equal(uninstallPack(env, "global").code, 0);
    assert.equal(uninstallPack(env).code, 0);
    assert.match(readFileSync(join(mine, "SKILL.md"), "utf8"), /my own version/);
  });
});

test("install never overwrites a plugin file the user owns", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const mine = join(env.projectDir, ".opencode", "plugins", "continuum.ts");
    mkdirSync(join(mine, ".."), { recursive: true });
    writeFileSync(mine, "export default { id: 'mine', server: async () => ({}) };\n");
    const result = runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /was not written by opencode-continuum/);
    assert.match(readFileSync(mine, "utf8"), /id: 'mine'/);
  });
});

test("a failing doctor exits non-zero and says why", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const result = runInstallScript(env, ["--project", env.projectDir, "--opencode", "/bin/false"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout, /FAIL opencode ran: exit 1/);
    assert.match(result.stdout, /FAIL plugin loaded/);
    assert.match(result.stdout, /doctor: FAILED/);
  });
});

test("uninstall without an install says so instead of deleting anything", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const result = uninstallPack(env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not installed/);
  });
});

test("install.sh rejects unknown options and a missing project directory clearly", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const unknown = runInstallScript(env, ["--frobnicate"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /frobnicate/);
    const misplaced = runInstallScript(env, ["--purge-data"]);
    assert.notEqual(misplaced.code, 0, "an uninstall option given to install is refused, not ignored");
    assert.match(misplaced.stderr, /purge-data/);
    const missing = runInstallScript(env, ["--project", join(env.root, "nope")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not a directory/);
  });
});

/** Everything a scope's install and use leave behind: the config dir, the data dir, git's exclude list. */
function state(env: IsolatedEnv, configDir: string) {
  const exclude = join(env.projectDir, ".git", "info", "exclude");
  return {
    configExists: existsSync(configDir),
    config: snapshotTree(configDir),
    dataExists: existsSync(env.packDataDir),
    data: snapshotTree(env.packDataDir),
    exclude: existsSync(exclude) ? readFileSync(exclude, "utf8") : null,
  };
}

/** The pack's CLI, as a user runs it, in the test's isolated environment. */
function cli(env: IsolatedEnv, ...args: string[]) {
  return spawnSync(process.execPath, [join(REPO_ROOT, "plugins", "cli", "continuum.mjs"), ...args], {
    cwd: env.projectDir,
    env: { ...env.env },
    encoding: "utf8",
  });
}

test("install, uninstall and purge in every order leave the config dir, the data dir and git's exclude list as before", async () => {
  const sequences: string[][][] = [
    [["install"], ["uninstall"], ["install"], ["uninstall", "--purge-data"]],
    [["install"], ["uninstall", "--purge-data"]],
    [["install"], ["uninstall"], ["uninstall", "--purge-data"]],
    [["install"], ["install"], ["--purge-data", "uninstall"]],
  ];
  for (const sequence of sequences) {
    await withOpencode({ model: false, install: false }, async ({ env }) => {
      const configDir = join(env.projectDir, ".opencode");
      rmSync(configDir, { recursive: true, force: true });
      const before = state(env, configDir);
      for (const step of sequence) {
        const install = step.includes("install");
        // The options after the project, --uninstall last: the order a user types is theirs.
        const args = [
          "--project",
          env.projectDir,
          ...(install ? ["--no-doctor"] : step.filter((s) => s !== "uninstall")),
          ...(install ? [] : ["--uninstall"]),
        ];
        const result = runInstallScript(env, args);
        assert.equal(
          result.code,
          0,
          `${sequence.map((s) => s.join(" ")).join(" → ")}: ${args.join(" ")}\n${result.stdout}${result.stderr}`,
        );
        if (install) {
          // The pack is used between install and uninstall: a memory entry, so there is data to purge.
          const remembered = cli(env, "memory", "path", "--project", env.projectDir, "--json");
          const file = (JSON.parse(remembered.stdout) as { projectFile: string }).projectFile;
          mkdirSync(join(file, ".."), { recursive: true });
          writeFileSync(file, "# Project memory\n\n## Rules\n\n- Keep the changelog current\n");
          assert.equal(cli(env, "memory", "reindex", "--project", env.projectDir).status, 0);
        }
      }
      const after = state(env, configDir);
      assert.deepEqual(after, before, `after ${sequence.map((s) => s.join(" ")).join(" → ")}`);
    });
  }
});

test("a .opencode the install created goes away on uninstall with OpenCode's own files in it, without the doctor", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const configDir = join(env.projectDir, ".opencode");
    rmSync(configDir, { recursive: true, force: true });
    assert.equal(runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]).code, 0);
    // The real OpenCode starts in the project and writes its own files into the config dir.
    execFileSync(opencodeBinary(), ["debug", "config"], {
      cwd: env.projectDir,
      env: { ...env.env, PWD: env.projectDir },
      encoding: "utf8",
    });
    assert.ok(existsSync(join(configDir, ".gitignore")), "OpenCode wrote its .gitignore");
    const removed = uninstallPack(env);
    assert.equal(removed.code, 0, removed.stdout + removed.stderr);
    assert.equal(existsSync(configDir), false, removed.stdout);
  });
});

test("a global purge keeps the manifests of project installs still in place, and a project purge keeps other projects' rows", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    assert.equal(runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]).code, 0);
    assert.equal(runInstallScript(env, ["--no-doctor"]).code, 0);
    const purged = runInstallScript(env, ["--purge-data", "--uninstall"]);
    assert.equal(purged.code, 0, purged.stdout + purged.stderr);
    assert.match(purged.stdout, /except the manifests of 1 project install\(s\) still in place/);
    const project = uninstallPack(env);
    assert.equal(project.code, 0, `the project install can still be removed: ${project.stdout}${project.stderr}`);
    assert.equal(existsSync(join(env.projectDir, ".opencode", "plugins", "continuum.ts")), false);
  });
});

test("a deleted or moved checkout: the next OpenCode start says so once (toast and log) instead of running silently without the pack", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    assert.equal(runInstallScript(env, ["--project", env.projectDir, "--no-doctor"]).code, 0);
    const shimPath = join(env.projectDir, ".opencode", "plugins", "continuum.ts");
    const gone = join(env.root, "moved-away", "plugins", "continuum.ts");
    // The checkout the shim imports is no longer there (the same as `rm -rf` of the clone).
    writeFileSync(
      shimPath,
      readFileSync(shimPath, "utf8").replace(/const entry = ".*";/, `const entry = ${JSON.stringify(gone)};`),
    );
    const served = await opencodeServe(env, { startTimeoutMs: 120000 });
    try {
      // The user starts working: the first session activity brings the toast (a TUI connects after start-up).
      await served.client.session.create({ body: {} });
      const toast = await served.waitForEvent(
        (e) => e.type === "tui.toast.show" && String(e.properties.message).includes("could not load"),
        30000,
        "the broken-install toast",
      );
      assert.match(
        String(toast.properties.message),
        new RegExp(
          `opencode-continuum is installed but could not load from ${gone.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
        ),
      );
      assert.match(String(toast.properties.message), /Run install\.sh again from the checkout you keep/);
      assert.match(served.output(), /level=ERROR .*opencode-continuum is installed but could not load/);
      assert.equal(served.events.filter((e) => e.type === "tui.toast.show").length, 1, "told once");
    } finally {
      await served.stop();
    }
    const doctor = cli(env, "doctor", "--project", env.projectDir, "--json");
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks;
    assert.equal(doctor.status, 1);
    assert.match(checks.find((c) => c.name === "installed plugin")!.detail, /which is gone; run install\.sh again/);
  });
});
