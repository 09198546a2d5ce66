// The installer of the published package: run from npm (`npx opencode-continuum install`), there is no checkout to
// point a shim at, so install adds the plugin entry `opencode-continuum@<version>` to the right opencode.json(c) and
// OpenCode installs the package itself. The manifest keeps the file's bytes from before, so uninstall puts them back
// exactly (or removes a file the install created); a file changed since gets only the entry taken out.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "../core/assets.ts";
import { PACK_VERSION } from "../core/version.ts";
import type { Check } from "./environment.ts";
import { CliError } from "./kit.ts";
import {
  listNames,
  manifestPath,
  readManifest,
  sha256,
  writeManifest,
  type InstallTarget,
  type Manifest,
} from "./install-manifest.ts";
import { addPluginEntry, ConfigEditError, newConfigText, removePluginEntry, specName } from "./opencode-config-edit.ts";

export const PACKAGE_NAME = "opencode-continuum";

/** The entry install writes: this package at exactly its own version. */
export const packSpec = (): string => `${PACKAGE_NAME}@${PACK_VERSION}`;

/** The config file a package install edits and how to undo it. */
export interface ConfigEntry {
  file: string;
  /** The install created the file: uninstall removes it. */
  createdFile: boolean;
  /** The file's bytes before the first install (base64), restored when the file is as install left it. */
  original?: string;
  /** sha256 of the bytes install wrote. */
  written: string;
}

/** A checkout has the TypeScript sources; the published package ships only dist/ and the markdown. */
export function isCheckout(root = PACK_ROOT): boolean {
  return existsSync(join(root, "plugins", "continuum.ts"));
}

/** The user's config file for the target: an existing opencode.jsonc or opencode.json, else a new opencode.json. */
export function configFileFor(target: InstallTarget): string {
  const dirs = target.projectDir ? [target.projectDir, join(target.projectDir, ".opencode")] : [target.configDir];
  const names = target.projectDir
    ? ["opencode.jsonc", "opencode.json"]
    : ["opencode.jsonc", "opencode.json", "config.json"];
  for (const dir of dirs) for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
  return join(dirs[0]!, "opencode.json");
}

/** Adds (or updates) the plugin entry and records how to undo it. */
export function installConfigEntry(target: InstallTarget, log: (line: string) => void, env = process.env): Manifest {
  const previous = readManifest(target, env);
  const file = previous?.configEntry?.file ?? configFileFor(target);
  const exists = existsSync(file);
  const before = exists ? readFileSync(file) : undefined;
  let text: string;
  let change: string;
  try {
    ({ text, change } = before
      ? addPluginEntry(before.toString("utf8"), packSpec(), file)
      : { text: newConfigText(packSpec()), change: "created" });
  } catch (error) {
    if (error instanceof ConfigEditError) throw new CliError(error.message);
    throw error;
  }
  if (change !== "kept") writeFileSync(file, text);
  log(
    `${change === "kept" ? "kept" : change === "created" ? "created" : "updated"} ${file}: "plugin" lists ${packSpec()}${change === "replaced" ? " (an older entry of the pack was replaced)" : ""}`,
  );
  const manifest: Manifest = {
    pack: PACKAGE_NAME,
    version: PACK_VERSION,
    packRoot: PACK_ROOT,
    target,
    installedAt: new Date().toISOString(),
    created: [],
    hostByproducts: previous?.hostByproducts ?? [],
    before: previous?.before ?? listNames(target.configDir),
    configEntry: undoRecord(file, before, text, previous?.configEntry),
  };
  writeManifest(target, manifest, env);
  log(`recorded what was changed in ${manifestPath(target, env)}`);
  return manifest;
}

/** Keeps the first install's "before" while the file is still as the pack left it (a re-install, an upgrade). */
function undoRecord(file: string, before: Buffer | undefined, text: string, previous?: ConfigEntry): ConfigEntry {
  const written = sha256(text);
  if (previous && before && sha256(before) === previous.written) return { ...previous, file, written };
  if (!before) return { file, createdFile: true, written };
  // An entry of the pack already in the file (an older version) is restored with the rest of the bytes.
  return { file, createdFile: false, original: before.toString("base64"), written };
}

/** Undoes the config edit: the bytes from before install when the file is as install left it, else the entry only. */
export function removeConfigEntry(
  entry: ConfigEntry,
  log: (line: string) => void,
): "restored" | "removed" | "edited" | "absent" {
  if (!existsSync(entry.file)) return "absent";
  const current = readFileSync(entry.file);
  if (sha256(current) === entry.written) {
    if (entry.createdFile) {
      rmSync(entry.file);
      log(`removed ${entry.file} (the install created it)`);
      return "removed";
    }
    writeFileSync(entry.file, Buffer.from(entry.original ?? "", "base64"));
    log(`restored ${entry.file} to its bytes from before install`);
    return "restored";
  }
  try {
    const { text, removed } = removePluginEntry(current.toString("utf8"), specName(packSpec()), entry.file);
    if (removed > 0) writeFileSync(entry.file, text);
    log(`${entry.file} changed since install: took out the pack's plugin entry only (${removed} removed)`);
  } catch (error) {
    if (!(error instanceof ConfigEditError)) throw error;
    log(
      `${entry.file} changed since install and no longer parses: left untouched; remove "${packSpec()}" from "plugin" yourself`,
    );
  }
  return "edited";
}

/** Doctor check of a package install: the config file lists the pack. */
export function checkConfigEntry(target: InstallTarget): Check {
  const file = configFileFor(target);
  const name = "installed plugin";
  if (!existsSync(file))
    return {
      name,
      status: "warn",
      detail: `no ${file} (run: npx ${packSpec()} install${target.projectDir ? " --project DIR" : ""})`,
    };
  const text = readFileSync(file, "utf8");
  let listed: boolean;
  try {
    listed = removePluginEntry(text, PACKAGE_NAME, file).removed > 0;
  } catch (error) {
    return { name, status: "fail", detail: (error as Error).message };
  }
  return listed
    ? { name, status: "ok", detail: `${file} lists ${PACKAGE_NAME}` }
    : { name, status: "warn", detail: `${file} does not list ${PACKAGE_NAME} (run: npx ${packSpec()} install)` };
}

/** Doctor check of the package itself: the built entry is there. */
export function checkPackage(root = PACK_ROOT): Check {
  const entry = join(root, "dist", "continuum.js");
  return existsSync(entry)
    ? { name: "pack package", status: "ok", detail: `${root} (${PACK_VERSION})` }
    : { name: "pack package", status: "fail", detail: `${entry} is missing: the package is incomplete, reinstall it` };
}
