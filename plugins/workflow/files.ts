// The file helpers a script may call, confined to the project: every path goes through core/protected-paths.ts
// (no symlink at any component, nothing under .git, and for writes none of the places OpenCode or git run code
// from, no hard-linked file), and a write first asks the user's OpenCode `edit` permission (a WritePolicy).
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import picomatch from "picomatch";
import { checkProjectPath, writeProjectFile, type ProtectOptions } from "../core/protected-paths.ts";

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** What one run may write in total: a script in a loop must not fill the disk. */
export const MAX_RUN_WRITE_BYTES = 256 * 1024 * 1024;
const MAX_GLOB_RESULTS = 2000;
const SKIPPED_DIRS = new Set([".git", "node_modules"]);

/** Whether a script may write a project-relative path ("/" separators): undefined when yes, else why not. */
export type WritePolicy = (rel: string) => string | undefined;

export interface ProjectFiles {
  readFile(path: unknown): string;
  writeFile(path: unknown, text: unknown): boolean;
  exists(path: unknown): boolean;
  glob(pattern: unknown): string[];
}

export interface ProjectFilesOptions extends ProtectOptions {
  maxWriteBytes?: number;
  policy?: WritePolicy;
}

export function projectFiles(projectDir: string, options: ProjectFilesOptions | number = {}): ProjectFiles {
  const {
    maxWriteBytes = MAX_RUN_WRITE_BYTES,
    policy,
    ...protect
  } = typeof options === "number" ? { maxWriteBytes: options } : options;
  const root = projectDir;
  let written = 0;

  const requirePath = (path: unknown, what: string): string => {
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`${what}: path must be a non-empty string`);
    if (path.includes("\0")) throw new TypeError(`${what}: path contains a NUL character`);
    return path;
  };
  const check = (path: unknown, what: string, mode: "read" | "write") => {
    try {
      return checkProjectPath(root, requirePath(path, what), mode, protect);
    } catch (error) {
      if (error instanceof TypeError) throw error;
      throw new Error(`${what}: ${(error as Error).message}`);
    }
  };

  return {
    readFile(path) {
      const { path: real, exists } = check(path, "readFile", "read");
      if (!exists) throw new Error(`readFile: ${String(path)} does not exist`);
      const size = lstatSync(real).size;
      if (size > MAX_FILE_BYTES)
        throw new Error(`readFile: ${String(path)} is ${size} bytes, more than ${MAX_FILE_BYTES}`);
      return readFileSync(real, "utf8");
    },
    writeFile(path, text) {
      if (typeof text !== "string") throw new TypeError("writeFile(path, text): text must be a string");
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_FILE_BYTES) throw new Error(`writeFile: text is more than ${MAX_FILE_BYTES} bytes`);
      if (written + bytes > maxWriteBytes)
        throw new Error(
          `writeFile: this run has written ${written} bytes; more than ${maxWriteBytes} in one run is refused`,
        );
      const { rel } = check(path, "writeFile", "write");
      const refused = policy?.(rel);
      if (refused) throw new Error(`writeFile: ${String(path)}: ${refused}`);
      try {
        writeProjectFile(root, requirePath(path, "writeFile"), text, protect);
      } catch (error) {
        throw new Error(`writeFile: ${(error as Error).message}`);
      }
      written += bytes;
      return true;
    },
    exists(path) {
      return check(path, "exists", "read").exists;
    },
    glob(pattern) {
      if (typeof pattern !== "string" || pattern.length === 0 || pattern.length > 500)
        throw new TypeError("glob(pattern): pattern must be a non-empty string");
      if (isAbsolute(pattern) || pattern.split("/").includes(".."))
        throw new Error(`glob: ${pattern} reaches outside the project; patterns are relative to it`);
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
