// Compiles the continuum CLI (plugins/cli/entry.ts) for the published package: one ESM entry plus one chunk per
// lazily imported subcommand module, so `continuum --version` or `continuum stats` loads only what it runs.
// Called by scripts/build.mjs; alone: node -e 'import("./scripts/build-cli.mjs").then((m) => m.buildCli({ outdir: "dist/cli" }))'
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** better-sqlite3 is native (loaded from node_modules); bun:sqlite exists only inside Bun (never reached under Node). */
const EXTERNAL = ["better-sqlite3", "bun:sqlite"];

/**
 * zod's `z` namespace re-exports all 47 message locales (about half of zod's size). The pack never reads
 * `z.locales` (zod itself installs English at import), so the bundle gets a locales index holding English only:
 * less to parse at every start.
 */
const englishOnlyZodLocales = {
  name: "english-only-zod-locales",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), "..", "locales", "index.js"), namespace: "zod-locales" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
      loader: "js",
    }));
  },
};

/**
 * @param {{ outdir: string }} options outdir is the CLI's own directory (dist/cli): continuum.js and its chunks.
 * @returns {Promise<{ entry: string, files: string[], metafile: import("esbuild").Metafile }>}
 */
export async function buildCli({ outdir }) {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { continuum: "plugins/cli/entry.ts" },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    // Dependencies are bundled: one file per chunk instead of commander's and zod's dozens of files resolved and
    // compiled one by one at every start (better-sqlite3 stays external: native).
    packages: "bundle",
    // Less source to parse at every start; names are kept so a stack trace still reads.
    minifyWhitespace: true,
    minifySyntax: true,
    // ESM builds first: jsonc-parser's UMD main requires its own files by relative path, which a bundle cannot.
    mainFields: ["module", "main"],
    // The version is known at build time: no package.json read at start, and none needed next to the output.
    define: { __CONTINUUM_VERSION__: JSON.stringify(version) },
    // Bundled CommonJS dependencies (commander, …) call require() for Node built-ins, which an ES module lacks.
    banner: {
      js: '#!/usr/bin/env node\nimport { createRequire as __continuumRequire } from "node:module";\nglobalThis.require ??= __continuumRequire(import.meta.url);',
    },
    // Chunks sit next to continuum.js, two levels under the package root like plugins/core/*.ts, so PACK_ROOT
    // (new URL("../../", import.meta.url) in core/assets.ts) still names the package root from any output file.
    chunkNames: "[name]-[hash]",
    plugins: [englishOnlyZodLocales],
    metafile: true,
    logLevel: "warning",
  });
  const files = Object.keys(result.metafile.outputs);
  return { entry: join(outdir, "continuum.js"), files, metafile: result.metafile };
}
