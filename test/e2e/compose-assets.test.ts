// Compose's assets in real OpenCode: the compose-* skills are listed by OpenCode's own skill discovery, a user's
// override of one wins whichever way the pack is installed, `compose` is a primary agent, `/compose` reaches the
// model with the flow, and the built-in build and plan agents are unchanged by it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { installPack, uninstallPack } from "../harness/install.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { packAssetFiles } from "../../plugins/core/assets.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

const COMPOSE_SKILLS = [
  "brainstorm",
  "spec",
  "plan",
  "tdd",
  "debug",
  "review",
  "verify",
  "worktree",
  "parallel",
  "merge",
  "report",
].map((s) => `compose-${s}`);

interface SkillInfo {
  name: string;
  description: string;
  location: string;
}

function debug(env: IsolatedEnv, ...args: string[]): string {
  return execFileSync(opencodeBinary(), ["debug", ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });
}
const skills = (env: IsolatedEnv) => JSON.parse(debug(env, "skill")) as SkillInfo[];

function writeOverride(dir: string, name: string, description: string) {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(
    join(dir, name, "SKILL.md"),
    `---\nname: ${name}\ndescription: ${description}\n---\nThe project's own way of doing ${name}.\n`,
  );
}

test("every compose skill is listed by OpenCode with its description, and uninstall takes them away", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    assert.deepEqual(
      skills(env).filter((s) => s.name.startsWith("compose-")),
      [],
      "none before install",
    );
    installPack(env);
    const listed = skills(env);
    for (const name of COMPOSE_SKILLS) {
      const skill = listed.find((s) => s.name === name);
      assert.ok(skill, `${name} is listed`);
      assert.ok(skill.description.length > 40, `${name} says when to load it`);
      const body = readFileSync(join(REPO_ROOT, "skills", name, "SKILL.md"), "utf8");
      assert.match(body, /## Done when/, `${name} states its exit criteria`);
    }
    const shipped = readdirSync(join(REPO_ROOT, "skills"));
    for (const name of shipped)
      assert.ok(
        listed.some((s) => s.name === name),
        `pack skill ${name} is linked at install`,
      );
    assert.equal(uninstallPack(env).code, 0);
    assert.deepEqual(
      skills(env).filter((s) => shipped.includes(s.name)),
      [],
      "uninstall removes every pack skill",
    );
  });
});

test("a project's own compose-tdd wins over a global install, every time, and the other pack skills stay", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    installPack(env, { scope: "global" });
    assert.equal(
      skills(env).find((s) => s.name === "compose-tdd")?.location,
      join(REPO_ROOT, "skills", "compose-tdd", "SKILL.md"),
      "the pack's own before the override",
    );
    writeOverride(join(env.projectDir, ".opencode", "skills"), "compose-tdd", "PROJECT OVERRIDE of tdd");
    // OpenCode alone picks either of two same-named skills from run to run: several runs show the override holds.
    for (let run = 0; run < 4; run++) {
      const listed = skills(env);
      const tdd = listed.filter((s) => s.name === "compose-tdd");
      assert.deepEqual(
        tdd.map((s) => s.description),
        ["PROJECT OVERRIDE of tdd"],
        `run ${run}: the project's skill wins`,
      );
      assert.ok(tdd[0]!.location.startsWith(env.projectDir));
      assert.ok(
        listed.some((s) => s.name === "compose-verify"),
        "the other pack skills are still there",
      );
    }
    assert.equal(uninstallPack(env, "global").code, 0);
    assert.match(
      readFileSync(join(env.projectDir, ".opencode", "skills", "compose-tdd", "SKILL.md"), "utf8"),
      /PROJECT OVERRIDE/,
      "uninstall leaves the user's file",
    );
  });
});

test("a project install: a user's compose skill made before or after it wins; a switched-off compose offers none", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    writeOverride(join(env.projectDir, ".opencode", "skills"), "compose-review", "MY REVIEW");
    installPack(env);
    writeOverride(join(env.projectDir, ".claude", "skills"), "compose-plan", "MY PLAN (claude dir)");
    const listed = skills(env);
    assert.deepEqual(
      listed.filter((s) => s.name === "compose-review").map((s) => s.description),
      ["MY REVIEW"],
    );
    assert.deepEqual(
      listed.filter((s) => s.name === "compose-plan").map((s) => s.description),
      ["MY PLAN (claude dir)"],
    );
    assert.ok(listed.some((s) => s.name === "compose-spec"));
    writeFileSync(
      join(env.projectDir, ".opencode", "continuum.jsonc"),
      JSON.stringify({ compose: { enabled: false } }),
    );
    const off = skills(env);
    const userOnes = off
      .filter((s) => s.name.startsWith("compose-"))
      .map((s) => s.description)
      .sort();
    assert.deepEqual(
      userOnes,
      ["MY PLAN (claude dir)", "MY REVIEW"],
      "the user's own skills stay whatever the pack does",
    );
    assert.ok(!off.some((s) => s.name === "compose-spec"), "compose off: the pack's compose skills are not offered");
    assert.ok(
      off.some((s) => s.name === "continuum-memory"),
      "the other pack skills stay",
    );
    assert.throws(() => debug(env, "agent", "compose"), "nor its agent");
  });
});

test("`compose` is a primary agent with the flow in its prompt; build and plan are unchanged; a project override wins", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    // Each `opencode debug` is a whole OpenCode start: an answer is read once and every assertion uses it.
    type AgentJson = { tools: Record<string, unknown>; permission: { permission: string; pattern: string }[] };
    const agent = (name: string) => JSON.parse(debug(env, "agent", name)) as AgentJson;
    const buildBeforeJson = agent("build");
    const builtinTools = new Set(Object.keys(buildBeforeJson.tools));
    // What the pack may add to every agent: its own tools (and rules for them), rules that keep its hidden helper
    // agents out of the task tool, and OpenCode's read access to each installed skill's folder.
    const packAgents = new Set(
      packAssetFiles()
        .filter((a) => a.kind === "agents")
        .map((a) => a.name),
    );
    const packSkills = readdirSync(join(REPO_ROOT, "skills"));
    const definition = (json: AgentJson) => {
      const { tools, permission, ...rest } = json;
      const packTools = new Set(Object.keys(tools).filter((t) => !builtinTools.has(t)));
      const ours = (rule: { permission: string; pattern: string }) =>
        packTools.has(rule.permission) ||
        (rule.permission === "task" && packAgents.has(rule.pattern)) ||
        (rule.permission === "external_directory" && packSkills.some((s) => rule.pattern.includes(`/skills/${s}`))) ||
        (rule.permission === "skill" && packSkills.includes(rule.pattern));
      return { ...rest, permission: permission.filter((rule) => !ours(rule)) };
    };
    const buildBefore = definition(buildBeforeJson);
    const planBefore = definition(agent("plan"));
    assert.throws(() => debug(env, "agent", "compose"), "no compose agent before install");
    installPack(env);
    assert.deepEqual(definition(agent("build")), buildBefore, "build unchanged");
    assert.deepEqual(definition(agent("plan")), planBefore, "plan unchanged");
    const compose = JSON.parse(debug(env, "agent", "compose")) as {
      name: string;
      mode: string;
      prompt: string;
      description: string;
      native?: boolean;
      permission: { permission: string; pattern: string; action: string }[];
    };
    assert.equal(compose.name, "compose");
    assert.equal(compose.mode, "primary", "selectable with Tab");
    for (const skill of COMPOSE_SKILLS) assert.ok(compose.prompt.includes(skill), `the prompt routes through ${skill}`);
    assert.match(compose.prompt, /Decided without asking/, "headless: picks and says so");
    assert.match(compose.prompt, /verif/i);
    const rules = compose.permission;
    const last = (permission: string, pattern: string) =>
      rules.filter((r) => r.permission === permission && r.pattern === pattern).at(-1)?.action;
    // The git guard puts a dangerous git command behind this marker line; no git prefix rules are left.
    assert.equal(last("bash", "continuum_confirm=*"), "ask", "the guard's questions reach the user");
    assert.equal(rules.filter((r) => r.permission === "bash" && r.pattern.startsWith("git ")).length, 0);
    assert.equal(last("skill", "compose-tdd"), "allow", "its skills are its own");
    mkdirSync(join(env.projectDir, ".opencode", "agents"), { recursive: true });
    writeFileSync(
      join(env.projectDir, ".opencode", "agents", "compose.md"),
      "---\ndescription: my compose\nmode: primary\n---\nMY COMPOSE PROMPT\n",
    );
    const mine = JSON.parse(debug(env, "agent", "compose")) as { prompt: string; description: string };
    assert.equal(mine.description, "my compose");
    assert.match(mine.prompt, /MY COMPOSE PROMPT/);
  });
});

test("/compose <feature> from the default agent sends the flow with the configured spec folder; bare /compose only explains", async () => {
  await withOpencode(
    {
      model: { exhausted: { text: "on it" } },
      env: { continuumConfig: { compose: { specDir: "specs/features" } } },
    },
    async ({ env, model }) => {
      const run = await opencodeRun(env, "add CSV export", { args: ["--command", "compose"] });
      assert.equal(run.code, 0, run.stderr);
      const sent = model.lane("main").map((r) => r.raw);
      assert.ok(
        sent.some(
          (raw) =>
            raw.includes("add CSV export") &&
            raw.includes("specs/features/<feature>.md") &&
            raw.includes("compose-brainstorm"),
        ),
        "the flow reached the model",
      );
      const before = model.lane("main").length;
      const bare = await opencodeRun(env, "", { args: ["--command", "compose"] });
      assert.equal(bare.code, 0, bare.stderr);
      assert.equal(model.lane("main").length, before, "no model call for the usage text");
      assert.match(bare.stdout, /Usage: \/compose <feature/);
    },
  );
});

test("only the compose agent's requests list the compose skills; it loads a project's override through OpenCode's skill tool", async () => {
  await withOpencode({ model: { exhausted: { text: "ok" } } }, async ({ env, model }) => {
    writeOverride(join(env.projectDir, ".opencode", "skills"), "compose-tdd", "PROJECT TDD");
    model.push("main", { text: "hello from build" });
    const build = await opencodeRun(env, "hi");
    assert.equal(build.code, 0, build.stderr);
    const buildRequest = JSON.stringify(model.lane("main")[0]!.body);
    assert.ok(!buildRequest.includes("compose-verify"), "build's requests do not pay for the compose skills");
    assert.ok(buildRequest.includes("continuum-memory"), "the pack's general skill is still listed");

    model.push("main", { toolCalls: [{ name: "skill", args: { name: "compose-tdd" } }] }, { text: "loaded" });
    const compose = await opencodeRun(env, "implement the parser", { args: ["--agent", "compose"] });
    assert.equal(compose.code, 0, compose.stderr);
    const [first, second] = model.lane("main").slice(1);
    assert.ok(JSON.stringify(first!.body).includes("compose-verify"), "the compose agent sees its skills");
    assert.match(
      JSON.stringify(second!.body.messages.at(-1)),
      /The project's own way of doing compose-tdd/,
      "the skill tool returned the project's override",
    );
  });
});
