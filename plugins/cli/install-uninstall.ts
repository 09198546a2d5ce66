// Uninstall: removes exactly what the manifest says install added. A file changed or a link replaced since is the
// user's now, so it is kept and reported instead of removed.
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { dataRoot, packPaths } from "../core/paths.ts";
import { CliError } from "./kit.ts";
import { removeEmpty } from "./purge.ts";
import { removeGitExclude } from "./install-git-exclude.ts";
import { adoptHostByproducts } from "./install-host-byproducts.ts";
import { removeConfigEntry } from "./install-package.ts";
import { manifestPath, readManifest, sha256, type InstallTarget, type ManifestEntry } from "./install-manifest.ts";

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
  if (manifest.configEntry && removeConfigEntry(manifest.configEntry, log) !== "absent")
    report.removed.push(manifest.configEntry.file);
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

export function removeLinks(entries: ManifestEntry[], report: UninstallReport, log: (line: string) => void): void {
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

function lstatSafe(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
