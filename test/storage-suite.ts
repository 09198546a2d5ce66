// The storage contract, run by both engines: Node (better-sqlite3, test/unit/storage.test.ts) and OpenCode's
// embedded Bun (bun:sqlite, test/bun/storage.bun.test.ts). Uses only node:assert so both runners can host it.
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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
    assert.deepEqual(
      db
        .prepare("SELECT v FROM t")
        .all()
        .map((r) => r.v),
      ["kept", "outer"],
    );
    db.close();
  });

  test("FTS5 with bm25 and unicode61 is available", async () => {
    const db = await openDatabase(":memory:");
    db.exec("CREATE VIRTUAL TABLE f USING fts5(body, tokenize = 'unicode61 remove_diacritics 1')");
    db.prepare("INSERT INTO f (body) VALUES (?)").run("never edit db/schema.sql by hand");
    db.prepare("INSERT INTO f (body) VALUES (?)").run("café au lait");
    const hits = db
      .prepare("SELECT body, bm25(f) AS score FROM f WHERE f MATCH ? ORDER BY score")
      .all<{ body: string }>('"schema"*');
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

  test("a database another connection holds locked past the busy timeout is never moved aside", async () => {
    const dir = tempDir();
    const path = join(dir, "continuum.db");
    // The holder is the first store itself: bun:sqlite's close() only finalizes lazily, so a closed connection with
    // statements still alive would keep its hold on the WAL index.
    const first = await openStore(path);
    first.db.exec("CREATE TABLE kept (v TEXT)");
    first.db.prepare("INSERT INTO kept VALUES (?)").run("still here");
    first.db.exec("PRAGMA locking_mode = EXCLUSIVE");
    first.db.exec("BEGIN EXCLUSIVE");
    first.db.exec("CREATE TABLE held (x)");
    const second = await openStore(path, { busyTimeoutMs: 50 });
    assert.equal(second.recovered, undefined);
    assert.match(second.readOnly?.reason ?? "", /is locked by another process/);
    second.db.close();
    first.db.exec("COMMIT");
    first.db.exec("PRAGMA locking_mode = NORMAL");
    first.db.prepare("SELECT COUNT(*) AS n FROM kept").all();
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes("corrupt")),
      [],
    );
    const third = await openStore(path);
    assert.deepEqual(third.db.prepare("SELECT v FROM kept").all(), [{ v: "still here" }]);
    third.db.close();
    first.db.close();
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

  test("a data dir that cannot exist is reported; one that cannot be written gives an in-memory database for reading", async () => {
    // Root ignores permission bits, so two ways that hold for root too: a file where the folder should be, and a
    // folder with no write bits (the pack treats that as read-only by intent).
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "x");
    await assert.rejects(openStore(join(dir, "file", "sub", "c.db")), StoreUnavailableError);
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const readOnly = await openStore(join(locked, "c.db"));
    assert.match(readOnly.readOnly?.reason ?? "", /not writable \(read-only \(mode 0555\)\)/);
    assert.equal(readOnly.db.path, ":memory:");
    readOnly.db.exec("CREATE TABLE t (x)");
    assert.equal(existsSync(join(locked, "c.db")), false, "nothing written into a read-only folder");
    readOnly.db.close();
    chmodSync(locked, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a database that opens but fails the integrity check is moved aside before a fresh one is created", async () => {
    const dir = tempDir();
    const path = join(dir, "continuum.db");
    const db = await openDatabase(path);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t (v)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(`value ${i} ${"x".repeat(40)}`);
    });
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = readFileSync(path);
    for (let i = 4096 * 5; i < 4096 * 8; i++) bytes[i] = (i * 7) & 0xff;
    writeFileSync(path, bytes);
    const opened = await openStore(path);
    assert.ok(opened.recovered, "recovery reported");
    assert.match(opened.recovered!.reason, /quick_check|malformed/);
    // The live database is the new, empty one: the damaged file is only at the moved-aside path.
    assert.equal(opened.db.prepare("SELECT name FROM sqlite_master WHERE name = 't'").get(), undefined);
    assert.equal(Object.values(opened.db.prepare("PRAGMA quick_check").get()!)[0], "ok");
    assert.ok(existsSync(opened.recovered!.movedTo));
    opened.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("only the last three damaged copies are kept", async () => {
    const dir = tempDir();
    const path = join(dir, "continuum.db");
    for (let i = 0; i < 5; i++) {
      writeFileSync(path, Buffer.from(`garbage ${i} `.repeat(400)));
      const opened = await openStore(path);
      assert.ok(opened.recovered);
      opened.db.close();
    }
    const copies = readdirSync(dir).filter(
      (name) => /^continuum\.db\.corrupt-[^]*\d$/.test(name) || /^continuum\.db\.corrupt-.*Z(-\d+)?$/.test(name),
    );
    assert.equal(copies.length, 3, copies.join(", "));
    const newest = copies.sort().map((name) => readFileSync(join(dir, name), "utf8").slice(0, 10));
    assert.deepEqual(newest, ["garbage 2 ", "garbage 3 ", "garbage 4 "]);
    rmSync(dir, { recursive: true, force: true });
  });
}
