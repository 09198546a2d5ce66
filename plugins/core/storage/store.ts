// Opens the pack's one database file, moving a corrupt file aside instead of failing the session.
import { existsSync, mkdirSync, renameSync, accessSync, constants } from "node:fs";
import { dirname } from "node:path";
import { openDatabase, type Database, type OpenOptions } from "./database.ts";

export interface OpenedStore {
  db: Database;
  /** Set when a damaged file was moved aside and a fresh one created. */
  recovered?: { movedTo: string; reason: string };
}

export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

export async function openStore(path: string, options: OpenOptions = {}): Promise<OpenedStore> {
  ensureWritableDir(dirname(path));
  try {
    const db = await openDatabase(path, options);
    const problem = integrityProblem(db);
    if (!problem) return { db };
    db.close();
    return { db: await openDatabase(path, options), recovered: { movedTo: moveAside(path), reason: problem } };
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    if (!existsSync(path)) throw new StoreUnavailableError(`cannot create database ${path}: ${reason}`);
    const movedTo = moveAside(path);
    return { db: await openDatabase(path, options), recovered: { movedTo, reason } };
  }
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(`data directory ${dir} is not writable (${reason})`);
  }
}

function integrityProblem(db: Database): string | undefined {
  const row = db.prepare("PRAGMA quick_check").get<Record<string, string>>();
  const verdict = row ? Object.values(row)[0] : "no answer";
  return verdict === "ok" ? undefined : `quick_check: ${verdict}`;
}

/** Renames the DB and its WAL/SHM companions to <name>.corrupt-<timestamp>; returns the new DB path. */
function moveAside(path: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const target = `${path}.corrupt-${stamp}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}
