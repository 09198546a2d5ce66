// The places inside a project that no write of the pack (nor of a script it runs) may touch, and the one way to
// check a path before touching it. Host-free. OpenCode runs code from `.opencode/` and `opencode.json(c)` at its
// next start and git runs hooks from any `.git/`, so writing there is running code with the user's rights.
// The check works on the filesystem, component by component (lstat from the project root): a symlink anywhere on
// the way is refused (a link is how a path that looks inside leaves the project), a write into a file with a second
// hard link is refused (it would change the other name too), and the final open does not follow a link either.
import { closeSync, constants, lstatSync, mkdirSync, openSync, realpathSync, writeSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export class ProtectedPathError extends Error {
  override name = "ProtectedPathError";
}

export interface ProtectOptions {
  /** The pack's data dir: never written by a script, wherever it is. */
  dataDir?: string;
  /** distill's own places: markdown under the top-level `.opencode/{skills,commands,agents}/` (nothing else there). */
  opencodeAssets?: boolean;
}

const ASSET_DIRS = new Set(["skills", "commands", "agents"]);
const OPENCODE_CONFIG = new Set(["opencode.json", "opencode.jsonc"]);

/**
 * Why a project-relative path ("/" or the platform separator) may not be written, or undefined. Compared without
 * case: on macOS and Windows `.GIT/hooks` is `.git/hooks`.
 */
export function protectedReason(rel: string, options: ProtectOptions = {}): string | undefined {
  const parts = rel.split(/[\\/]+/).filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) return "it is the project folder itself";
  if (parts.includes("..")) return "it leaves the project";
  const lower = parts.map((p) => p.toLowerCase());
  if (lower.includes(".git")) return "it is inside a .git folder (git runs its hooks and reads its config)";
  if (lower.includes("node_modules")) return "it is inside node_modules (code that runs when imported)";
  if (lower.some((p) => OPENCODE_CONFIG.has(p)))
    return "it is an OpenCode config file (opencode.json / opencode.jsonc)";
  const opencodeAt = lower.indexOf(".opencode");
  if (opencodeAt >= 0) {
    const asset =
      options.opencodeAssets &&
      opencodeAt === 0 &&
      ASSET_DIRS.has(lower[1] ?? "") &&
      parts.length >= 3 &&
      lower[parts.length - 1]!.endsWith(".md");
    if (!asset) return "it is inside .opencode (plugins, agents, commands and config that OpenCode runs or obeys)";
  }
  return undefined;
}

export interface CheckedPath {
  /** The absolute path (inside the real project root). */
  path: string;
  /** Project-relative, "/" separators. */
  rel: string;
  /** Whether it exists now (as a file or folder, never a link). */
  exists: boolean;
}

/**
 * Checks `path` (relative to `root`, or absolute) for reading or writing: inside the project, no symlink at any
 * component (the message says "symlink"), and for writes not protected and no hard-linked file. Throws
 * ProtectedPathError naming the reason. `root` is taken as given once made real (it may itself be under a link).
 */
export function checkProjectPath(
  root: string,
  path: string,
  mode: "read" | "write",
  options: ProtectOptions = {},
): CheckedPath {
  if (path.includes("\0")) throw new ProtectedPathError(`${path}: the path contains a NUL character`);
  const realRoot = realpathSync(root);
  const wanted = isAbsolute(path) ? resolve(path) : resolve(realRoot, path);
  const rel = relativeInside(realRoot, wanted) ?? relativeInside(resolve(root), wanted);
  if (rel === undefined)
    throw new ProtectedPathError(`${path} is outside the project (${realRoot}); only files inside it may be touched`);
  const full = rel === "" ? realRoot : join(realRoot, rel);
  const shown = rel.split(sep).join("/");
  if (mode === "write") {
    const reason = protectedReason(shown, options);
    if (reason) throw new ProtectedPathError(`${path} is protected, refused: ${reason}`);
    if (options.dataDir && isUnder(full, options.dataDir))
      throw new ProtectedPathError(`${path} is inside the pack's data dir, refused`);
  } else if (shown.split("/").some((p) => p.toLowerCase() === ".git")) {
    throw new ProtectedPathError(`${path} is inside .git, refused`);
  }
  const exists = walkComponents(realRoot, rel === "" ? [] : rel.split(sep), path);
  if (mode === "write" && exists) {
    const stats = lstatSync(full);
    if (stats.isDirectory()) throw new ProtectedPathError(`${path} is a folder, not a file`);
    if (stats.nlink > 1)
      throw new ProtectedPathError(
        `${path} has ${stats.nlink} hard links, refused: writing it would change the other name(s) too`,
      );
  }
  return { path: full, rel: shown, exists };
}

/** lstat every component from the root; a link is refused, a missing component ends the walk. Whether all exist. */
function walkComponents(root: string, parts: string[], shown: string): boolean {
  let current = root;
  for (let i = 0; i < parts.length; i++) {
    current = join(current, parts[i]!);
    let stats;
    try {
      stats = lstatSync(current);
    } catch {
      return false;
    }
    if (stats.isSymbolicLink())
      throw new ProtectedPathError(
        `${shown}: ${parts.slice(0, i + 1).join("/")} is a symlink, refused (links are never followed, in or out of the project)`,
      );
    if (i < parts.length - 1 && !stats.isDirectory())
      throw new ProtectedPathError(`${shown}: ${parts.slice(0, i + 1).join("/")} is not a folder`);
  }
  return true;
}

/**
 * Writes text to a checked path: folders made as needed (each checked again after), the file opened without
 * following a link (O_NOFOLLOW), so a link planted after the check is refused by the kernel, not followed.
 */
export function writeProjectFile(root: string, path: string, text: string, options: ProtectOptions = {}): CheckedPath {
  const checked = checkProjectPath(root, path, "write", options);
  const parent = join(checked.path, "..");
  mkdirSync(parent, { recursive: true });
  checkProjectPath(root, path, "write", options);
  let fd: number;
  try {
    fd = openSync(
      checked.path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0),
      0o644,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP")
      throw new ProtectedPathError(`${path} became a symlink, refused`);
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return checked;
}

function relativeInside(root: string, target: string): string | undefined {
  const rel = relative(root, target);
  if (rel === "") return "";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel;
}

function isUnder(path: string, dir: string): boolean {
  let real = resolve(dir);
  try {
    real = realpathSync(dir);
  } catch {
    // Not created yet: compared as given.
  }
  const rel = relative(real, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
