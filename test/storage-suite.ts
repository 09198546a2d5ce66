// The storage contract, run by both engines: Node (better-sqlite3, test/unit/storage.test.ts) and OpenCode's
// embedded Bun (bun:sqlite, test/bun/storage.bun.test.ts). Uses only node:assert so both runners can host it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readdirSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../plugins/core/storage/database.ts";
import { migrate, currentVersion } from "../plugins/core/storage/migrations.ts";
import { openStore, StoreUnavailableError } from "../plugins/core/storage/store.ts";

type TestFn = (name: string, fn: () => void | Promise<void>) => void;

export function storageSuite(test: TestFn, expectedEngine: "bun" | "node"): void {
  const tempDir = () => mkdtempSync(join(tmpdir(), "continuum-storage-"));

  test(`opens with the ${expectedEngine} engine, WAL and a busy timeout`, async () => {
    const dir = tempDir();
    const db = await openDatabase(join(dir, "a.db"), { busyTimeoutMs: 1234 });
    assert.equal(db.engine, expectedEngine);
    assert.equal(Object.values(db.prepare("PRAGMA journal_mode").get()!)[0], "wal");
    assert.equal(Object.values(db.prepare("PRAGMA busy_timeout").get()!)[0], 1234);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("binds positional and named parameters the same way; get returns undefined for no row", async () => {
    const db = await openDatabase(":memory:");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)");
    const insert = db.prepare("INSERT INTO t (name, n) VALUES (?, ?)");
    assert.equal(insert.run("a", 1).changes, 1);
    db.prepare("INSERT INTO t (name, n) VALUES ($name, $n)").run({ name: "b", n: 2 });
    assert.deepEqual(db.prepare("SELECT name, n FROM t ORDER BY id").all(), [
      { name: "a", n: 1 },
      { name: "b", n: 2 },
    ]);
    assert.equal(db.prepare("SELECT * FROM t WHERE id = ?").get(99), undefined);
    db.close();
  });

  test("transactions commit, roll back on error, and nest with savepoints", async () => {
    const db = await openDatabase(":memory:");
    db.exec("CREATE TABLE t (v TEXT)");
    const add = db.prepare("INSERT INTO t VALUES (?)");
    db.transaction(() => add.run("kept"));
    assert.throws(() =>
      db.transaction(() => {
        add.run("lost");
        throw new Error("boom");
      }),
    );
    db.transaction(() => {
      add.run("outer");
      assert.throws(() =>
        db.transaction(() => {
          add.run("inner-lost");
          throw new Error("inner");
        }),
      );
    });
    assert.deepEqual(db.prepare("SELECT v FROM t").all().map((r) => r.v), ["kept", "outer"]);
    db.close();
  });

  test("FTS5 with bm25 and unicode61 is available", async () => {
    const db = await openDatabase(":memory:");
    db.exec("CREATE VIRTUAL TABLE f USING fts5(body, tokenize = 'unicode61 remove_diacritics 1')");
    db.prepare("INSERT INTO f (body) VALUES (?)").run("never edit db/schema.sql by hand");
    db.prepare("INSERT INTO f (body) VALUES (?)").run("café au lait");
    const hits = db.prepare("SELECT body, bm25(f) AS score FROM f WHERE f MATCH ? ORDER BY score").all<{ body: string }>('"schema"*');
    assert.equal(hits.length, 1);
    assert.equal(db.prepare("SELECT body FROM f WHERE f MATCH ?").all('"cafe"').length, 1);
    db.close();
  });

  test("migrations are versioned per feature and applied once", async () => {
    const db = await openDatabase(":memory:");
    const migrations = [
      { version: 1, description: "create", sql: "CREATE TABLE a (x INTEGER)" },
      { version: 2, description: "add column", sql: "ALTER TABLE a ADD COLUMN y TEXT" },
    ];
    assert.deepEqual(migrate(db, "alpha", migrations.slice(0, 1)), { feature: "alpha", from: 0, to: 1 });
    assert.deepEqual(migrate(db, "alpha", migrations), { feature: "alpha", from: 1, to: 2 });
    assert.deepEqual(migrate(db, "alpha", migrations), { feature: "alpha", from: 2, to: 2 });
    assert.equal(currentVersion(db, "beta"), 0);
    assert.throws(() => migrate(db, "gamma", [{ version: 2, description: "gap", sql: "SELECT 1" }]), /numbered 1..n/);
    db.close();
  });

  test("a failing migration leaves the previous version intact", async () => {
    const db = await openDatabase(":memory:");
    migrate(db, "f", [{ version: 1, description: "ok", sql: "CREATE TABLE ok (x)" }]);
    assert.throws(() =>
      migrate(db, "f", [
        { version: 1, description: "ok", sql: "CREATE TABLE ok (x)" },
        { version: 2, description: "broken", sql: "CREATE TABLE half (x); THIS IS NOT SQL" },
      ]),
    );
    assert.equal(currentVersion(db, "f"), 1);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get(), undefined);
    db.close();
  });

  test("a corrupt database file is moved aside and a fresh one created", async () => {
    const dir = tempDir();
    const path = join(dir, "continuum.db");
    writeFileSync(path, Buffer.from("this is not a database, just garbage bytes ".repeat(200)));
    const opened = await openStore(path);
    assert.ok(opened.recovered, "recovery reported");
    assert.match(opened.recovered!.movedTo, /continuum\.db\.corrupt-/);
    opened.db.exec("CREATE TABLE ok (x)");
    opened.db.close();
    assert.ok(readdirSync(dir).some((name) => name.startsWith("continuum.db.corrupt-")));
    rmSync(dir, { recursive: true, force: true });
  });

  test("two connections to one file see each other's writes (two OpenCode processes)", async () => {
    const dir = tempDir();
    const path = join(dir, "shared.db");
    const a = await openDatabase(path);
    const b = await openDatabase(path);
    a.exec("CREATE TABLE t (v TEXT)");
    a.prepare("INSERT INTO t VALUES (?)").run("from a");
    assert.deepEqual(b.prepare("SELECT v FROM t").all(), [{ v: "from a" }]);
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("an unwritable data directory is reported, not thrown as a crash", async () => {
    if (process.getuid?.() === 0) {
      // root ignores permission bits; use a path under a regular file instead.
      const dir = tempDir();
      writeFileSync(join(dir, "file"), "x");
      await assert.rejects(openStore(join(dir, "file", "sub", "c.db")), StoreUnavailableError);
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const dir = tempDir();
    chmodSync(dir, 0o500);
    await assert.rejects(openStore(join(dir, "sub", "c.db")), StoreUnavailableError);
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  });
}
