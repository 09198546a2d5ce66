// Pack agents and commands fill only what the user left unset, so a user's override always wins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fillAgent, fillCommand, readAsset, PACK_ROOT } from "../../plugins/core/assets.ts";

const asset = { name: "helper", file: "x", frontmatter: { description: "ours", mode: "subagent", temperature: 0 }, body: "our prompt" };

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
  const commands: Record<string, Record<string, unknown>> = { helper: { template: "mine $ARGUMENTS", description: "d", mode: "x", temperature: 1 } };
  assert.equal(fillCommand(commands, asset), "kept");
  assert.equal(commands.helper!.template, "mine $ARGUMENTS");
});

test("every markdown asset in the repository parses and has a description", () => {
  for (const kind of ["agents", "commands"] as const) {
    const dir = join(PACK_ROOT, kind);
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".md"));
    } catch {
      continue;
    }
    for (const name of names) {
      const parsed = readAsset(kind, name.replace(/\.md$/, ""));
      assert.equal(typeof parsed.frontmatter.description, "string", `${kind}/${name} needs a description`);
      assert.ok(parsed.body.length > 0, `${kind}/${name} has a body`);
    }
  }
});

test("the pack's asset names cover every agent, command, skill and built-in workflow it ships", async () => {
  const { packAssetNames } = await import("../../plugins/core/assets.ts");
  const names = packAssetNames();
  for (const name of ["max", "max-judge", "compose", "compose-tdd", "dream", "distill", "workflow", "goal-judge", "continuum-memory", "review", "fanout"]) {
    assert.ok(names.has(name), `${name} is reserved`);
  }
});
