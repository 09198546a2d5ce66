// The pack's version, read once from package.json so the doctor and logs agree with the installed files.
import { readFileSync } from "node:fs";

// Set by the compiled builds (esbuild `define`, scripts/build-cli.mjs): the version is fixed at build time, so a
// compiled entry needs no package.json at a fixed distance from its own file.
declare const __CONTINUUM_VERSION__: string | undefined;

export const PACK_VERSION: string =
  typeof __CONTINUUM_VERSION__ === "string"
    ? __CONTINUUM_VERSION__
    : (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
