// Two OpenCode processes opening the pack's database at the same moment must not both apply a migration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/env.ts";

const RACER = `
import { openStore } from ${JSON.stringify(join(REPO_ROOT, "plugins/core/storage/store.ts"))};
import { migrate } from ${JSON.stringify(join(REPO_ROOT, "plugins/core/storage/migrations.ts"))};
const [path, go] = process.argv.slice(2);
while (Date.now() < Number(go)) {}
const { db } = await openStore(path);
const steps = Array.from({ length: 8 }, (_, i) => ({ version: i + 1, description: "step " + i, sql: "CREATE TABLE t" + i + " (x)" }));
migrate(db, "race", steps);
db.close();
`;

test("processes migrating one database at the same moment all succeed, each step applied once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "continuum-race-"));
  const script = join(dir, "racer.mts");
  writeFileSync(script, RACER);
  const path = join(dir, "continuum.db");
  const go = String(Date.now() + 1500);
  const runs = Array.from(
    { length: 4 },
    () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", script, path, go], {
          cwd: REPO_ROOT,
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("exit", (code) => resolve({ code, stderr }));
      }),
  );
  const results = await Promise.all(runs);
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const { openDatabase } = await import("../../plugins/core/storage/database.ts");
  const db = await openDatabase(path);
  assert.equal(
    db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE feature = 'race'").get<{ n: number }>()!.n,
    8,
  );
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
