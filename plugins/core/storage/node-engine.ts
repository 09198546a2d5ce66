// better-sqlite3 engine: used under Node (the continuum CLI and the Node test suite).
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { makeTransaction, type Database, type OpenOptions, type SqlParams, type Statement } from "./database.ts";

const require = createRequire(import.meta.url);

/** better-sqlite3 is an optional dependency (a native addon): say what to do when it did not install or build. */
function loadDriver(): typeof BetterSqlite3 {
  try {
    return require("better-sqlite3") as typeof BetterSqlite3;
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new Error(
      `the continuum CLI needs better-sqlite3 under Node for the pack's database, and it could not load (${why}). ` +
        "Install it where the CLI runs (npm install better-sqlite3, which needs a prebuilt binary or a C++ toolchain); " +
        "inside OpenCode the pack uses bun:sqlite and is not affected.",
    );
  }
}

export function openNodeDatabase(path: string, options: OpenOptions): Database {
  const Driver = loadDriver();
  const raw = new Driver(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  const exec = (sql: string) => void raw.exec(sql);
  return {
    engine: "node",
    path,
    exec,
    prepare(sql: string): Statement {
      const stmt = raw.prepare(sql);
      const returnsRows = stmt.reader;
      return {
        run: (...params: SqlParams) => {
          // better-sqlite3 refuses run() on statements that return rows; step through them instead.
          if (returnsRows) {
            stmt.all(...params);
            return { changes: 0, lastInsertRowid: 0 };
          }
          const result = stmt.run(...params);
          return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
        },
        get: <T>(...params: SqlParams) => stmt.get(...params) as T | undefined,
        all: <T>(...params: SqlParams) => stmt.all(...params) as T[],
      };
    },
    transaction: makeTransaction(exec),
    close: () => raw.close(),
  };
}
