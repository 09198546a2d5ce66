// The size floor of the product code (issue 20): no function in plugins/ over 120 lines and no file over 500, measured
// on the syntax tree the TypeScript compiler builds, so a long closure cannot hide behind formatting or comments.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const PLUGINS = join(ROOT, "plugins");
const MAX_FUNCTION_LINES = 120;
const MAX_FILE_LINES = 500;

const ALLOW_LONG_FILES = new Set<string>([]);

function productFiles(): string[] {
  return readdirSync(PLUGINS, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(PLUGINS, name))
    .sort();
}

const lineCount = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

/** Every function with a body (declarations, methods, accessors, arrows, function expressions) over `max` lines. */
export function longFunctions(fileName: string, text: string, max = MAX_FUNCTION_LINES): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.end).line;
      const lines = end - start + 1;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : "(anonymous)";
      if (lines > max) found.push(`${fileName}:${start + 1} ${name} has ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test("the measure sees every kind of function with a body, and only those", () => {
  const body = Array.from({ length: 3 }, (_, i) => `  const a${i} = ${i};`).join("\n");
  const text = [
    `function declared() {\n${body}\n}`,
    `const arrow = () => {\n${body}\n};`,
    `const expression = function () {\n${body}\n};`,
    `class K {\n  method() {\n${body}\n  }\n  get value() {\n${body}\n    return 1;\n  }\n}`,
    `const object = { literal() {\n${body}\n} };`,
    `declare function bodiless(): void;`,
  ].join("\n");
  const found = longFunctions("sample.ts", text, 4);
  for (const name of ["declared", "method", "value", "literal"])
    assert.ok(
      found.some((f) => f.includes(` ${name} `)),
      name,
    );
  assert.equal(found.filter((f) => f.includes("(anonymous)")).length, 2, "the arrow and the function expression");
  assert.equal(found.length, 6, found.join("\n"));
  assert.deepEqual(longFunctions("sample.ts", text, 10), []);
});

test(`no function in plugins/ is over ${MAX_FUNCTION_LINES} lines`, () => {
  const files = productFiles();
  assert.ok(files.length > 50, "the product files were found");
  const found = files.flatMap((file) => longFunctions(relative(ROOT, file), readFileSync(file, "utf8")));
  assert.deepEqual(found, [], "split these into named functions or modules of one concern each");
});

test(`no file in plugins/ is over ${MAX_FILE_LINES} lines, apart from the short allowlist`, () => {
  const over = productFiles()
    .map((file) => ({ file: relative(ROOT, file), lines: lineCount(readFileSync(file, "utf8")) }))
    .filter((f) => f.lines > MAX_FILE_LINES && !ALLOW_LONG_FILES.has(f.file))
    .map((f) => `${f.file} has ${f.lines} lines`);
  assert.deepEqual(over, []);
  // An entry that names no file any more is stale: the allowlist only shrinks when kept honest.
  const existing = new Set(productFiles().map((file) => relative(ROOT, file)));
  assert.deepEqual(
    [...ALLOW_LONG_FILES].filter((file) => !existing.has(file)),
    [],
  );
});
