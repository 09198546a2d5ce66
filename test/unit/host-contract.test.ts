// Upstream tracking, the static half: the pack's source uses only the hooks and events listed in the contract, and
// each hook is declared by the pinned plugin types. test/e2e/host-contract.test.ts proves each one is called by the
// real host (OPENCODE_VERSION=<v> runs it against another release).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { HOST_EVENTS, HOST_HOOKS } from "../../plugins/opencode/host-contract.ts";
import { REPO_ROOT } from "../harness/env.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => join(dir, name));
}

const source = sourceFiles(join(REPO_ROOT, "plugins"))
  .filter((file) => !file.includes(`${join("plugins", "cli")}`))
  .map((file) => readFileSync(file, "utf8"))
  .join("\n");

test("the pack's source uses only hooks listed in the contract", () => {
  const used = new Set<string>();
  for (const match of source.matchAll(/^\s*"((?:experimental|chat|tool|command|permission|shell)\.[a-z.]+)"\s*[:(]/gm))
    used.add(match[1]!);
  for (const match of source.matchAll(/hooks(?:\[\s*"([a-z.]+)"\s*\]|\.(chat|tool|command|experimental)\b)/g))
    if (match[1]) used.add(match[1]);
  const unknown = [...used].filter((hook) => !(HOST_HOOKS as readonly string[]).includes(hook));
  assert.deepEqual(unknown, [], "add new hooks to plugins/opencode/host-contract.ts");
  assert.ok(used.size > 0, "the scan found the pack's hooks");
});

// Raw host events are read only by the adapter (plugins/opencode/); features see the session layer's typed events.
const adapterSource = sourceFiles(join(REPO_ROOT, "plugins", "opencode"))
  .map((file) => readFileSync(file, "utf8"))
  .join("\n");

test("the adapter compares only event types listed in the contract", () => {
  const used = new Set<string>();
  for (const match of adapterSource.matchAll(/(?:type\s*[!=]==\s*|case\s+)"([a-z]+\.[a-z.]+)"/g)) used.add(match[1]!);
  const unknown = [...used].filter((type) => !(HOST_EVENTS as readonly string[]).includes(type));
  assert.deepEqual(unknown, [], "add new event types to plugins/opencode/host-contract.ts");
  assert.ok(used.size >= 8, "the scan found the adapter's events");
});

test("every contract hook is declared by @opencode-ai/plugin's Hooks interface", () => {
  const types = readFileSync(join(REPO_ROOT, "node_modules", "@opencode-ai", "plugin", "dist", "index.d.ts"), "utf8");
  const hooksInterface = types.slice(types.indexOf("export interface Hooks"));
  for (const hook of HOST_HOOKS) {
    const declared = hooksInterface.includes(`"${hook}"?:`) || hooksInterface.includes(`${hook}?:`);
    assert.ok(declared, `hook ${hook} is not declared by @opencode-ai/plugin`);
  }
});
