// The install manifest: where the pack was installed, and exactly what it added there, so uninstall removes exactly
// that. One JSON file per target under the pack's data dir, keyed by the config dir's hash.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dataRoot, globalConfigDir, packPaths } from "../core/paths.ts";
import { CliError } from "./kit.ts";

export interface InstallTarget {
  scope: "global" | "project";
  /** The OpenCode config dir written to. */
  configDir: string;
  /** For project installs, the project directory. */
  projectDir?: string;
}

export interface ManifestEntry {
  path: string;
  kind: "file" | "dir" | "link";
  sha256?: string;
  /** For links: what the link points to. */
  target?: string;
}

export interface Manifest {
  pack: string;
  version: string;
  packRoot: string;
  target: InstallTarget;
  installedAt: string;
  /** What install created (files with their content hash; dirs that did not exist). */
  created: ManifestEntry[];
  /** What OpenCode created in the config dir while the doctor ran it (removed on uninstall if unchanged). */
  hostByproducts: ManifestEntry[];
  /** Top-level names in the config dir before the first install. */
  before: string[];
  /** The block added to the project repository's .git/info/exclude (machine-local ignore, never committed). */
  gitExclude?: { file: string; createdFile: boolean };
  /** A package install (no checkout): the opencode.json(c) edit and how to undo it (install-package.ts). */
  configEntry?: { file: string; createdFile: boolean; original?: string; written: string };
}

export function resolveTarget(projectDir: string | undefined, env = process.env): InstallTarget {
  if (projectDir === undefined) return { scope: "global", configDir: globalConfigDir(env) };
  const dir = resolve(projectDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--project ${projectDir}: not a directory`);
  return { scope: "project", configDir: join(dir, ".opencode"), projectDir: dir };
}

export function manifestPath(target: InstallTarget, env = process.env): string {
  const key = createHash("sha256").update(target.configDir).digest("hex").slice(0, 16);
  return join(packPaths(dataRoot(env)).installs, `${key}.json`);
}

export function readManifest(target: InstallTarget, env = process.env): Manifest | undefined {
  const file = manifestPath(target, env);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch (error) {
    throw new CliError(
      `the install manifest ${file} is damaged (${(error as Error).message}); remove it and install again`,
    );
  }
}

export function writeManifest(target: InstallTarget, manifest: Manifest, env = process.env): void {
  const file = manifestPath(target, env);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
}

export function listNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}
