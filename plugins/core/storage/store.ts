// Opens the pack's one database file. The database is derived: a damaged one is moved aside (the last
// KEPT_CORRUPT copies are kept), recreated and refilled from the session state files; a data dir that exists but
// cannot be written gives an in-memory database rebuilt from the files, so reading keeps working.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { busyTimeoutMs, openDatabase, type Database, type OpenOptions } from "./database.ts";
import { registerDataRoot, restoreFromFiles } from "./state-files.ts";
import { notWritableReason } from "./writable.ts";
import { fileStamp } from "../file-stamp.ts";

export interface OpenedStore {
  db: Database;
  /** Set when a damaged file was moved aside and a fresh one created and refilled from the files. */
  recovered?: { movedTo: string; reason: string; restored: string[] };
  /** Set when the file was missing and the state files held something: what was restored from them. */
  restored?: string[];
  /** Set when the database cannot be written (data dir not writable, or locked by another process for too long): it lives in memory, rebuilt from the files. */
  readOnly?: { reason: string };
}

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** How many moved-aside damaged databases are kept next to the live one. */
export const KEPT_CORRUPT = 3;

export async function openStore(path: string, options: OpenOptions = {}): Promise<OpenedStore> {
  const root = dirname(path);
  const unwritable = notWritableReason(root, { create: true });
  if (unwritable) {
    // A data dir that cannot even exist holds nothing to read: say so and let the features that need it stay off.
    if (!isDirectory(root)) throw new StoreUnavailableError(`data directory ${root} cannot be created (${unwritable})`);
    return openInMemory(root, `data directory ${root} is not writable (${unwritable})`);
  }
  const existed = existsSync(path);
  let db: Database;
  try {
    db = await openDatabase(path, options);
  } catch (error) {
    if (isAccessError(error)) return openInMemory(root, `cannot open ${path} for writing (${errorText(error)})`);
    // Locked by another process for longer than the busy timeout is not damage: a live database is never moved aside.
    if (isBusyError(error))
      return openInMemory(
        root,
        `${path} is locked by another process (${errorText(error)} for more than ${busyTimeoutMs(options)} ms)`,
      );
    if (!existed) throw new StoreUnavailableError(`cannot create database ${path}: ${errorText(error)}`);
    return recover(path, options, errorText(error));
  }
  let problem: string | undefined;
  try {
    problem = integrityProblem(db);
  } catch (error) {
    // A check that could not get its read lock in time says nothing about the file: it is opened as it is.
    problem = isBusyError(error) ? undefined : errorText(error);
  }
  if (problem) {
    db.close();
    return recover(path, options, problem);
  }
  registerDataRoot(db, root);
  if (existed) return { db };
  const restored = restoreFromFiles(db);
  return restored.length ? { db, restored } : { db };
}

/** Moves the damaged file aside first, then creates the new one, and refills it from the state files. */
async function recover(path: string, options: OpenOptions, reason: string): Promise<OpenedStore> {
  const movedTo = moveAside(path);
  pruneCorruptCopies(path);
  const db = await openDatabase(path, options);
  registerDataRoot(db, dirname(path));
  const restored = restoreFromFiles(db);
  const said = restored.length ? `; restored from the session files: ${restored.join(", ")}` : "";
  return { db, recovered: { movedTo, reason: firstLines(reason) + said, restored } };
}

async function openInMemory(root: string, reason: string): Promise<OpenedStore> {
  const db = await openDatabase(":memory:");
  registerDataRoot(db, root, { readOnly: true });
  restoreFromFiles(db);
  return { db, readOnly: { reason } };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function integrityProblem(db: Database): string | undefined {
  const rows = db.prepare("PRAGMA quick_check").all<Record<string, string>>();
  const verdicts = rows.map((row) => String(Object.values(row)[0]));
  return verdicts.length === 1 && verdicts[0] === "ok"
    ? undefined
    : `quick_check: ${verdicts.join("; ") || "no answer"}`;
}

function isBusyError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return (
    code.startsWith("SQLITE_BUSY") ||
    code.startsWith("SQLITE_LOCKED") ||
    /database (table )?is locked|database is busy/i.test(errorText(error))
  );
}

function isAccessError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return (
    ["EACCES", "EROFS", "EPERM", "SQLITE_READONLY", "SQLITE_CANTOPEN"].includes(code) ||
    /readonly|read-only/i.test(errorText(error))
  );
}

/** Renames the DB and its WAL/SHM companions to <name>.corrupt-<timestamp>; returns the new DB path. */
function moveAside(path: string): string {
  const stamp = fileStamp();
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 2; existsSync(target); n++) target = `${path}.corrupt-${stamp}-${n}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

/** Keeps the newest KEPT_CORRUPT moved-aside databases (with their -wal/-shm); older ones are deleted. */
function pruneCorruptCopies(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.corrupt-`;
  const copies = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && !name.endsWith("-wal") && !name.endsWith("-shm"))
    .sort();
  for (const name of copies.slice(0, Math.max(0, copies.length - KEPT_CORRUPT))) {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, name + suffix), { force: true });
  }
}

function firstLines(text: string): string {
  const lines = text.split(/\r?\n/);
  return lines.length > 4 ? `${lines.slice(0, 4).join(" ")} …` : lines.join(" ");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
