// Pack agents and commands fill only what the user left unset, so a user's override always wins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillAgent, fillCommand, packAssetFiles, readAsset, PACK_ROOT } from "../../plugins/core/assets.ts";
import type { FeatureModule } from "../../plugins/core/feature.ts";

const asset = {
  name: "helper",
  file: "x",
  frontmatter: { description: "ours", mode: "subagent", temperature: 0 },
  body: "our prompt",
};

test("an agent the user did not define is added whole", () => {
  const agents: Record<string, Record<string, unknown>> = {};
  assert.equal(fillAgent(agents, asset), "added");
  assert.deepEqual(agents.helper, { description: "ours", mode: "subagent", temperature: 0, prompt: "our prompt" });
});

test("the user's fields win; only missing ones are filled", () => {
  const agents: Record<string, Record<string, unknown>> = { helper: { prompt: "user prompt", temperature: 0.7 } };
  assert.equal(fillAgent(agents, asset), "filled");
  assert.equal(agents.helper!.prompt, "user prompt");
  assert.equal(agents.helper!.temperature, 0.7);
  assert.equal(agents.helper!.mode, "subagent");
});

test("commands follow the same rule", () => {
  const commands: Record<string, Record<string, unknown>> = {
    helper: { template: "mine $ARGUMENTS", description: "d", mode: "x", temperature: 1 },
  };
  assert.equal(fillCommand(commands, asset), "kept");
  assert.equal(commands.helper!.template, "mine $ARGUMENTS");
});

test("every markdown asset in the repository parses and has a description", () => {
  const shipped = packAssetFiles();
  assert.equal(shipped.filter((a) => a.kind === "agents").length, 9, "the pack's agents");
  assert.equal(shipped.filter((a) => a.kind === "commands").length, 12, "the pack's commands");
  for (const { kind, name, feature } of shipped) {
    const parsed = readAsset(kind, name);
    assert.equal(typeof parsed.frontmatter.description, "string", `${feature}/${kind}/${name}.md needs a description`);
    assert.ok(parsed.body.length > 0, `${feature}/${kind}/${name}.md has a body`);
  }
});

// A feature's whole story is in its folder: what a module registers is its own markdown, and nothing is orphaned.
test("each feature's agents and commands live in its own folder, and every shipped file is registered", async () => {
  const folders = ["memory", "tasks", "checkpoint", "goal", "agents", "dream", "distill", "workflow", "max", "compose"];
  const declared = new Set<string>();
  for (const folder of folders) {
    const module = (await import(`../../plugins/${folder}/index.ts`)).default as FeatureModule;
    for (const kind of ["agents", "commands"] as const) {
      for (const name of module.assets?.[kind] ?? []) {
        assert.equal(readAsset(kind, name).file, join(PACK_ROOT, "plugins", module.name, kind, `${name}.md`));
        declared.add(`${kind}/${name}`);
      }
    }
  }
  assert.deepEqual(
    packAssetFiles()
      .map((a) => `${a.kind}/${a.name}`)
      .filter((id) => !declared.has(id)),
    [],
  );
});

test("a name shipped by two features is an error, not a silent pick", () => {
  const root = mkdtempSync(join(tmpdir(), "assets-"));
  try {
    for (const feature of ["one", "two"]) {
      mkdirSync(join(root, "plugins", feature, "commands"), { recursive: true });
      writeFileSync(join(root, "plugins", feature, "commands", "same.md"), "---\ndescription: d\n---\nbody");
    }
    assert.throws(() => readAsset("commands", "same", root), /shipped twice/);
    assert.throws(() => readAsset("agents", "same", root), /missing/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the pack's asset names cover every agent, command, skill and built-in workflow it ships", async () => {
  const { packAssetNames } = await import("../../plugins/core/assets.ts");
  const names = packAssetNames();
  for (const name of [
    "max",
    "max-judge",
    "compose",
    "compose-tdd",
    "dream",
    "distill",
    "workflow",
    "goal-judge",
    "continuum-memory",
    "review",
    "fanout",
  ]) {
    assert.ok(names.has(name), `${name} is reserved`);
  }
});
