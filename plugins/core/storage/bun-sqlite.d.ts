// The slice of bun:sqlite the engine uses; the full bun types are not a dependency.
declare module "bun:sqlite" {
  interface BunStatement {
    run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
  }
  export class Database {
    constructor(path: string, options?: { readonly?: boolean; create?: boolean; strict?: boolean });
    exec(sql: string): void;
    prepare(sql: string): BunStatement;
    close(): void;
  }
}
