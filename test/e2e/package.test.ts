// The pack the way a user gets it: `npm pack` (compiled dist/, no TypeScript at run time) published to a registry
// on 127.0.0.1, a fresh project whose opencode.json lists only `opencode-continuum@<version>`, and OpenCode
// installing it on first start. Then the npx installer and uninstaller round-trip a commented opencode.jsonc.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAll } from "../harness/opencode.ts";
import { withOpencode } from "../harness/fixture.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import { opencodeBinary } from "../harness/env.ts";
import { packAndPublish, startRegistry, type Registry } from "../harness/registry.ts";
import { createSession, send, until } from "../harness/session.ts";
import { goalCommand, shownAnswers } from "./goal-support.ts";

after(killAll);

const VERSION = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
const SPEC = `opencode-continuum@${VERSION}`;
const started = Date.now();
/** Progress on stderr, so a slow or stuck run shows where it is. */
const step = (what: string) => console.error(`package.test +${Math.round((Date.now() - started) / 1000)} s: ${what}`);
const RULE = "Deploys go through the staging gate first (heron protocol)";

const COMMENTED = `{
  // my own settings, kept as they are
  "$schema": "https://opencode.ai/config.json",
  "plugin": [
    "opencode-other-plugin@1.0.0", /* a neighbour */
  ],
  "share": "disabled", // trailing comma next
}
`;

/** npx as a user runs it, against the test's registry; scripts off so better-sqlite3 is not compiled here. */
function npx(env: IsolatedEnv, registry: Registry, args: string[]) {
  const started = Date.now();
  // Outside this repository: below its package.json npx would take the checkout for the package and find no bin.
  const result = spawnSync("npx", ["--yes", SPEC, ...args], {
    cwd: tmpdir(),
    encoding: "utf8",
    timeout: 120000,
    env: {
      ...env.env,
      npm_config_registry: registry.url,
      npm_config_cache: join(env.root, "npm-cache"),
      npm_config_ignore_scripts: "true",
      npm_config_update_notifier: "false",
      OPENCODE_BIN: opencodeBinary(),
    },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}`, ms: Date.now() - started };
}

test("published package: OpenCode installs it from opencode.json; npx install/uninstall round-trip opencode.jsonc", {
  timeout: 480000,
}, async () => {
  const scratch = join(process.cwd(), "test", ".tmp");
  mkdirSync(scratch, { recursive: true });
  const registryDir = join(scratch, `registry-${process.pid}`);
  const registry = await startRegistry(registryDir);
  try {
    step("registry up");
    const { tarball, packMs, publishMs } = packAndPublish(registry, registryDir);
    const packed = spawnSync("tar", ["tzf", tarball], { encoding: "utf8" }).stdout.split("\n");
    assert.ok(packed.includes("package/dist/continuum.js") && packed.includes("package/dist/cli/continuum.js"));
    assert.ok(packed.includes("package/dist/continuum.d.ts"), "types of the plugin entry");
    assert.equal(packed.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).length, 0, "no TypeScript sources");
    const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as Record<string, any>;
    assert.equal(pkg.dependencies.tsx, undefined, "tsx is not a run-time dependency");

    step("packed and published");
    const startedAt = Date.now();
    await withOpencode(
      {
        install: false,
        model: {
          main: [
            { toolCalls: [{ name: "memory", args: { action: "remember", section: "Rules", text: RULE } }] },
            { text: "Remembered." },
          ],
          exhausted: { text: "nothing more scripted" },
        },
        env: {
          opencodeConfig: { plugin: [SPEC], snapshot: false },
          continuumConfig: { checkpoint: { enabled: false } },
        },
        serve: { extraEnv: { npm_config_registry: registry.url }, startTimeoutMs: 120000 },
      },
      async ({ env, model, served }) => {
        step("OpenCode started with the package installed");
        const firstStartMs = Date.now() - startedAt;
        const installed = join(env.root, "cache", "opencode", "packages", SPEC, "node_modules", "opencode-continuum");
        assert.ok(existsSync(join(installed, "dist", "continuum.js")), "OpenCode installed the package in its cache");
        const agents = ((await served.client.app.agents()).data ?? []).map((a) => a.name);
        for (const name of ["goal-judge", "max", "dream", "distill"]) assert.ok(agents.includes(name), name);
        const commands = ((await served.client.command.list()).data ?? []).map((c) => c.name);
        for (const name of ["goal", "max", "dream", "memory", "compose-plan"]) assert.ok(commands.includes(name), name);

        const session = await createSession(served);
        await send(served, session, "remember the deploy rule");
        await until(() => model.lane("main").length >= 2, 30000, "the turn after the memory tool call");
        const first = model.lane("main")[0]!;
        assert.ok(first.tools.includes("memory"), `the pack's tools are offered: ${first.tools.join(", ")}`);
        const toolResult = model.lane("main")[1]!.body.messages.find((m) => m.role === "tool");
        assert.doesNotMatch(JSON.stringify(toolResult?.content), /error/i, "the memory call succeeded");
        const memory = readdirSync(env.packDataDir, { recursive: true })
          .map(String)
          .filter((f) => f.endsWith(".md"));
        assert.ok(
          memory.some((f) => readFileSync(join(env.packDataDir, f), "utf8").includes(RULE)),
          `the rule is in project memory: ${memory.join(", ")}`,
        );

        step("memory tool call done");
        const goal = await goalCommand(served.client, session, "");
        assert.equal(goal.error, undefined, JSON.stringify(goal.error));
        const shown = (await shownAnswers(served.client, session)).join("\n");
        assert.match(shown, /goal/i, "/goal answers");

        const project = join(env.root, "jsonc-project");
        mkdirSync(project);
        const file = join(project, "opencode.jsonc");
        writeFileSync(file, COMMENTED);
        step("/goal answered; npx install");
        const install = npx(env, registry, ["install", "--project", project]);
        assert.equal(install.code, 0, install.out);
        assert.match(install.out, /from the package: the plugin entry/);
        assert.match(install.out, /doctor: all checks passed/, install.out);
        const edited = readFileSync(file, "utf8");
        assert.match(edited, new RegExp(`"opencode-other-plugin@1\\.0\\.0", /\\* a neighbour \\*/[\\s\\S]*"${SPEC}"`));
        assert.match(edited, /\/\/ my own settings, kept as they are/);
        step("npx uninstall");
        const uninstall = npx(env, registry, ["uninstall", "--project", project]);
        assert.equal(uninstall.code, 0, uninstall.out);
        assert.equal(readFileSync(file, "utf8"), COMMENTED, "byte for byte as before install");

        const bare = join(env.root, "bare-project");
        mkdirSync(bare);
        assert.equal(npx(env, registry, ["install", "--project", bare, "--no-doctor"]).code, 0);
        assert.deepEqual(JSON.parse(readFileSync(join(bare, "opencode.json"), "utf8")).plugin, [SPEC]);
        assert.equal(npx(env, registry, ["uninstall", "--project", bare]).code, 0);
        assert.deepEqual(readdirSync(bare), [], "the file the installer created is gone");
        console.log(
          `package: first start with install ${firstStartMs} ms, installed ${spawnSync("du", ["-sh", join(installed, "..", "..")], { encoding: "utf8" }).stdout.split("\t")[0]}, pack ${packMs} ms, publish ${publishMs} ms, npx install with doctor ${install.ms} ms, uninstall ${uninstall.ms} ms`,
        );
      },
    );
  } finally {
    await registry.stop();
    rmSync(registryDir, { recursive: true, force: true });
  }
});
