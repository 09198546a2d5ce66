// The OpenCode releases the pack was tested on: `continuum.testedOpencode` of the installed pack's package.json, the
// one place it is written. It is narrower than engines.opencode (the releases OpenCode may load the pack on, which
// OpenCode's npm loader enforces), so a user whose OpenCode updated itself past what was tested hears about it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "./assets.ts";

export function testedOpencodeRange(root = PACK_ROOT): string {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    continuum?: { testedOpencode?: unknown };
  };
  const range = pkg.continuum?.testedOpencode;
  if (typeof range !== "string" || !range.trim()) throw new Error(`no continuum.testedOpencode in ${root}package.json`);
  return range.trim();
}
