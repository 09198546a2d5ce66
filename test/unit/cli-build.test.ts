// The compiled CLI (scripts/build-cli.mjs) as the package ships it: what `continuum --version` loads before it
// answers (no feature, no zod, no SQLite), and that it prints what the checkout launcher prints.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Metafile } from "esbuild";
import { PACK_VERSION } from "../../plugins/core/version.ts";
import { withIsolatedDirs } from "./helpers/cli.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const LAUNCHER = join(ROOT, "plugins", "cli", "continuum.mjs");
// Under the repository, so the compiled CLI finds better-sqlite3 in node_modules above it, as an installed one does.
mkdirSync(join(ROOT, "test", ".tmp"), { recursive: true });
const dir = mkdtempSync(join(ROOT, "test", ".tmp", "cli-build-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const { buildCli } = (await import(pathToFileURL(join(ROOT, "scripts", "build-cli.mjs")).href)) as {
  buildCli(options: { outdir: string }): Promise<{ entry: string; metafile: Metafile }>;
};
const built = await buildCli({ outdir: join(dir, "dist", "cli") });

/** The source files an output loads before its code runs: its static imports, transitively (not `import()`). */
function staticInputs(metafile: Metafile, output: string): string[] {
  const seen = new Set<string>();
  const walk = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of metafile.outputs[out]!.imports)
      if (i.kind === "import-statement" && metafile.outputs[i.path]) walk(i.path);
  };
  walk(output);
  return [...seen].flatMap((out) => Object.keys(metafile.outputs[out]!.inputs));
}

test("the compiled entry loads the command table, commander and the version, and no feature", () => {
  const entry = Object.keys(built.metafile.outputs).find((out) => out.endsWith("/continuum.js"))!;
  const main = Object.keys(built.metafile.outputs).find((out) =>
    Object.keys(built.metafile.outputs[out]!.inputs).includes("plugins/cli/main.ts"),
  )!;
  const inputs = [...staticInputs(built.metafile, entry), ...staticInputs(built.metafile, main)];
  assert.ok(inputs.includes("plugins/cli/commands.ts"), inputs.join("\n"));
  const heavy = inputs.filter((input) =>
    /zod|better-sqlite3|quickjs|@opencode-ai|plugins\/(?!cli\/(main|commands|kit|entry)\.ts|core\/version\.ts)/.test(
      input,
    ),
  );
  assert.deepEqual(heavy, [], "loaded before --version answers");
  // Every subcommand module is its own chunk, imported on demand.
  for (const module of ["plugins/cli/stats.ts", "plugins/memory/cli.ts", "plugins/workflow/cli.ts"])
    assert.ok(!inputs.includes(module), module);
});

test("the compiled CLI prints what the checkout launcher prints", async () => {
  await withIsolatedDirs(async (root) => {
    const project = join(root, "project");
    mkdirSync(project);
    const env = { ...process.env };
    const run = (cli: string, args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], { cwd: project, env, encoding: "utf8" });
    const version = run(built.entry, ["--version"]);
    assert.equal(version.stdout.trim(), PACK_VERSION);
    for (const args of [
      ["--help"],
      ["stats", "--json"],
      ["stats", "--help"],
      ["memry"],
      ["memory", "status", "--json"],
    ]) {
      const compiled = run(built.entry, args);
      const checkout = run(LAUNCHER, args);
      assert.equal(compiled.stdout, checkout.stdout, args.join(" "));
      assert.equal(compiled.stderr, checkout.stderr, args.join(" "));
      assert.equal(compiled.status, checkout.status, args.join(" "));
    }
  });
});
