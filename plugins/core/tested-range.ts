// The OpenCode range the pack was tested on: engines.opencode of the installed pack's package.json, the one place
// it is written (OpenCode's npm loader reads the same field), read when the pack starts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "./assets.ts";

export function testedOpencodeRange(root = PACK_ROOT): string {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines?: { opencode?: unknown } };
  const range = pkg.engines?.opencode;
  if (typeof range !== "string" || !range.trim()) throw new Error(`no engines.opencode in ${root}package.json`);
  return range.trim();
}
