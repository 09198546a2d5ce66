// Builds the continuum CLI into <outdir>/cli/: main.ts bundled with esbuild (ESM, code splitting so a subcommand loads
// only its own chunk, packages left external), behind a small Node launcher. Minimal version by the package helper;
// the fast-CLI work replaces it with the same export.
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";

const LAUNCHER = `#!/usr/bin/env node
// Launcher of the built continuum CLI (no TypeScript at run time).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error && error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import("./main.js");
process.exitCode = await main(process.argv.slice(2));
`;

/** Writes <outdir>/cli/continuum.js (the bin) and main.js plus its chunks. */
export async function buildCli({ outdir, root = process.cwd() }) {
  const dir = join(outdir, "cli");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { main: "plugins/cli/main.ts" },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    external: ["bun:*"],
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
  });
  const bin = join(dir, "continuum.js");
  await writeFile(bin, LAUNCHER);
  await chmod(bin, 0o755);
  return { bin };
}
