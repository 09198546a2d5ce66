// One small SQLite interface over two engines: bun:sqlite inside OpenCode (where better-sqlite3 cannot load)
// and better-sqlite3 under Node (the CLI and Node tests). Features only ever see this interface.
import { storedText } from "./stored-text.ts";

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

/** Opens the database with the engine of the current runtime; every statement redacts what it binds. */
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
  return redacting(db);
}

/**
 * Secrets never reach the database file (or its WAL): every string a statement binds passes through the pack's
 * redactor, whichever store wrote it. Reads bind the same way, so a lookup by a stored value still matches.
 */
export function redacting(db: Database): Database {
  return {
    engine: db.engine,
    path: db.path,
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const stmt = db.prepare(sql);
      // A full-text search stores nothing and matches words, never a whole stored value: its query needs no pass.
      if (FTS_READ.test(sql))
        return {
          run: (...params) => stmt.run(...redactParams(params)),
          get: (...params) => stmt.get(...params),
          all: (...params) => stmt.all(...params),
        };
      return {
        run: (...params) => stmt.run(...redactParams(params)),
        get: (...params) => stmt.get(...redactParams(params)),
        all: (...params) => stmt.all(...redactParams(params)),
      };
    },
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
}

const FTS_READ = /^\s*(?:WITH\b[\s\S]*?)?SELECT\b(?![\s\S]*\b(?:INSERT|UPDATE|DELETE|REPLACE)\b)[\s\S]*\bMATCH\b/i;

function redactParams(params: SqlParams): SqlParams {
  if (params.length === 1 && isRecord(params[0])) {
    const named: Record<string, SqlValue> = {};
    for (const [key, value] of Object.entries(params[0]))
      named[key] = typeof value === "string" ? storedText(value) : value;
    return [named];
  }
  return (params as SqlValue[]).map((value) => (typeof value === "string" ? storedText(value) : value));
}

function isRecord(value: unknown): value is Record<string, SqlValue> {
  return typeof value === "object" && value !== null && !(value instanceof Uint8Array);
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
