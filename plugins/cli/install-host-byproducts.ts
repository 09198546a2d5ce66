// Files OpenCode itself writes into a config dir it starts in. Recorded so uninstall leaves the dir as it was:
// what OpenCode added because the pack was installed goes with the pack, the user's own files stay.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readManifest, sha256, writeManifest, type InstallTarget, type Manifest } from "./install-manifest.ts";

/** Files OpenCode itself creates in a config dir it starts in (its npm install of @opencode-ai/plugin). */
const HOST_BYPRODUCTS = [
  "package.json",
  "package-lock.json",
  "bun.lock",
  ".gitignore",
  "node_modules",
  "opencode.jsonc",
];

/** After the doctor ran OpenCode, remember the files OpenCode itself created, so uninstall can restore the dir. */
export function recordHostByproducts(target: InstallTarget, env = process.env): void {
  const manifest = readManifest(target, env);
  if (!manifest) return;
  const known = new Set(manifest.hostByproducts.map((e) => e.path));
  for (const name of HOST_BYPRODUCTS) {
    const path = join(target.configDir, name);
    if (manifest.before.includes(name) || known.has(path) || !existsSync(path)) continue;
    const isDir = statSync(path).isDirectory();
    manifest.hostByproducts.push(
      isDir ? { path, kind: "dir" } : { path, kind: "file", sha256: sha256(readFileSync(path)) },
    );
  }
  writeManifest(target, manifest, env);
}

/**
 * A .opencode/ that the install created holds nothing of the user's, so what OpenCode itself put there later (its
 * npm install of @opencode-ai/plugin, with or without the doctor) goes with the uninstall, if it still looks like
 * OpenCode's: a package.json with no other dependency, a .gitignore of OpenCode's own names.
 */
export function adoptHostByproducts(target: InstallTarget, manifest: Manifest): void {
  const createdConfigDir = manifest.created.some((e) => e.kind === "dir" && e.path === target.configDir);
  if (!createdConfigDir) return;
  const known = new Set(manifest.hostByproducts.map((e) => e.path));
  for (const name of HOST_BYPRODUCTS) {
    const path = join(target.configDir, name);
    if (known.has(path) || !existsSync(path) || !looksLikeOpencodes(name, path)) continue;
    const isDir = statSync(path).isDirectory();
    manifest.hostByproducts.push(
      isDir ? { path, kind: "dir" } : { path, kind: "file", sha256: sha256(readFileSync(path)) },
    );
  }
}

function looksLikeOpencodes(name: string, path: string): boolean {
  try {
    if (name === "package.json") {
      const json = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
      const deps = Object.keys((json.dependencies as Record<string, string>) ?? {});
      return Object.keys(json).every((k) => k === "dependencies") && deps.every((d) => d === "@opencode-ai/plugin");
    }
    if (name === ".gitignore") {
      const lines = readFileSync(path, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      return lines.every((l) =>
        ["node_modules", "package.json", "package-lock.json", "bun.lock", ".gitignore"].includes(
          l.replace(/^\/|\/$/g, ""),
        ),
      );
    }
    return name !== "opencode.jsonc";
  } catch {
    return false;
  }
}
