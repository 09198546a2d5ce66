// bun:sqlite engine: the only SQLite that loads inside OpenCode's embedded Bun.
import { Database as BunDatabase } from "bun:sqlite";
import { makeTransaction, type Database, type OpenOptions, type SqlParams, type Statement } from "./database.ts";

export function openBunDatabase(path: string, options: OpenOptions): Database {
  // strict: named parameters bind without their $/:/@ prefix, as in better-sqlite3.
  const raw = options.readonly
    ? new BunDatabase(path, { readonly: true, strict: true })
    : new BunDatabase(path, { create: true, strict: true });
  const exec = (sql: string) => raw.exec(sql);
  return {
    engine: "bun",
    path,
    exec,
    prepare(sql: string): Statement {
      const stmt = raw.prepare(sql);
      return {
        run: (...params: SqlParams) => {
          const result = stmt.run(...(params as never[]));
          return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
        },
        get: <T>(...params: SqlParams) => (stmt.get(...(params as never[])) ?? undefined) as T | undefined,
        all: <T>(...params: SqlParams) => stmt.all(...(params as never[])) as T[],
      };
    },
    transaction: makeTransaction(exec),
    close: () => raw.close(),
  };
}
