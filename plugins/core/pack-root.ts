// Where the pack's files live. From the TypeScript sources (plugins/core/) and from the built package (dist/, or
// dist/cli/ and its chunks) the module sits at different depths, so walk up to the folder whose package.json is ours.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "opencode-continuum";

export function findPackRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (isOurs(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`opencode-continuum: no package.json of ${PACKAGE_NAME} above ${from}`);
    dir = parent;
  }
}

function isOurs(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { name?: string }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** The pack's root folder, with a trailing separator as before (callers join paths under it). */
export const PACK_ROOT = join(findPackRoot(dirname(fileURLToPath(import.meta.url))), "/");
