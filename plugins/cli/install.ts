// Installs the pack into an existing OpenCode (global config dir, or one project's .opencode/) by writing one
// small plugin file that imports the entry from this repository, so nothing is fetched at start-up. A manifest
// under the pack's data dir records exactly what was added, so uninstall removes exactly that.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { PACK_ROOT } from "../core/assets.ts";
import { dataRoot, globalConfigDir, packPaths } from "../core/paths.ts";
import { PACK_VERSION } from "../core/version.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { runDoctor, type DoctorTarget } from "./doctor.ts";
import { act, CliError } from "./kit.ts";
import {
  describeRecovery,
  purgeGlobal,
  purgeProject,
  purgeRepositoryTraces,
  recoveryMaterial,
  removeEmpty,
  type RecoveryMaterial,
} from "./purge.ts";

export const SHIM_MARKER = "// installed by opencode-continuum";
/** Files OpenCode itself creates in a config dir it starts in (its npm install of @opencode-ai/plugin). */
const HOST_BYPRODUCTS = [
  "package.json",
  "package-lock.json",
  "bun.lock",
  ".gitignore",
  "node_modules",
  "opencode.jsonc",
];

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
  /** The block added to the project repository's .git/info/exclude (machine-local ignore, never committed). */
  gitExclude?: { file: string; createdFile: boolean };
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

/**
 * The plugin file OpenCode loads. It imports this checkout at start-up; when the checkout was moved, deleted or
 * broken, the import fails, and instead of OpenCode silently running without the pack the shim tells the user
 * (OpenCode's log and one toast) what happened and how to fix it.
 */
export function shimSource(packRoot = PACK_ROOT): string {
  const entry = join(packRoot, "plugins", "continuum.ts");
  return `${SHIM_MARKER} ${PACK_VERSION}; remove with: ${join(packRoot, "install.sh")} --uninstall
// Machine-local: it imports the pack from this machine's checkout, so it is kept out of git (.git/info/exclude).
const entry = ${JSON.stringify(entry)};
const server = async (input, options) => {
  try {
    const pack = await import(entry);
    return await pack.default.server(input, options);
  } catch (error) {
    const message = \`opencode-continuum is installed but could not load from \${entry}: \${error instanceof Error ? error.message : String(error)}. Memory, checkpoints, tasks and goals are off. Run install.sh again from the checkout you keep (or ${join(packRoot, "install.sh")} --uninstall).\`;
    // Never awaited: the client calls back into the OpenCode server that is still starting this plugin.
    const quietly = (call) => { try { Promise.resolve(call()).catch(() => {}); } catch {} };
    quietly(() => input.client.app.log({ body: { service: "opencode-continuum", level: "error", message } }));
    // The toast waits for the first session activity, so a TUI that connects after start-up still shows it, once.
    let told = false;
    return {
      event: async ({ event }) => {
        if (told || !/^(session|message|tui|command)\\\./.test(event.type)) return;
        told = true;
        quietly(() => input.client.tui.showToast({ body: { title: "continuum", message, variant: "error" } }));
      },
    };
  }
};
export default { id: "opencode-continuum", server };
`;
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
  log(
    unchanged
      ? `kept ${shimPath} (already current)`
      : `wrote ${shimPath} → ${join(PACK_ROOT, "plugins", "continuum.ts")}`,
  );
  dropOldSkillLinks(previous, log);
  const manifest: Manifest = {
    pack: "opencode-continuum",
    version: PACK_VERSION,
    packRoot: PACK_ROOT,
    target,
    installedAt: new Date().toISOString(),
    created: [...created.filter((e) => e.path !== shimPath), { path: shimPath, kind: "file", sha256: sha256(source) }],
    hostByproducts: previous?.hostByproducts ?? [],
    before,
    gitExclude: previous?.gitExclude,
  };
  if (target.projectDir) manifest.gitExclude = excludeFromGit(target.projectDir, manifest, log) ?? manifest.gitExclude;
  writeManifest(target, manifest, env);
  log(`recorded what was added in ${manifestPath(target, env)}`);
  return manifest;
}

/**
 * The pack's skills are not linked into the config dir: the plugin offers them itself (skills.paths, see
 * core/skills.ts), so a user's skill of the same name anywhere always wins. Links an earlier install made are
 * removed here (if still the pack's), so they no longer compete with a user's override.
 */
function dropOldSkillLinks(previous: Manifest | undefined, log: (line: string) => void): void {
  const links = previous?.created.filter((e) => e.kind === "link") ?? [];
  if (links.length === 0) return;
  const report: UninstallReport = { removed: [], kept: [] };
  removeLinks(links, report, log);
  if (report.removed.length)
    log(
      `the pack's skills are now offered by the plugin itself: removed ${report.removed.length} skill link(s) of an earlier install`,
    );
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
    manifest.hostByproducts.push(
      isDir ? { path, kind: "dir" } : { path, kind: "file", sha256: sha256(readFileSync(path)) },
    );
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
  if (!manifest)
    throw new CliError(
      `opencode-continuum is not installed in ${target.configDir} (no manifest at ${manifestPath(target, env)})`,
    );
  const report: UninstallReport = { removed: [], kept: [] };
  adoptHostByproducts(target, manifest);
  if (manifest.gitExclude) removeGitExclude(manifest.gitExclude, log);
  const byproductFiles = manifest.hostByproducts.filter((e) => e.kind === "file");
  const removedPackageJson = removeFiles(byproductFiles, report, log);
  // OpenCode's node_modules goes only with the package.json it was installed for.
  for (const dir of manifest.hostByproducts.filter((e) => e.kind === "dir")) {
    const packageJson = join(target.configDir, "package.json");
    if (removedPackageJson || !existsSync(packageJson)) {
      rmSync(dir.path, { recursive: true, force: true });
      report.removed.push(dir.path);
      log(`removed ${dir.path}/ (created by OpenCode in a config dir the install created, or while the doctor ran)`);
    }
  }
  removeFiles(
    manifest.created.filter((e) => e.kind === "file"),
    report,
    log,
  );
  removeLinks(
    manifest.created.filter((e) => e.kind === "link"),
    report,
    log,
  );
  for (const dir of manifest.created.filter((e) => e.kind === "dir").reverse()) removeDirIfEmpty(dir.path, report, log);
  rmSync(manifestPath(target, env), { force: true });
  // The last manifest gone leaves no empty installs/ (nor an empty data dir) behind.
  removeEmpty(packPaths(dataRoot(env)).installs);
  removeEmpty(dataRoot(env));
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

/**
 * A .opencode/ that the install created holds nothing of the user's, so what OpenCode itself put there later (its
 * npm install of @opencode-ai/plugin, with or without the doctor) goes with the uninstall, if it still looks like
 * OpenCode's: a package.json with no other dependency, a .gitignore of OpenCode's own names.
 */
function adoptHostByproducts(target: InstallTarget, manifest: Manifest): void {
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

const EXCLUDE_BEGIN = "# opencode-continuum: machine-local install (removed by its uninstall)";
const EXCLUDE_END = "# end opencode-continuum";

function git(cwd: string, ...args: string[]): string | undefined {
  const run = spawnSync("git", args, { cwd, encoding: "utf8" });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/**
 * The shim and skill links point into this machine's checkout: committed, they would break a teammate's OpenCode.
 * They go into the repository's .git/info/exclude, git's own per-clone ignore list, which is never committed and
 * is not one of the user's files (their .gitignore is left alone).
 */
function excludeFromGit(projectDir: string, manifest: Manifest, log: (line: string) => void): Manifest["gitExclude"] {
  const top = git(projectDir, "rev-parse", "--show-toplevel");
  const excludePath = git(projectDir, "rev-parse", "--git-path", "info/exclude");
  if (!top || !excludePath) return undefined;
  const file = resolve(projectDir, excludePath);
  const ours = manifest.created.filter((e) => e.kind !== "dir").map((e) => `/${relative(top, e.path)}`);
  const existed = existsSync(file);
  const current = existed ? readFileSync(file, "utf8") : "";
  const without = stripBlock(current);
  const block = [EXCLUDE_BEGIN, ...ours, EXCLUDE_END].join("\n");
  const next = `${without}${without && !without.endsWith("\n") ? "\n" : ""}${block}\n`;
  if (next !== current) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, next);
    log(
      `kept the machine-local shim and skill links out of git: ${file} (git's per-clone ignore list, never committed)`,
    );
  }
  return { file, createdFile: manifest.gitExclude?.createdFile ?? !existed };
}

function stripBlock(text: string): string {
  const start = text.indexOf(EXCLUDE_BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(EXCLUDE_END, start);
  const after = end < 0 ? "" : text.slice(end + EXCLUDE_END.length).replace(/^\n/, "");
  return text.slice(0, start) + after;
}

function removeGitExclude(exclude: NonNullable<Manifest["gitExclude"]>, log: (line: string) => void): void {
  if (!existsSync(exclude.file)) return;
  const current = readFileSync(exclude.file, "utf8");
  const next = stripBlock(current);
  if (next === current) return;
  if (exclude.createdFile && next.trim() === "") rmSync(exclude.file);
  else writeFileSync(exclude.file, next);
  log(`removed the pack's lines from ${exclude.file}`);
}

/** How to run the CLI: `continuum` when that resolves to this checkout, else the launcher's full path. */
export function cliInvocation(env = process.env): { onPath: boolean; command: string; linkLine?: string } {
  const launcher = join(PACK_ROOT, "plugins", "cli", "continuum.mjs");
  const dirs = (env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of dirs) {
    try {
      if (realpathSync(join(dir, "continuum")) === realpathSync(launcher))
        return { onPath: true, command: "continuum" };
    } catch {
      /* not there */
    }
  }
  const home = env.HOME || homedir();
  const localBin = join(home, ".local", "bin");
  const linkLine = dirs.includes(localBin)
    ? `mkdir -p ${localBin} && ln -sf ${launcher} ${localBin}/continuum`
    : `mkdir -p ${localBin} && ln -sf ${launcher} ${localBin}/continuum && echo 'export PATH="$HOME/.local/bin:$PATH"' >> ~/.profile`;
  return { onPath: false, command: `node ${launcher}`, linkLine };
}

function printCliHint(): void {
  const cli = cliInvocation();
  if (cli.onPath) {
    console.log("the continuum command is on your PATH (continuum --help)");
    return;
  }
  console.log(`the continuum command is not on your PATH; to put it there, run:\n  ${cli.linkLine}`);
}

export function register(program: Command): void {
  program
    .command("install")
    .description("install into OpenCode (global, or --project DIR), then run the doctor")
    .option("--project <dir>", "install into this project's .opencode/ only")
    .option("--no-doctor", "skip the doctor's round trip through OpenCode")
    .option("--opencode <bin>", "the opencode binary the doctor starts")
    .action(
      act(async (o: { project?: string; doctor: boolean; opencode?: string }) => {
        const target = resolveTarget(o.project);
        const log = (line: string) => console.log(`  ${line}`);
        console.log(
          `opencode-continuum ${PACK_VERSION}: installing into ${target.scope === "global" ? "global OpenCode config" : target.projectDir} (${target.configDir})`,
        );
        installFiles(target, log);
        if (target.projectDir)
          log(
            "the plugin file is machine-local (it points at this checkout): do not commit it; teammates run install.sh themselves",
          );
        if (!o.doctor) {
          console.log(
            `done (doctor skipped). Check any time with: ${cliInvocation().command} doctor${target.projectDir ? ` --project ${target.projectDir}` : ""}`,
          );
          printCliHint();
          return 0;
        }
        const doctorTarget: DoctorTarget = { projectDir: target.projectDir, opencode: o.opencode };
        const result = await runDoctor(doctorTarget);
        recordHostByproducts(target);
        printCliHint();
        return result.ok ? 0 : 1;
      }),
    );

  program
    .command("uninstall")
    .description("remove exactly what install added; --purge-data also deletes the pack's data for that scope")
    .option("--project <dir>", "uninstall from this project (default: the global install)")
    .option(
      "--purge-data",
      "also delete the data of this scope: a project's memory, sessions, checkpoints and database rows; globally, all of the pack's data",
    )
    .action(
      act(async (o: { project?: string; purgeData?: boolean }) => {
        const target = resolveTarget(o.project);
        const installed = readManifest(target) !== undefined;
        if (!installed && !o.purgeData)
          throw new CliError(
            `opencode-continuum is not installed in ${target.configDir} (no manifest at ${manifestPath(target)})`,
          );
        console.log(`opencode-continuum: uninstalling from ${target.configDir}`);
        let report: UninstallReport = { removed: [], kept: [] };
        if (installed) report = uninstallFiles(target, (line) => console.log(`  ${line}`));
        else console.log(`  nothing installed there (already uninstalled); purging the data only`);
        if (o.purgeData) await purgeData(target);
        else
          console.log(
            `  your memory, checkpoints and settings were left in place (${dataRoot()}); add --purge-data to delete them`,
          );
        console.log(`done: ${report.removed.length} removed, ${report.kept.length} kept`);
        return 0;
      }),
    );
}

async function purgeData(target: InstallTarget): Promise<void> {
  const root = dataRoot();
  if (target.scope === "global") {
    const others = otherManifests(target);
    const projects = join(root, "projects");
    const material = await globalRecovery(projects);
    for (const line of describeRecovery(material)) console.log(`  ${line}`);
    const report = purgeGlobal(root, others);
    for (const line of await purgeRepositoryTraces(material)) console.log(`  removed ${line}`);
    console.log(
      "  backups of your index and tree (refs/continuum/backups/*) live in each repository: `continuum uninstall --project DIR --purge-data` deletes a project's",
    );
    console.log(
      `  deleted ${root} (all of the pack's data)${report.kept.length ? `, except the manifests of ${report.kept.length} project install(s) still in place` : ""}`,
    );
    return;
  }
  const project = resolveProjectIdentity(target.projectDir!);
  const material = await recoveryMaterial(packPaths(root).project(project.id).root, target.projectDir!);
  for (const line of describeRecovery(material)) console.log(`  ${line}`);
  const report = await purgeProject(root, project.id);
  for (const line of await purgeRepositoryTraces(material, target.projectDir!)) console.log(`  removed ${line}`);
  const rows = Object.values(report.rows).reduce((a, b) => a + b, 0);
  const dir = packPaths(root).project(project.id).root;
  const files = report.deleted.includes(dir)
    ? `deleted ${dir} (this project's memory, sessions and checkpoints)`
    : `no data folder for this project (${dir})`;
  console.log(
    `  ${files}; ${rows} database row(s) of this project deleted${report.deleted.includes(packPaths(root).database) ? ", and the database, which held nothing else" : ""}`,
  );
  const repoMemory = join(target.projectDir!, ".opencode", "memory");
  if (existsSync(repoMemory))
    console.log(
      `  kept ${repoMemory}: memory kept in the repository (memory.location "repo") is your project's; delete it yourself if you mean to`,
    );
}

/** The recovery material of every project folder (a global purge deletes them all). */
async function globalRecovery(projects: string): Promise<RecoveryMaterial> {
  const all: RecoveryMaterial = { files: [], worktrees: [], backupRefs: [] };
  if (!existsSync(projects)) return all;
  for (const name of readdirSync(projects)) {
    const one = await recoveryMaterial(join(projects, name));
    all.files.push(...one.files);
    all.worktrees.push(...one.worktrees);
  }
  return all;
}

/** Manifests of other install targets (project installs) that must survive a global purge. */
function otherManifests(target: InstallTarget): string[] {
  const dir = packPaths(dataRoot()).installs;
  if (!existsSync(dir)) return [];
  const own = manifestPath(target);
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => path !== own);
}
