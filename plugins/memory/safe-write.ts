// Writing memory files without ever losing what was there: a path guard, a cross-process lock file,
// a bounded history of previous versions, and atomic replacement (temp file + fsync + rename).
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { writeFileAtomic } from "../core/storage/atomic-file.ts";
import { isNotWritableError, notWritableReason } from "../core/storage/writable.ts";
import { inspectText } from "./memory-files.ts";
import { processAlive } from "../core/process-alive.ts";
import { fileStamp } from "../core/file-stamp.ts";

export { writeFileAtomic, type AtomicWriteHooks } from "../core/storage/atomic-file.ts";

export class MemoryPathError extends Error {
  override name = "MemoryPathError";
}

/** The file or its folder cannot be written (no write bits, read-only file system, not a folder): nothing was changed. */
export class MemoryReadOnlyError extends MemoryPathError {
  override name = "MemoryReadOnlyError";
}

/** The file is not text (a binary left in the memory folder): nothing is appended to it. */
export class MemoryFileUnreadableError extends MemoryPathError {
  override name = "MemoryFileUnreadableError";
}

export class MemoryLockTimeout extends Error {
  override name = "MemoryLockTimeout";
}

/** Throws unless `path` is inside one of `roots` (symlinks resolved as far as the path exists). */
export function assertWritable(path: string, roots: readonly string[]): string {
  const target = realishPath(resolve(path));
  const inside = roots.some((root) => {
    const rel = relative(realishPath(resolve(root)), target);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
  });
  if (!inside) {
    throw new MemoryPathError(`refusing to write ${path}: memory writes may only land under ${roots.join(", ")}`);
  }
  return target;
}

/** realpath of the nearest existing ancestor plus the rest, so a symlinked folder cannot smuggle a write out. */
function realishPath(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      missing.push(basename(current));
      current = parent;
    }
  }
}

export interface LockOptions {
  timeoutMs?: number;
  /** A lock whose holder is gone (dead pid on this host) or older than this is broken. */
  staleMs?: number;
}

interface LockRecord {
  token: string;
  pid: number;
  host: string;
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs fn while holding `<file>.lock`; other processes (and other calls here) wait their turn. */
export async function withFileLock<T>(file: string, fn: () => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const lockPath = `${file}.lock`;
  const token = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    release(lockPath, token);
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 15000;
  const staleMs = options.staleMs ?? 30000;
  const token = randomBytes(8).toString("hex");
  const record: LockRecord = { token, pid: process.pid, host: hostname(), at: Date.now() };
  const deadline = Date.now() + timeoutMs;
  mkdirSync(dirname(lockPath), { recursive: true });
  let wait = 2;
  for (;;) {
    if (tryCreate(lockPath, record)) return token;
    breakIfStale(lockPath, staleMs);
    if (Date.now() > deadline)
      throw new MemoryLockTimeout(`could not lock ${lockPath} within ${timeoutMs} ms (held by another process)`);
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
}

function tryCreate(lockPath: string, record: LockRecord): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(record));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readLock(lockPath: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(lockPath, "utf8")) as LockRecord;
  } catch {
    return undefined;
  }
}

function isStale(record: LockRecord | undefined, lockPath: string, staleMs: number): boolean {
  if (!record) {
    // Unreadable: a holder may be between create and write; only its age can tell.
    try {
      return Date.now() - statSync(lockPath).mtimeMs > staleMs;
    } catch {
      return false;
    }
  }
  if (record.host === hostname() && !processAlive(record.pid)) return true;
  return Date.now() - record.at > staleMs;
}

/**
 * Moves a stale lock aside under a unique name, then checks it was the stale one: if another process
 * took the lock in between, its lock is put back, so two breakers cannot both end up holding it.
 */
function breakIfStale(lockPath: string, staleMs: number): void {
  const seen = readLock(lockPath);
  if (!isStale(seen, lockPath, staleMs)) return;
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return;
  }
  const taken = readLock(aside);
  if (seen && taken && taken.token !== seen.token) {
    try {
      linkSync(aside, lockPath);
    } catch {
      /* someone holds it now; the moved lock's owner will fail its release harmlessly */
    }
  }
  rmSync(aside, { force: true });
}

function release(lockPath: string, token: string): void {
  const current = readLock(lockPath);
  if (current?.token === token) rmSync(lockPath, { force: true });
}

/** Folder holding previous versions of `file`: `<memory dir>/.versions/<file name>/`. */
export function versionsDir(file: string): string {
  return join(dirname(file), ".versions", basename(file));
}

/** Copies the current content of `file` into its versions folder and prunes to the newest `keep`. */
export function keepVersion(file: string, keep: number, now: Date = new Date()): string | undefined {
  if (!existsSync(file)) return undefined;
  const dir = versionsDir(file);
  mkdirSync(dir, { recursive: true });
  const stamp = fileStamp(now);
  const target = join(dir, `${stamp}-${randomBytes(3).toString("hex")}.md`);
  // The bytes as they were: a file repaired on write keeps its original, invalid bytes and all, here.
  writeFileAtomic(target, readFileSync(file));
  pruneVersions(dir, keep);
  return target;
}

export function listVersions(file: string): string[] {
  const dir = versionsDir(file);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => join(dir, name));
}

function pruneVersions(dir: string, keep: number): void {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith(".md"))
    .sort();
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* a concurrent prune removed it */
    }
  }
}

/** Temp files of writers that died before their rename; only ours to remove while we hold the lock. */
function removeOrphanTemps(file: string, olderThanMs = 600_000): void {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > olderThanMs) unlinkSync(path);
    } catch {
      /* gone already */
    }
  }
}

export interface SafeWriteOptions {
  roots: readonly string[];
  versionsKept: number;
  lock?: LockOptions;
}

export interface UpdateResult {
  changed: boolean;
  content: string;
  /** Set when the file held stray bytes that were cleaned on this write: what, and where the original is kept. */
  repaired?: string;
}

/**
 * The one way memory files are changed: guard the path, refuse a read-only place with a message naming it, lock,
 * read the current text (stray bytes cleaned, a binary refused), let `change` compute the new text (undefined = no
 * change), keep the previous version byte for byte, replace atomically.
 */
export async function updateFile(
  file: string,
  change: (current: string) => string | undefined,
  options: SafeWriteOptions,
): Promise<UpdateResult> {
  assertWritable(file, options.roots);
  assertNotReadOnly(file);
  try {
    return await withFileLock(
      file,
      () => {
        removeOrphanTemps(file);
        const inspected = existsSync(file)
          ? inspectText(readFileSync(file))
          : { text: "", repairs: [] as string[], binary: undefined };
        if (inspected.binary) {
          throw new MemoryFileUnreadableError(
            `${file} is not a text file (${inspected.binary}), so nothing was written to it. Move it aside (mv "${file}" "${file}.bak") and try again: a new file is started.`,
          );
        }
        const current = inspected.text;
        const next = change(current);
        if (next === undefined || next === current) return { changed: false, content: current };
        keepVersion(file, options.versionsKept);
        writeFileAtomic(file, next);
        const repaired = inspected.repairs.length
          ? `${file} was repaired (${inspected.repairs.join("; ")}); the original is kept in ${versionsDir(file)}/`
          : undefined;
        return { changed: true, content: next, ...(repaired ? { repaired } : {}) };
      },
      options.lock,
    );
  } catch (error) {
    if (error instanceof MemoryPathError || !isNotWritableError(error)) throw error;
    throw new MemoryReadOnlyError(
      readOnlyMessage(
        file,
        `${(error as NodeJS.ErrnoException).code}: ${(error as Error).message.replace(/^[A-Z]+: /, "")}`,
      ),
    );
  }
}

/** A file without write bits, or a folder on the way that cannot be written, is read-only memory: say so up front. */
export function assertNotReadOnly(file: string): void {
  const fileProblem = notWritableReason(file, { kind: "file" });
  if (fileProblem) throw new MemoryReadOnlyError(readOnlyMessage(file, `${file} is ${fileProblem}`));
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const dirProblem = notWritableReason(dir);
  if (dirProblem) throw new MemoryReadOnlyError(readOnlyMessage(file, `folder ${dir}: ${dirProblem}`));
}

function readOnlyMessage(file: string, reason: string): string {
  return `memory is read-only here: cannot write ${file} (${reason}). Nothing was changed; reading and searching still work. Make it writable (e.g. chmod u+w) to store memory.`;
}
