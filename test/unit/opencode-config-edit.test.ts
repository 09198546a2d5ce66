import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "jsonc-parser";
import {
  addPluginEntry,
  ConfigEditError,
  newConfigText,
  removePluginEntry,
  specName,
} from "../../plugins/cli/opencode-config-edit.ts";

const SPEC = "opencode-continuum@0.2.0";
const plugins = (text: string) => (parse(text, [], { allowTrailingComma: true }) as { plugin?: unknown[] }).plugin;

describe("opencode.json(c) plugin entry", () => {
  test("keeps comments and trailing commas, and adds a plugin array where there is none", () => {
    const before = `{
  // my model
  "model": "anthropic/claude", /* inline */
  "share": "disabled",
}
`;
    const { text, change } = addPluginEntry(before, SPEC);
    assert.equal(change, "added");
    assert.deepEqual(plugins(text), [SPEC]);
    assert.match(text, /\/\/ my model/);
    assert.match(text, /\/\* inline \*\//);
    assert.equal(removePluginEntry(text, "opencode-continuum").removed, 1);
  });

  test("appends to an existing plugin array, leaving the other entries and their comments", () => {
    const before = `{
\t"plugin": [
\t\t"opencode-other@1.0.0", // keep me
\t\t["./local.ts", { "x": 1 }],
\t],
}
`;
    const { text, change } = addPluginEntry(before, SPEC);
    assert.equal(change, "added");
    assert.deepEqual(plugins(text), ["opencode-other@1.0.0", ["./local.ts", { x: 1 }], SPEC]);
    assert.match(text, /\/\/ keep me/);
    assert.match(text, /\n\t\t"opencode-continuum@0\.2\.0"/, "the file's own tab indentation");
    const back = removePluginEntry(text, "opencode-continuum").text;
    assert.deepEqual(plugins(back), ["opencode-other@1.0.0", ["./local.ts", { x: 1 }]]);
    assert.match(back, /\/\/ keep me/);
  });

  test("a comment trailing the last entry stays with it; an entry without a trailing comma gets one", () => {
    const commented = `{\n  "plugin": [\n    "other@1.0.0", /* a neighbour */\n  ],\n}\n`;
    assert.equal(
      addPluginEntry(commented, SPEC).text,
      `{\n  "plugin": [\n    "other@1.0.0", /* a neighbour */\n    "${SPEC}",\n  ],\n}\n`,
    );
    const bare = `{\n  "plugin": [\n    "other@1.0.0" // mine\n  ]\n}\n`;
    assert.equal(
      addPluginEntry(bare, SPEC).text,
      `{\n  "plugin": [\n    "other@1.0.0", // mine\n    "${SPEC}"\n  ]\n}\n`,
    );
    const oneLine = `{ "plugin": ["a"] }`;
    assert.deepEqual(plugins(addPluginEntry(oneLine, SPEC).text), ["a", SPEC]);
  });

  test("an older version of the pack already listed is replaced in place, also in an options tuple", () => {
    const bare = `{ "plugin": ["a", "opencode-continuum@0.1.0", "b"] }`;
    const replaced = addPluginEntry(bare, SPEC);
    assert.equal(replaced.change, "replaced");
    assert.deepEqual(plugins(replaced.text), ["a", SPEC, "b"]);

    const tuple = `{ "plugin": [["opencode-continuum", { "memory": false }]] }`;
    const inTuple = addPluginEntry(tuple, SPEC);
    assert.equal(inTuple.change, "replaced");
    assert.deepEqual(plugins(inTuple.text), [[SPEC, { memory: false }]], "the options stay");
  });

  test("the same entry already there is kept, byte for byte", () => {
    const text = `{"plugin":["opencode-continuum@0.2.0"]}`;
    assert.deepEqual(addPluginEntry(text, SPEC), { text, change: "kept" });
  });

  test("a file that is not valid JSONC is refused with a clear message", () => {
    const broken = `{\n  "plugin": [\n  "model": "x"\n}`;
    assert.throws(
      () => addPluginEntry(broken, SPEC, "/p/opencode.json"),
      (error: unknown) =>
        error instanceof ConfigEditError &&
        /\/p\/opencode\.json is not valid JSONC .*line \d+.*untouched/.test(error.message),
    );
    assert.throws(() => addPluginEntry(`["not", "an", "object"]`, SPEC), ConfigEditError);
    assert.throws(() => addPluginEntry(`{ "plugin": "x" }`, SPEC), /not an array/);
    assert.throws(() => removePluginEntry(broken, "opencode-continuum"), ConfigEditError);
  });

  test("removal takes out every entry of the pack and leaves a file without one unchanged", () => {
    const text = `{ "plugin": ["opencode-continuum@0.1.0", "x", ["opencode-continuum", {}]] }`;
    const { text: after, removed } = removePluginEntry(text, "opencode-continuum");
    assert.equal(removed, 2);
    assert.deepEqual(plugins(after), ["x"]);
    const none = `{ // nothing\n "model": "m" }`;
    assert.deepEqual(removePluginEntry(none, "opencode-continuum"), { text: none, removed: 0 });
  });

  test("a new file holds only the entry; spec names keep scopes", () => {
    assert.deepEqual(plugins(newConfigText(SPEC)), [SPEC]);
    assert.equal(specName("@scope/pkg@^1.2.0"), "@scope/pkg");
    assert.equal(specName("@scope/pkg"), "@scope/pkg");
    assert.equal(specName("opencode-continuum"), "opencode-continuum");
  });
});
