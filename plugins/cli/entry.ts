// The CLI's process entry, shared by the checkout launcher (continuum.mjs, through tsx) and the compiled
// dist/cli/continuum.js (scripts/build-cli.mjs): guards stdout/stderr, runs main(), sets the exit code.
import module from "node:module";

// Node 22.1+ keeps compiled code on disk between runs: parsing and compiling the CLI's modules is a good part of a
// quick command's start. Before main.ts is imported, so its imports are cached too; older Node lacks it (no-op).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// `continuum memory list | head`: the reader went away; stop quietly instead of printing a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error && error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
