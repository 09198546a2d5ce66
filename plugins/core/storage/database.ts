// One small SQLite interface over two engines: bun:sqlite inside OpenCode (where better-sqlite3 cannot load)
// and better-sqlite3 under Node (the CLI and Node tests). Features only ever see this interface.

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlParams = SqlValue[] | [Record<string, SqlValue>];

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: SqlParams): RunResult;
  /** First row, or undefined when there is none (bun's null is normalised). */
  get<T = Record<string, unknown>>(...params: SqlParams): T | undefined;
  all<T = Record<string, unknown>>(...params: SqlParams): T[];
}

export interface Database {
  readonly engine: "bun" | "node";
  readonly path: string;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  /** Runs fn inside BEGIN IMMEDIATE … COMMIT; nested calls use savepoints. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface OpenOptions {
  /** Milliseconds a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export const isBunRuntime = (): boolean => typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** Opens the database with the engine of the current runtime. */
export async function openDatabase(path: string, options: OpenOptions = {}): Promise<Database> {
  const open = isBunRuntime()
    ? (await import("./bun-engine.ts")).openBunDatabase
    : (await import("./node-engine.ts")).openNodeDatabase;
  const db = open(path, options);
  try {
    applyPragmas(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** How long an open waits for another process's lock before SQLite answers "database is locked". */
export function busyTimeoutMs(options: OpenOptions): number {
  return Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
}

function applyPragmas(db: Database, options: OpenOptions): void {
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs(options)}`);
  if (options.readonly || db.path === ":memory:") return;
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");
}

/** Shared transaction logic: both engines expose exec, so nesting is done with savepoints here. */
export function makeTransaction(exec: (sql: string) => void): <T>(fn: () => T) => T {
  let depth = 0;
  return <T>(fn: () => T): T => {
    const savepoint = `sp_${depth}`;
    exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
    depth++;
    try {
      const result = fn();
      depth--;
      exec(depth === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      depth--;
      exec(depth === 0 ? "ROLLBACK" : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  };
}
