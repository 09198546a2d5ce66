// continuum.jsonc loading: layering, per-key recovery, and messages that name the file, the key and the expectation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, deepMerge, summarizeProblems } from "../../plugins/core/config.ts";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import { renderConfigJsonSchema, SCHEMA_FILE } from "../../plugins/cli/schema.ts";

function layout(global?: string, project?: string) {
  const root = mkdtempSync(join(tmpdir(), "continuum-config-"));
  const env = { XDG_CONFIG_HOME: join(root, "config"), HOME: root };
  const projectDir = join(root, "project");
  mkdirSync(join(env.XDG_CONFIG_HOME, "opencode"), { recursive: true });
  mkdirSync(join(projectDir, ".opencode"), { recursive: true });
  const globalFile = join(env.XDG_CONFIG_HOME, "opencode", "continuum.jsonc");
  const projectFile = join(projectDir, ".opencode", "continuum.jsonc");
  if (global !== undefined) writeFileSync(globalFile, global);
  if (project !== undefined) writeFileSync(projectFile, project);
  return { env, projectDir, globalFile, projectFile };
}

test("no files: every default applies and nothing is reported", () => {
  const { env, projectDir } = layout();
  const loaded = loadConfig(projectDir, env);
  assert.deepEqual(loaded.config, defaultConfig());
  assert.deepEqual(loaded.problems, []);
});

test("project settings win over global ones, key by key; comments and trailing commas are fine", () => {
  const { env, projectDir } = layout(
    `{ // global\n "memory": { "injectBudgetTokens": 1000, "recallBudgetTokens": 100 }, "goal": { "maxContinuations": 5 }, }`,
    `{ "memory": { "injectBudgetTokens": 2000 } }`,
  );
  const { config, problems } = loadConfig(projectDir, env);
  assert.deepEqual(problems, []);
  assert.equal(config.memory.injectBudgetTokens, 2000);
  assert.equal(config.memory.recallBudgetTokens, 100);
  assert.equal(config.goal.maxContinuations, 5);
});

test("an invalid value names the file, the key and the expected value; only that key falls back", () => {
  const { env, projectDir, projectFile } = layout(
    undefined,
    `{ "memory": { "injectBudgetTokens": "lots", "recallBudgetTokens": 123 }, "memory2": 1 }`,
  );
  const { config, problems } = loadConfig(projectDir, env);
  const error = problems.find((p) => p.severity === "error")!;
  assert.equal(error.file, projectFile);
  assert.equal(error.key, "memory.injectBudgetTokens");
  assert.match(error.message, /expected number/);
  assert.equal(config.memory.injectBudgetTokens, 4000, "default used for the bad key");
  assert.equal(config.memory.recallBudgetTokens, 123, "good sibling kept");
  const warning = problems.find((p) => p.severity === "warning")!;
  assert.equal(warning.key, "memory2");
  assert.match(warning.message, /unknown key/);
});

test("an enum mismatch lists the allowed values", () => {
  const { env, projectDir } = layout(`{ "memory": { "location": "cloud" } }`);
  const { config, problems } = loadConfig(projectDir, env);
  assert.equal(problems[0]!.key, "memory.location");
  assert.match(problems[0]!.message, /"data"/);
  assert.match(problems[0]!.message, /"repo"/);
  assert.equal(config.memory.location, "data");
});

test("a syntax error reports line and column and ignores only that file", () => {
  const { env, projectDir, globalFile } = layout(
    `{\n  "goal": { "maxContinuations": 3 \n}`,
    `{ "tasks": { "maxGatePushes": 1 } }`,
  );
  const { config, problems } = loadConfig(projectDir, env);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, globalFile);
  assert.match(problems[0]!.message, /line \d+, column \d+/);
  assert.equal(config.goal.maxContinuations, 12);
  assert.equal(config.tasks.maxGatePushes, 1);
});

test("a non-object file and an empty file are handled", () => {
  const { env, projectDir } = layout(`[1, 2]`, ``);
  const { config, problems } = loadConfig(projectDir, env);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /JSON object/);
  assert.deepEqual(config, defaultConfig());
});

test("features can be switched off", () => {
  const { env, projectDir } = layout(`{ "goal": { "enabled": false }, "enabled": true }`);
  assert.equal(loadConfig(projectDir, env).config.goal.enabled, false);
});

test("deepMerge merges objects and replaces arrays", () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
});

test("the committed JSON Schema matches the zod schema (run `npm run schema` after changing it)", () => {
  assert.equal(readFileSync(SCHEMA_FILE, "utf8"), renderConfigJsonSchema());
});

test("checkpoint schedules are checked: ascending thresholds, fractions or token counts, rebuildAt above the last", () => {
  const { env, projectDir, projectFile } = layout(
    undefined,
    `{ "checkpoint": { "thresholds": [0.9, 0.2, 5], "rebuildAt": 2 } }`,
  );
  const { config, problems } = loadConfig(projectDir, env);
  const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
  assert.match(
    byKey["checkpoint.thresholds"]!.message,
    /5 is neither a fraction of the context window \(0 < x < 1\) nor a token count/,
  );
  assert.match(byKey["checkpoint.rebuildAt"]!.message, /2 is neither a fraction/);
  assert.equal(byKey["checkpoint.rebuildAt"]!.file, projectFile);
  assert.deepEqual(config.checkpoint.thresholds, [0.2, 0.45, 0.7]);
  assert.equal(config.checkpoint.rebuildAt, 0.85);

  const unordered = loadConfig(
    layout(`{ "checkpoint": { "thresholds": [0.5, 0.3] } }`).projectDir,
    layout(`{ "checkpoint": { "thresholds": [0.5, 0.3] } }`).env,
  );
  assert.match(
    unordered.problems[0]!.message,
    /\[0\.5,0\.3\] must be in ascending order; using the default \[0\.2,0\.45,0\.7\]/,
  );

  const below = layout(undefined, `{ "checkpoint": { "thresholds": [0.3, 0.6], "rebuildAt": 0.5 } }`);
  const loaded = loadConfig(below.projectDir, below.env);
  assert.deepEqual(
    loaded.problems.map((p) => p.key),
    ["checkpoint.rebuildAt"],
  );
  assert.match(loaded.problems[0]!.message, /rebuildAt 0\.5 must be above the last checkpoint threshold 0\.6/);
  assert.deepEqual([loaded.config.checkpoint.thresholds, loaded.config.checkpoint.rebuildAt], [[0.3, 0.6], 0.85]);

  const tokens = layout(
    undefined,
    `{ "checkpoint": { "thresholds": [8000, 0.5, 16000], "rebuildAt": 24000, "models": { "a/b": { "thresholds": [0.8], "rebuildAt": 0.7 } } } }`,
  );
  const mixed = loadConfig(tokens.projectDir, tokens.env);
  assert.deepEqual(
    mixed.problems.map((p) => p.key),
    ["checkpoint.models.a/b.rebuildAt"],
  );
  assert.equal(mixed.config.checkpoint.models["a/b"]!.rebuildAt, undefined, "a bad override is dropped, not defaulted");
  assert.deepEqual(mixed.config.checkpoint.thresholds, [8000, 0.5, 16000]);
});

test("a misspelt key gets a did-you-mean; a far-off one does not", () => {
  const { env, projectDir } = layout(
    `{ "memroy": {}, "memory": { "injectBudgetToken": 10, "zzz": 1 }, "checkpoint": { "treshold": [0.5] } }`,
  );
  const messages = Object.fromEntries(loadConfig(projectDir, env).problems.map((p) => [p.key, p.message]));
  assert.match(messages["memroy"]!, /did you mean "memory"\?/);
  assert.match(messages["memory.injectBudgetToken"]!, /did you mean "injectBudgetTokens"\?/);
  assert.match(messages["checkpoint.treshold"]!, /did you mean "thresholds"\?/);
  assert.doesNotMatch(messages["memory.zzz"]!, /did you mean/);
});

test("problems are summarised in one line for the start-up toast", () => {
  assert.equal(summarizeProblems([]), undefined);
  const many = Array.from({ length: 5 }, (_, i) => ({
    file: "f",
    key: `k${i}`,
    severity: "error" as const,
    message: "bad",
  }));
  assert.match(
    summarizeProblems(many)!,
    /^continuum\.jsonc has 5 problems: f: k0: bad \| f: k1: bad \| f: k2: bad \(and 2 more; run: continuum doctor\)$/,
  );
});

test("default agents.maxConcurrent is at least max.candidates + 1 (a Max turn's candidates and judge run at once)", () => {
  const config = defaultConfig();
  assert.ok(
    config.agents.maxConcurrent >= config.max.candidates + 1,
    `${config.agents.maxConcurrent} < ${config.max.candidates} + 1`,
  );
});
