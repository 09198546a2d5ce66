// Installs the pack into an existing OpenCode (global config dir, or one project's .opencode/) by writing one
// small plugin file that imports the entry from this repository, so nothing is fetched at start-up. A manifest
// under the pack's data dir records exactly what was added, so uninstall removes exactly that.
// This file is the `install` and `uninstall` commands and what they print; the work is in the install-*.ts modules.
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { PACK_ROOT } from "../core/assets.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
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
  type RecoveryMaterial,
} from "./purge.ts";
import { recordHostByproducts } from "./install-host-byproducts.ts";
import { manifestPath, readManifest, resolveTarget, type InstallTarget } from "./install-manifest.ts";
import { installFiles } from "./install-shim.ts";
import { installConfigEntry, isCheckout, packSpec } from "./install-package.ts";
import { uninstallFiles, type UninstallReport } from "./install-uninstall.ts";

// The names importers used from this path before the split stay reachable here.
export { recordHostByproducts } from "./install-host-byproducts.ts";
export { manifestPath, readManifest, resolveTarget, type InstallTarget, type Manifest } from "./install-manifest.ts";
export { SHIM_MARKER, installFiles, shimSource } from "./install-shim.ts";
export { uninstallFiles, type UninstallReport } from "./install-uninstall.ts";

/** How to run the CLI: `continuum` when that resolves to this checkout, else the launcher's full path. */
export function cliInvocation(env = process.env): { onPath: boolean; command: string; linkLine?: string } {
  const checkout = isCheckout();
  const launcher = checkout
    ? join(PACK_ROOT, "plugins", "cli", "continuum.mjs")
    : join(PACK_ROOT, "dist", "cli", "continuum.js");
  const dirs = (env.PATH ?? "").split(":").filter(Boolean);
  for (const dir of dirs) {
    try {
      if (realpathSync(join(dir, "continuum")) === realpathSync(launcher))
        return { onPath: true, command: "continuum" };
    } catch {
      /* not there */
    }
  }
  // From npm the package lives in npx's cache: name the package, not a path that may be gone tomorrow.
  if (!checkout) return { onPath: false, command: `npx ${packSpec()}` };
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
  if (!cli.linkLine) {
    console.log(
      `run the continuum command as: ${cli.command} --help (or npm install -g ${packSpec()} for \`continuum\`)`,
    );
    return;
  }
  console.log(`the continuum command is not on your PATH; to put it there, run:\n  ${cli.linkLine}`);
}

export function register(program: Command): void {
  program
    .command("install")
    .description("install into OpenCode (global, or --project DIR), then run the doctor")
    .option(
      "--project <dir>",
      "install into this project only (a checkout: its .opencode/; the package: its opencode.json)",
    )
    .option("--global", "install into the global OpenCode config (the default)")
    .option("--no-doctor", "skip the doctor's round trip through OpenCode")
    .option("--opencode <bin>", "the opencode binary the doctor starts")
    .action(
      act(async (o: { project?: string; global?: boolean; doctor: boolean; opencode?: string }) => {
        if (o.global && o.project !== undefined) throw new CliError("--global and --project exclude each other");
        const target = resolveTarget(o.project);
        const log = (line: string) => console.log(`  ${line}`);
        console.log(
          `opencode-continuum ${PACK_VERSION}: installing into ${target.scope === "global" ? "global OpenCode config" : target.projectDir} (${target.configDir})`,
        );
        const checkout = isCheckout();
        log(
          checkout
            ? "from a checkout: a plugin file that imports this checkout"
            : `from the package: the plugin entry ${packSpec()} in opencode.json (OpenCode installs the package itself)`,
        );
        if (checkout) installFiles(target, log);
        else installConfigEntry(target, log);
        if (checkout && target.projectDir)
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
    .option("--global", "uninstall the global install (the default)")
    .option(
      "--purge-data",
      "also delete the data of this scope: a project's memory, sessions, checkpoints and database rows; globally, all of the pack's data",
    )
    .action(
      act(async (o: { project?: string; global?: boolean; purgeData?: boolean }) => {
        if (o.global && o.project !== undefined) throw new CliError("--global and --project exclude each other");
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
