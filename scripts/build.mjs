// `npm run build` (also run by `npm pack` through prepack): compiles the publishable package into dist/.
// - dist/continuum.js: the OpenCode plugin entry (ESM, dependencies external; runs in OpenCode's Bun) and its types.
// - dist/cli/: the continuum CLI (scripts/build-cli.mjs).
// The markdown agents, commands, skills, workflows and the config schema ship as they are, beside dist/: the code
// finds them from the package root (plugins/core/pack-root.ts).
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildCli } from "./build-cli.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = join(root, "dist");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const TYPES = `// Types of the opencode-continuum plugin entry: an OpenCode v1 plugin module.
import type { Plugin } from "@opencode-ai/plugin";
declare const continuum: { id: string; server: Plugin };
export default continuum;
`;

export async function buildAll() {
  const started = Date.now();
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { continuum: "plugins/continuum.ts" },
    outdir,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    packages: "external",
    external: ["bun:*"],
    // The version fixed at build time, as in the CLI (core/version.ts falls back to package.json without it).
    define: { __CONTINUUM_VERSION__: JSON.stringify(version) },
    logLevel: "warning",
  });
  await writeFile(join(outdir, "continuum.d.ts"), TYPES);
  await buildCli({ outdir: join(outdir, "cli") });
  return Date.now() - started;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ms = await buildAll();
  // stderr: `npm pack --json` prints its JSON on stdout after the prepack script.
  console.error(`built dist/ in ${ms} ms`);
}
