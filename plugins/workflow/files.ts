// The file helpers a script may call, confined to the project by the real path: every path is resolved with
// symlinks followed before it is checked, so `link -> ../outside` is refused like `../outside` itself.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import picomatch from "picomatch";

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** What one run may write in total: a script in a loop must not fill the disk. */
export const MAX_RUN_WRITE_BYTES = 256 * 1024 * 1024;
const MAX_GLOB_RESULTS = 2000;
const SKIPPED_DIRS = new Set([".git", "node_modules"]);

export interface ProjectFiles {
  readFile(path: unknown): string;
  writeFile(path: unknown, text: unknown): boolean;
  exists(path: unknown): boolean;
  glob(pattern: unknown): string[];
}

export function projectFiles(projectDir: string, maxWriteBytes = MAX_RUN_WRITE_BYTES): ProjectFiles {
  const root = realpathSync(projectDir);
  let written = 0;
  const inside = (real: string) => real === root || real.startsWith(root + sep);

  const requirePath = (path: unknown, what: string): string => {
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`${what}: path must be a non-empty string`);
    if (path.includes("\0")) throw new TypeError(`${what}: path contains a NUL character`);
    return isAbsolute(path) ? path : resolve(root, path);
  };

  /** The real path of the target, or of its nearest existing ancestor plus the rest, refused outside the project. */
  const confined = (path: unknown, what: string): string => {
    const wanted = requirePath(path, what);
    let existing = wanted;
    const rest: string[] = [];
    while (!existsSync(existing) && !isDanglingLink(existing)) {
      const parent = dirname(existing);
      if (parent === existing) break;
      rest.unshift(existing.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      existing = parent;
    }
    let real: string;
    try {
      real = realpathSync(existing);
    } catch {
      throw new Error(`${what}: ${String(path)} is a broken link, refused`);
    }
    const full = join(real, ...rest);
    if (!inside(full)) throw new Error(`${what}: ${String(path)} is outside the project (resolves to ${full}); scripts may only touch files inside ${root}`);
    const firstSegment = relative(root, full).split(sep)[0];
    if (firstSegment === ".git") throw new Error(`${what}: ${String(path)} is inside .git, refused`);
    return full;
  };

  return {
    readFile(path) {
      const real = confined(path, "readFile");
      if (!existsSync(real)) throw new Error(`readFile: ${String(path)} does not exist`);
      const size = lstatSync(real).size;
      if (size > MAX_FILE_BYTES) throw new Error(`readFile: ${String(path)} is ${size} bytes, more than ${MAX_FILE_BYTES}`);
      return readFileSync(real, "utf8");
    },
    writeFile(path, text) {
      if (typeof text !== "string") throw new TypeError("writeFile(path, text): text must be a string");
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_FILE_BYTES) throw new Error(`writeFile: text is more than ${MAX_FILE_BYTES} bytes`);
      if (written + bytes > maxWriteBytes) throw new Error(`writeFile: this run has written ${written} bytes; more than ${maxWriteBytes} in one run is refused`);
      const real = confined(path, "writeFile");
      mkdirSync(dirname(real), { recursive: true });
      writeFileSync(real, text);
      written += bytes;
      return true;
    },
    exists(path) {
      return existsSync(confined(path, "exists"));
    },
    glob(pattern) {
      if (typeof pattern !== "string" || pattern.length === 0 || pattern.length > 500) throw new TypeError("glob(pattern): pattern must be a non-empty string");
      if (isAbsolute(pattern) || pattern.split("/").includes("..")) throw new Error(`glob: ${pattern} reaches outside the project; patterns are relative to it`);
      const matches = globMatcher(pattern);
      const found: string[] = [];
      walk(root, "", (rel) => {
        if (matches(rel)) found.push(rel);
        return found.length < MAX_GLOB_RESULTS;
      });
      return found.sort();
    },
  };
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Files under dir (symlinks listed, never followed), relative with "/" separators; visit returns false to stop. */
function walk(dir: string, prefix: string, visit: (rel: string) => boolean): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return true;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      if (!walk(join(dir, entry.name), rel, visit)) return false;
    } else if (!visit(rel)) return false;
  }
  return true;
}

/**
 * A matcher of project-relative paths ("/" separators) for a glob: picomatch's full syntax (`**`, `*`, `?`, `[ab]`,
 * `{a,b}`, extglobs), dotfiles included; a pattern it cannot read is an Error naming it.
 */
export function globMatcher(pattern: string): (path: string) => boolean {
  try {
    return picomatch(pattern, { dot: true, strictBrackets: true });
  } catch (error) {
    throw new Error(`glob: ${pattern}: ${(error as Error).message}`);
  }
}
