// The pack's version, so the doctor and logs agree with the installed files.
import { readFileSync } from "node:fs";

// Set by both compiled entries (esbuild `define` in scripts/build*.mjs): fixed at build time, so `continuum --version`
// loads nothing else. Only the TypeScript sources (plugins/core/) read package.json, two folders up.
declare const __CONTINUUM_VERSION__: string | undefined;

export const PACK_VERSION: string =
  typeof __CONTINUUM_VERSION__ === "string"
    ? __CONTINUUM_VERSION__
    : (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
