// A script's meta is read as a literal, never executed: property tests of the literal reader (every JSON value reads
// back as itself, in JSON or hand-written style) and of parseScript on arbitrary text (a clear Error, nothing else).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseScript, readLiteral } from "../../plugins/workflow/script.ts";
import { globMatcher } from "../../plugins/workflow/files.ts";

// A "__proto__" key is refused on purpose (it would set the prototype of a plain object).
const json = fc
  .jsonValue({ maxDepth: 4 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => !JSON.stringify(v).includes('"__proto__"'));

test("readLiteral: any JSON value reads back equal", () => {
  fc.assert(
    fc.property(json, (value) => assert.deepEqual(readLiteral(JSON.stringify(value)), value)),
    { numRuns: 300 },
  );
});

test("readLiteral: hand-written style (comments, single quotes, bare keys, trailing commas) reads like JSON", () => {
  const text = `{
    // the name
    name: 'review', /* block */ "description": "Reviews \\"files\\"",
    phases: ['a', "b",], args: { files: \`paths\`, n: -1.5e2, ok: true, none: null, },
  }`;
  assert.deepEqual(readLiteral(text), {
    name: "review",
    description: 'Reviews "files"',
    phases: ["a", "b"],
    args: { files: "paths", n: -150, ok: true, none: null },
  });
  for (const bad of ["{ a: b }", "{ [k]: 1 }", "{ ...x }", "{ a: `${x}` }", "{ __proto__: 1 }", "{ a: 1", "'open"])
    assert.throws(() => readLiteral(bad), Error, bad);
});

test("parseScript on arbitrary text throws only Errors with a message, or returns a valid meta", () => {
  const source = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ maxLength: 100 }).map((s) => `export const meta = ${s};\nexport default async function () {}`),
    fc
      .record({ name: fc.string({ maxLength: 20 }), description: fc.string({ maxLength: 20 }) })
      .map((m) => `export const meta = ${JSON.stringify(m)};\nexport default async () => 1;`),
  );
  fc.assert(
    fc.property(source, (text) => {
      try {
        const parsed = parseScript(text, "x.js");
        assert.equal(typeof parsed.meta.name, "string");
        assert.ok(parsed.meta.name.length > 0);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.startsWith("x.js"), String(error));
      }
    }),
    { numRuns: 400 },
  );
});

test("meta inside a comment or a string does not count; a commented-out default export does not either", () => {
  assert.throws(
    () => parseScript(`// export const meta = { name: "a", description: "b" }\nexport default 1;`, "c.js"),
    /no `export const meta/,
  );
  assert.throws(
    () => parseScript(`export const meta = { name: "a", description: "b" };\nconst s = "export default 1";`, "c.js"),
    /no default export/,
  );
});

test("globMatcher: ** spans folders, * and ? stay in one, braces alternate, classes match; arbitrary patterns give a matcher or an Error", () => {
  assert.ok(globMatcher("**/*.ts")("a/b/c.ts") && globMatcher("**/*.ts")("c.ts"));
  assert.ok(!globMatcher("*.ts")("a/c.ts"));
  assert.ok(globMatcher("src/?.{ts,js}")("src/a.js"));
  assert.ok(
    globMatcher("*.[jt]s")("a.ts") && !globMatcher("*.[jt]s")("a.cs"),
    "a character class (the old reader escaped it)",
  );
  assert.ok(globMatcher("*")(".env"), "dotfiles count");
  assert.throws(() => globMatcher("a/[b"), /glob: a\/\[b/);
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), (pattern, path) => {
      try {
        assert.equal(typeof globMatcher(pattern)(path), "boolean");
      } catch (error) {
        assert.ok(error instanceof Error && error.message.startsWith("glob: "), String(error));
      }
    }),
  );
});

test("meta is read by a real JavaScript parser: a quote in a regular expression, any escape, hex numbers", () => {
  const script = (before: string, meta: string) =>
    `${before}\nexport const meta = ${meta};\nexport default async function () {}\n`;
  assert.deepEqual(parseScript(script(`const quote = /"/;`, `{ name: "a", description: "b" }`), "r.js").meta, {
    name: "a",
    description: "b",
  });
  assert.equal(
    parseScript(script("", `{ name: "a", description: "\\x41 \\u{1F600} \\u0042" }`), "e.js").meta.description,
    "A 😀 B",
  );
  assert.deepEqual(
    parseScript(script("", `{ name: "a", description: "", args: { n: 0x10, m: -1_000 } }`), "h.js").meta.args,
    { n: 16, m: -1000 },
  );
  for (const [meta, message] of [
    [
      "{ name: 'a', description: 'b', get x() { return 1 } }",
      /getters, setters and methods are not literals at line 2/,
    ],
    ["{ name, description: 'b' }", /shorthand property/],
    ["{ name: 'a', description: /re/ }", /regular expression/],
    ["{ name: 'a', description: 'b', n: 1n }", /BigInt/],
    ["{ name: 'a', description: 'b', list: [1, , 2] }", /array hole/],
  ] as const)
    assert.throws(() => parseScript(script("", meta), "m.js"), message, meta);
});
