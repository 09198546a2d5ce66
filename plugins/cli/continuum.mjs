#!/usr/bin/env node
// Launcher of the continuum CLI: registers tsx so the TypeScript sources run under Node without a build step.
import { register } from "tsx/esm/api";

// `continuum memory list | head`: the reader went away; stop quietly instead of printing a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error && error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
