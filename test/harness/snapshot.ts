// A content snapshot of a directory tree, to prove an uninstall leaves a config dir exactly as it was.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, lstatSync, readlinkSync } from "node:fs";
import { join, relative } from "node:path";

export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) out[rel] = `link:${readlinkSync(path)}`;
      else if (stat.isDirectory()) {
        out[rel + "/"] = "dir";
        walk(path);
      } else out[rel] = createHash("sha256").update(readFileSync(path)).digest("hex");
    }
  };
  walk(root);
  return out;
}
