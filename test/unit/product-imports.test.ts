// Product code never depends on the test tree: a user install (`npm ci --omit=dev`) ships plugins/ and must not
// need test/, and what the doctor or `continuum run` does must be the same code the tests exercise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const PLUGINS = join(ROOT, "plugins");
const TEST = join(ROOT, "test");

/** Every module specifier of a file: static imports/exports, dynamic import() and require(). */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s+["']([^"']+)["']/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => /\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.includes("node_modules"))
    .map((name) => join(dir, name));
}

test("no file under plugins/ imports from test/", () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(PLUGINS)) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (target === TEST || target.startsWith(TEST + "/")) offenders.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  assert.deepEqual(offenders, [], `product code imports the test tree:\n${offenders.join("\n")}`);
});

test("the import scanner sees every form of import", () => {
  const source = `import a from "../../test/a.ts";\nexport { b } from '../test/b.ts';\nconst c = await import("../test/c.ts");\nimport "../test/d.ts";\nrequire("../test/e.cjs");`;
  assert.deepEqual(specifiers(source).sort(), [
    "../../test/a.ts",
    "../test/b.ts",
    "../test/c.ts",
    "../test/d.ts",
    "../test/e.cjs",
  ]);
});

const CORE = join(PLUGINS, "core");

test("plugins/core knows no host: nothing in it imports @opencode-ai/*", () => {
  const offenders = sourceFiles(CORE).flatMap((file) =>
    specifiers(readFileSync(file, "utf8"))
      .filter((spec) => spec.startsWith("@opencode-ai/"))
      .map((spec) => `${relative(ROOT, file)} → ${spec}`),
  );
  assert.deepEqual(offenders, [], `core imports the host:\n${offenders.join("\n")}`);
});

// Core assembles the config sections, so it may read a feature's config.ts and nothing else of the feature; the
// section file imports only zod, so no feature logic (and no import cycle) reaches core through it.
test("core reaches into a feature only for its config.ts, and that file imports only zod", () => {
  const offenders: string[] = [];
  const sections = new Set<string>();
  for (const file of sourceFiles(CORE)) {
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(PLUGINS + "/") || target.startsWith(CORE + "/")) continue;
      if (/^[a-z-]+\/config\.ts$/.test(relative(PLUGINS, target))) sections.add(target);
      else offenders.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  for (const section of sections) {
    const extra = specifiers(readFileSync(section, "utf8")).filter((spec) => spec !== "zod");
    for (const spec of extra) offenders.push(`${relative(ROOT, section)} → ${spec}`);
  }
  assert.ok(sections.size >= 9, `feature config sections core assembles: ${sections.size}`);
  assert.deepEqual(offenders, [], `core depends on feature code:\n${offenders.join("\n")}`);
});

/**
 * Every module a file names, read by TypeScript's own parser (not a pattern): import and export declarations,
 * `import x = require()`, dynamic import() and require() calls, and import types.
 */
export function parsedSpecifiers(source: string, fileName = "file.ts"): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    const literal = moduleOf(node);
    if (literal) found.push(literal);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true));
  return found;
}

function moduleOf(node: ts.Node): string | undefined {
  if (
    (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
    node.moduleSpecifier &&
    ts.isStringLiteral(node.moduleSpecifier)
  )
    return node.moduleSpecifier.text;
  if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) return node.expression.text;
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
    return node.argument.literal.text;
  if (!ts.isCallExpression(node) || !node.arguments[0] || !ts.isStringLiteralLike(node.arguments[0])) return undefined;
  const callee = node.expression;
  const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
  const isRequire = ts.isIdentifier(callee) && callee.text === "require";
  return isImport || isRequire ? node.arguments[0].text : undefined;
}

/** The package a bare specifier names: "@scope/name" or "name", without a subpath; undefined for relative/node:. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

test("no file under plugins/ imports a devDependency (a user install is `npm ci --omit=dev`)", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    devDependencies?: Record<string, string>;
  };
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  assert.ok(dev.has("gpt-tokenizer"), "the check knows the dev dependencies");
  const offenders: string[] = [];
  // The checkout's launcher runs the sources through tsx (a dev dependency since 0.2.0); the package ships dist/.
  const checkoutOnly = join(PLUGINS, "cli", "continuum.mjs");
  for (const file of sourceFiles(PLUGINS).filter((f) => f !== checkoutOnly)) {
    for (const spec of parsedSpecifiers(readFileSync(file, "utf8"), file)) {
      const name = packageOf(spec);
      if (name && dev.has(name)) offenders.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  assert.deepEqual(offenders, [], `product code imports a dev dependency:\n${offenders.join("\n")}`);
});

test("the parsed import scanner sees every form, and not a module name inside a string or comment", () => {
  const source = [
    `import a from "gpt-tokenizer/encoding/o200k_base";`,
    `export * from "@types/node";`,
    `import type { T } from 'fast-check';`,
    `const c = await import("typescript");`,
    `import "oxlint";`,
    `const r = require("@biomejs/biome");`,
    `import e = require("opencode-ai");`,
    `type F = typeof import("@types/picomatch");`,
    `const s = "import x from 'gpt-tokenizer'"; // import "fast-check"`,
  ].join("\n");
  assert.deepEqual(parsedSpecifiers(source).sort(), [
    "@biomejs/biome",
    "@types/node",
    "@types/picomatch",
    "fast-check",
    "gpt-tokenizer/encoding/o200k_base",
    "opencode-ai",
    "oxlint",
    "typescript",
  ]);
  assert.deepEqual(
    ["gpt-tokenizer/encoding/o200k_base", "@scope/pkg/deep", "./local.ts", "node:fs", "zod"].map(packageOf),
    ["gpt-tokenizer", "@scope/pkg", undefined, undefined, "zod"],
  );
});
