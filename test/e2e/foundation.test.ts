// The foundation inside real OpenCode: installed as install.sh does, the plugin loads, its hooks fire, its tools
// reach the model, user overrides win, and bad config, a corrupt DB or an unwritable data dir never stop OpenCode.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { opencodeBinary, REPO_ROOT } from "../harness/env.ts";
import { withOpencode, type Opencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { packAssetFiles, type AssetKind } from "../../plugins/core/assets.ts";

/** The names of the pack's agents or commands, as the loader finds them in the feature folders. */
const shipped = (kind: AssetKind) =>
  packAssetFiles()
    .filter((a) => a.kind === kind)
    .map((a) => a.name);

after(killAll);

interface Trace {
  event: string;
  hook?: string;
  tools?: string[];
  features?: string[];
}

function readTrace(file: string): Trace[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Trace);
}

/** Every test here: a model that always answers, the pack installed unless the test installs it itself. */
function withEnv(fn: (opencode: Opencode) => Promise<void>, continuumConfig?: Record<string, unknown>, install = true) {
  return withOpencode({ model: { exhausted: { text: "scripted answer" } }, env: { continuumConfig }, install }, fn);
}

test("installed as install.sh does: the plugin loads in real OpenCode, hooks fire and pack tools reach the model", async () => {
  await withEnv(async ({ env, model }) => {
    const trace = join(env.root, "trace.jsonl");
    const run = await opencodeRun(env, "hello from the foundation test", {
      extraEnv: { CONTINUUM_DOCTOR_REPORT: trace },
    });
    assert.equal(run.code, 0, run.stderr);
    const records = readTrace(trace);
    const loaded = records.find((r) => r.event === "loaded");
    assert.ok(loaded, "the plugin reported that it loaded");
    assert.ok(loaded.tools!.length > 0, "the pack registers tools");
    const hooks = records.filter((r) => r.event === "hook").map((r) => r.hook);
    assert.ok(hooks.includes("chat.message"), `chat.message fired (fired: ${hooks.join(", ")})`);
    assert.ok(hooks.includes("event"), "event fired");
    const main = model.lane("main");
    assert.ok(main.length >= 1, "the model was called");
    // Some pack tools are meant for the pack's own hidden agents only (a judge's verdict tool, say); the main
    // agent must still see the pack's working tools.
    const offered = loaded.tools!.filter((tool) => main[0]!.tools.includes(tool));
    assert.ok(offered.length > 0, `pack tools offered to the model (got ${main[0]!.tools.join(", ")})`);
    if (loaded.features!.includes("tasks")) assert.ok(offered.includes("tasks"), "the tasks tool is offered");
    for (const internal of ["checkpoint_write", "goal_verdict"]) {
      assert.ok(loaded.tools!.includes(internal), `${internal} is registered`);
      assert.ok(
        !main[0]!.tools.includes(internal),
        `${internal} is kept from the main agent (only its hidden agent may call it)`,
      );
    }
    assert.ok(main[0]!.tools.includes("bash"), "OpenCode's own tools are still there");
  });
});

test("a feature switched off in continuum.jsonc registers nothing; the others still load", async () => {
  await withEnv(
    async ({ env, model }) => {
      const trace = join(env.root, "trace.jsonl");
      const run = await opencodeRun(env, "hello", { extraEnv: { CONTINUUM_DOCTOR_REPORT: trace } });
      assert.equal(run.code, 0, run.stderr);
      const loaded = readTrace(trace).find((r) => r.event === "loaded")!;
      assert.ok(!loaded.features!.includes("tasks"), "tasks is off");
      assert.ok(!model.lane("main")[0]!.tools.includes("tasks"), "its tool is not offered");
      assert.ok(loaded.features!.length > 0, "other features still load");
    },
    { tasks: { enabled: false } },
  );
});

test("a per-project override of a pack agent wins, and the built-in build and plan agents are untouched", async () => {
  await withEnv(
    async ({ env }) => {
      const debugAgent = (name: string) =>
        execFileSync(opencodeBinary(), ["debug", "agent", name], {
          cwd: env.projectDir,
          env: env.env,
          encoding: "utf8",
        });
      // The definition, without what concerns the pack's own tools, agents and skills: the list of tools available
      // (which rightly grows), rules that keep pack-internal tools (a judge's verdict tool) and the pack's hidden
      // helper agents (out of OpenCode's task tool) away from the main agents, and the read access OpenCode itself
      // grants to every installed skill's folder.
      const packSkills = readdirSync(join(REPO_ROOT, "skills"));
      const packAgents = new Set(shipped("agents"));
      const definition = (name: string) => {
        const {
          tools: _tools,
          permission,
          ...rest
        } = JSON.parse(debugAgent(name)) as { tools: unknown; permission: { permission: string; pattern: string }[] };
        const packTools = new Set(
          Object.keys(_tools as Record<string, unknown>).filter((tool) => !builtinTools.has(tool)),
        );
        const skillAccess = (rule: { permission: string; pattern: string }) =>
          rule.permission === "external_directory" &&
          packSkills.some((skill) => rule.pattern.includes(`/skills/${skill}`));
        const packAgentTask = (rule: { permission: string; pattern: string }) =>
          rule.permission === "task" && packAgents.has(rule.pattern);
        // The pack's skills kept to the pack's own agents (so other agents' requests do not list them).
        const packSkillRule = (rule: { permission: string; pattern: string }) =>
          rule.permission === "skill" && packSkills.includes(rule.pattern);
        return {
          ...rest,
          permission: permission.filter(
            (rule) =>
              !packTools.has(rule.permission) && !skillAccess(rule) && !packAgentTask(rule) && !packSkillRule(rule),
          ),
        };
      };
      const builtinTools = new Set(
        Object.keys((JSON.parse(debugAgent("build")) as { tools: Record<string, unknown> }).tools),
      );
      const buildBefore = definition("build");
      const planBefore = definition("plan");
      installPack(env);
      assert.deepEqual(definition("build"), buildBefore, "build unchanged by the pack");
      assert.deepEqual(definition("plan"), planBefore, "plan unchanged by the pack");
      const agents = shipped("agents");
      assert.ok(agents.length > 0, "the pack ships agents");
      const name = agents[0]!;
      assert.match(debugAgent(name), new RegExp(`"name": "${name}"`), "the pack's agent is registered");
      mkdirSync(join(env.projectDir, ".opencode", "agents"), { recursive: true });
      writeFileSync(
        join(env.projectDir, ".opencode", "agents", `${name}.md`),
        "---\ndescription: project override\n---\nOVERRIDDEN PROMPT for this project\n",
      );
      const overridden = JSON.parse(debugAgent(name)) as { description: string; prompt: string };
      assert.equal(overridden.description, "project override");
      assert.match(overridden.prompt, /OVERRIDDEN PROMPT/);
    },
    undefined,
    false,
  );
});

test("a per-project override of a pack command wins", async () => {
  await withEnv(async ({ env, model }) => {
    const commands = shipped("commands");
    assert.ok(commands.length > 0, "the pack ships commands");
    const name = commands[0]!;
    mkdirSync(join(env.projectDir, ".opencode", "commands"), { recursive: true });
    writeFileSync(
      join(env.projectDir, ".opencode", "commands", `${name}.md`),
      "---\ndescription: mine\n---\nPROJECT COMMAND OVERRIDE $ARGUMENTS\n",
    );
    const run = await opencodeRun(env, "with-args", { args: ["--command", name] });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      model.lane("main").some((r) => r.raw.includes("PROJECT COMMAND OVERRIDE with-args")),
      "the user's template reached the model",
    );
  });
});

test("an invalid continuum.jsonc is reported with file and key, and OpenCode keeps working with defaults", async () => {
  await withEnv(
    async ({ env, model }) => {
      const run = await opencodeRun(env, "still works?", { args: ["--print-logs"] });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /continuum\.jsonc: memory\.injectBudgetTokens: .*expected number/);
      assert.match(run.stderr, /unknown key/);
      assert.ok(model.lane("main").length >= 1, "the turn reached the model");
    },
    { memory: { injectBudgetTokens: "lots" }, surprise: true },
  );
});

test("a corrupt database file is moved aside, reported, and OpenCode keeps working", async () => {
  await withEnv(async ({ env, model }) => {
    mkdirSync(env.packDataDir, { recursive: true });
    writeFileSync(join(env.packDataDir, "continuum.db"), "definitely not sqlite ".repeat(500));
    const run = await opencodeRun(env, "hello", { args: ["--print-logs"] });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /database was damaged/);
    assert.ok(
      readdirSync(env.packDataDir).some((n) => n.startsWith("continuum.db.corrupt-")),
      "the damaged file was kept aside",
    );
    assert.ok(model.lane("main").length >= 1);
  });
});

test("an unwritable data dir switches storage features off with a message; OpenCode keeps working", async () => {
  await withEnv(async ({ env, model }) => {
    // A file where the data dir should be: unwritable even for root (who ignores permission bits).
    rmSync(env.packDataDir, { recursive: true, force: true });
    writeFileSync(env.packDataDir, "not a directory");
    const run = await opencodeRun(env, "hello", { args: ["--print-logs"] });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /storage unavailable/);
    assert.ok(model.lane("main").length >= 1);
  });
});
