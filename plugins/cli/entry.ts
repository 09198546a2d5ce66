// The CLI's process entry, shared by the checkout launcher (continuum.mjs, through tsx) and the compiled
// dist/cli/continuum.js (scripts/build-cli.mjs): guards stdout/stderr, runs main(), sets the exit code.
import { main } from "./main.ts";

// `continuum memory list | head`: the reader went away; stop quietly instead of printing a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error && error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
