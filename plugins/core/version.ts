// The pack's version, read once from package.json so the doctor and logs agree with the installed files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "./pack-root.ts";

// Set by the compiled builds (esbuild `define`): the version is fixed at build time, so a compiled entry reads no
// package.json at start.
declare const __CONTINUUM_VERSION__: string | undefined;

export const PACK_VERSION: string =
  typeof __CONTINUUM_VERSION__ === "string"
    ? __CONTINUUM_VERSION__
    : (JSON.parse(readFileSync(join(PACK_ROOT, "package.json"), "utf8")) as { version: string }).version;
