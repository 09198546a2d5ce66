// Installs the pack into an existing OpenCode (global config dir, or one project's .opencode/) by writing one
// small plugin file that imports the entry from this repository, so nothing is fetched at start-up. A manifest
// under the pack's data dir records exactly what was added, so uninstall removes exactly that.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PACK_ROOT } from "../core/assets.ts";
import { dataRoot, globalConfigDir, packPaths } from "../core/paths.ts";
import { PACK_VERSION } from "../core/version.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { runDoctor, type DoctorTarget } from "./doctor.ts";
import type { Subcommand } from "./main.ts";

export const SHIM_MARKER = "// installed by opencode-continuum";
/** Files OpenCode itself creates in a config dir it starts in (its npm install of @opencode-ai/plugin). */
const HOST_BYPRODUCTS = ["package.json", "package-lock.json", "bun.lock", ".gitignore", "node_modules", "opencode.jsonc"];

export interface InstallTarget {
  scope: "global" | "project";
  /** The OpenCode config dir written to. */
  configDir: string;
  /** For project installs, the project directory. */
  projectDir?: string;
}

interface ManifestEntry {
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
}

export function resolveTarget(projectDir: string | undefined, env = process.env): InstallTarget {
  if (!projectDir) return { scope: "global", configDir: globalConfigDir(env) };
  const dir = resolve(projectDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--project ${projectDir}: not a directory`);
  return { scope: "project", configDir: join(dir, ".opencode"), projectDir: dir };
}

export function manifestPath(target: InstallTarget, env = process.env): string {
  const key = createHash("sha256").update(target.configDir).digest("hex").slice(0, 16);
  return join(packPaths(dataRoot(env)).installs, `${key}.json`);
}

export function readManifest(target: InstallTarget, env = process.env): Manifest | undefined {
  const file = manifestPath(target, env);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

export function shimSource(packRoot = PACK_ROOT): string {
  const entry = join(packRoot, "plugins", "continuum.ts");
  return `${SHIM_MARKER} ${PACK_VERSION}; remove with: ${join(packRoot, "install.sh")} --uninstall\nexport { default } from ${JSON.stringify(entry)};\n`;
}

/** Writes the plugin shim; returns the manifest. Refuses to overwrite a file the pack did not write. */
export function installFiles(target: InstallTarget, log: (line: string) => void, env = process.env): Manifest {
  const previous = readManifest(target, env);
  const before = previous?.before ?? listNames(target.configDir);
  const created: ManifestEntry[] = previous?.created.filter((e) => e.kind === "dir") ?? [];
  const pluginsDir = join(target.configDir, "plugins");
  for (const dir of [target.configDir, pluginsDir]) {
    if (existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true });
    created.push({ path: dir, kind: "dir" });
    log(`created ${dir}/`);
  }
  const shimPath = join(pluginsDir, "continuum.ts");
  if (existsSync(shimPath) && !readFileSync(shimPath, "utf8").startsWith(SHIM_MARKER)) {
    throw new Error(`${shimPath} exists and was not written by opencode-continuum; move it away and run again`);
  }
  const source = shimSource();
  const unchanged = existsSync(shimPath) && readFileSync(shimPath, "utf8") === source;
  writeFileSync(shimPath, source);
  log(unchanged ? `kept ${shimPath} (already current)` : `wrote ${shimPath} → ${join(PACK_ROOT, "plugins", "continuum.ts")}`);
  const links = linkSkills(target.configDir, created, log);
  const manifest: Manifest = {
    pack: "opencode-continuum",
    version: PACK_VERSION,
    packRoot: PACK_ROOT,
    target,
    installedAt: new Date().toISOString(),
    created: [...created.filter((e) => e.path !== shimPath), { path: shimPath, kind: "file", sha256: sha256(source) }, ...links],
    hostByproducts: previous?.hostByproducts ?? [],
    before,
  };
  writeManifest(target, manifest, env);
  log(`recorded what was added in ${manifestPath(target, env)}`);
  return manifest;
}

/**
 * Skills are linked, not copied, so the repository stays their source of truth. A skill of the same name that
 * the user already has is theirs and wins: it is left alone.
 */
function linkSkills(configDir: string, created: ManifestEntry[], log: (line: string) => void): ManifestEntry[] {
  const source = join(PACK_ROOT, "skills");
  if (!existsSync(source)) return [];
  const names = readdirSync(source).filter((name) => existsSync(join(source, name, "SKILL.md")));
  if (names.length === 0) return [];
  const skillsDir = join(configDir, "skills");
  if (!existsSync(skillsDir)) {
    mkdirSync(skillsDir, { recursive: true });
    created.push({ path: skillsDir, kind: "dir" });
  }
  const links: ManifestEntry[] = [];
  for (const name of names) {
    const link = join(skillsDir, name);
    const ours = join(source, name);
    const existing = lstatSafe(link);
    if (existing && !(existing.isSymbolicLink() && readlinkSync(link) === ours)) {
      log(`kept your own skill ${link} (it takes the place of the pack's ${name})`);
      continue;
    }
    if (!existing) symlinkSync(ours, link);
    links.push({ path: link, kind: "link", target: ours });
    log(`${existing ? "kept" : "linked"} skill ${link} → ${ours}`);
  }
  return links;
}

function lstatSafe(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** After the doctor ran OpenCode, remember the files OpenCode itself created, so uninstall can restore the dir. */
export function recordHostByproducts(target: InstallTarget, env = process.env): void {
  const manifest = readManifest(target, env);
  if (!manifest) return;
  const known = new Set(manifest.hostByproducts.map((e) => e.path));
  for (const name of HOST_BYPRODUCTS) {
    const path = join(target.configDir, name);
    if (manifest.before.includes(name) || known.has(path) || !existsSync(path)) continue;
    const isDir = statSync(path).isDirectory();
    manifest.hostByproducts.push(isDir ? { path, kind: "dir" } : { path, kind: "file", sha256: sha256(readFileSync(path)) });
  }
  writeManifest(target, manifest, env);
}

export interface UninstallReport {
  removed: string[];
  kept: string[];
}

/** Removes exactly what install added; a file the user changed since is kept and reported. */
export function uninstallFiles(target: InstallTarget, log: (line: string) => void, env = process.env): UninstallReport {
  const manifest = readManifest(target, env);
  if (!manifest) throw new Error(`opencode-continuum is not installed in ${target.configDir} (no manifest at ${manifestPath(target, env)})`);
  const report: UninstallReport = { removed: [], kept: [] };
  const byproductFiles = manifest.hostByproducts.filter((e) => e.kind === "file");
  const removedPackageJson = removeFiles(byproductFiles, report, log);
  // OpenCode's node_modules goes only with the package.json it was installed for.
  for (const dir of manifest.hostByproducts.filter((e) => e.kind === "dir")) {
    const packageJson = join(target.configDir, "package.json");
    if (removedPackageJson || !existsSync(packageJson)) {
      rmSync(dir.path, { recursive: true, force: true });
      report.removed.push(dir.path);
      log(`removed ${dir.path}/ (created by OpenCode during the install doctor)`);
    }
  }
  removeFiles(manifest.created.filter((e) => e.kind === "file"), report, log);
  removeLinks(manifest.created.filter((e) => e.kind === "link"), report, log);
  for (const dir of manifest.created.filter((e) => e.kind === "dir").reverse()) removeDirIfEmpty(dir.path, report, log);
  rmSync(manifestPath(target, env), { force: true });
  return report;
}

function removeFiles(entries: ManifestEntry[], report: UninstallReport, log: (line: string) => void): boolean {
  let removedPackageJson = false;
  for (const entry of entries) {
    if (!existsSync(entry.path)) continue;
    if (sha256(readFileSync(entry.path)) !== entry.sha256) {
      report.kept.push(entry.path);
      log(`kept ${entry.path}: changed since install`);
      continue;
    }
    rmSync(entry.path, { force: true });
    report.removed.push(entry.path);
    if (entry.path.endsWith("package.json")) removedPackageJson = true;
    log(`removed ${entry.path}`);
  }
  return removedPackageJson;
}

function removeLinks(entries: ManifestEntry[], report: UninstallReport, log: (line: string) => void): void {
  for (const entry of entries) {
    const stat = lstatSafe(entry.path);
    if (!stat) continue;
    if (!stat.isSymbolicLink() || readlinkSync(entry.path) !== entry.target) {
      report.kept.push(entry.path);
      log(`kept ${entry.path}: replaced since install`);
      continue;
    }
    unlinkSync(entry.path);
    report.removed.push(entry.path);
    log(`removed ${entry.path}`);
  }
}

function removeDirIfEmpty(dir: string, report: UninstallReport, log: (line: string) => void): void {
  if (!existsSync(dir)) return;
  if (readdirSync(dir).length > 0) {
    report.kept.push(dir);
    log(`kept ${dir}/: not empty`);
    return;
  }
  rmdirSync(dir);
  report.removed.push(dir);
  log(`removed ${dir}/`);
}

function writeManifest(target: InstallTarget, manifest: Manifest, env = process.env): void {
  const file = manifestPath(target, env);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
}

function listNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

// Separate option sets, so `install --purge-data` or `uninstall --no-doctor` is an error, not silently ignored.
function parseInstallArgs(args: string[]) {
  const options = { project: { type: "string" }, "no-doctor": { type: "boolean", default: false }, opencode: { type: "string" } } as const;
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

function parseUninstallArgs(args: string[]) {
  const options = { project: { type: "string" }, "purge-data": { type: "boolean", default: false } } as const;
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

export const installCommand: Subcommand = {
  summary: "install into OpenCode (global, or --project DIR), then run the doctor",
  usage: "continuum install [--project DIR] [--no-doctor] [--opencode BIN]",
  async run(args) {
    const options = parseInstallArgs(args);
    const target = resolveTarget(options.project);
    const log = (line: string) => console.log(`  ${line}`);
    console.log(`opencode-continuum ${PACK_VERSION}: installing into ${target.scope === "global" ? "global OpenCode config" : target.projectDir} (${target.configDir})`);
    installFiles(target, log);
    if (options["no-doctor"]) {
      console.log("done (doctor skipped). Run: continuum doctor" + (target.projectDir ? ` --project ${target.projectDir}` : ""));
      return 0;
    }
    const doctorTarget: DoctorTarget = { projectDir: target.projectDir, opencode: options.opencode };
    const result = await runDoctor(doctorTarget);
    recordHostByproducts(target);
    return result.ok ? 0 : 1;
  },
};

export const uninstallCommand: Subcommand = {
  summary: "remove exactly what install added (--purge-data also deletes the pack's data for that scope)",
  usage: "continuum uninstall [--project DIR] [--purge-data]",
  async run(args) {
    const options = parseUninstallArgs(args);
    const target = resolveTarget(options.project);
    console.log(`opencode-continuum: uninstalling from ${target.configDir}`);
    const report = uninstallFiles(target, (line) => console.log(`  ${line}`));
    if (options["purge-data"]) purgeData(target);
    else console.log(`  your memory, checkpoints and settings were left in place (${dataRoot()}); add --purge-data to delete them`);
    console.log(`done: ${report.removed.length} removed, ${report.kept.length} kept`);
    return 0;
  },
};

function purgeData(target: InstallTarget): void {
  if (target.scope === "global") {
    rmSync(dataRoot(), { recursive: true, force: true });
    console.log(`  deleted ${dataRoot()}`);
    return;
  }
  const project = resolveProjectIdentity(target.projectDir!);
  const dir = packPaths(dataRoot()).project(project.id).root;
  rmSync(dir, { recursive: true, force: true });
  console.log(`  deleted ${dir} (this project's memory, sessions and checkpoints)`);
}
