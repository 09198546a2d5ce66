#!/usr/bin/env node
// Launcher of the continuum CLI from a checkout: registers tsx so the TypeScript sources run under Node without a
// build step. The published package runs the compiled dist/cli/continuum.js instead (scripts/build-cli.mjs).
import { register } from "tsx/esm/api";

register();
await import("./entry.ts");
