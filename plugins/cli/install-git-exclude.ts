// The install's lines in the project repository's .git/info/exclude: added on install, removed on uninstall.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import type { Manifest } from "./install-manifest.ts";

const EXCLUDE_BEGIN = "# opencode-continuum: machine-local install (removed by its uninstall)";
const EXCLUDE_END = "# end opencode-continuum";

function git(cwd: string, ...args: string[]): string | undefined {
  const run = spawnSync("git", args, { cwd, encoding: "utf8" });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/**
 * The plugin file (the shim) points into this machine's checkout: committed, it would break a teammate's OpenCode.
 * It goes into the repository's .git/info/exclude, git's own per-clone ignore list, which is never committed and
 * is not one of the user's files (their .gitignore is left alone).
 */
export function excludeFromGit(
  projectDir: string,
  manifest: Manifest,
  log: (line: string) => void,
): Manifest["gitExclude"] {
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
    log(`kept the machine-local plugin file out of git: ${file} (git's per-clone ignore list, never committed)`);
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

export function removeGitExclude(exclude: NonNullable<Manifest["gitExclude"]>, log: (line: string) => void): void {
  if (!existsSync(exclude.file)) return;
  const current = readFileSync(exclude.file, "utf8");
  const next = stripBlock(current);
  if (next === current) return;
  if (exclude.createdFile && next.trim() === "") rmSync(exclude.file);
  else writeFileSync(exclude.file, next);
  log(`removed the pack's lines from ${exclude.file}`);
}
