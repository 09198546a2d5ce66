// Backups and saved diffs are pruned when a new one is written: the newest always stay, older ones for a while,
// and nothing the pack did not name is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pruneStamped } from "../../plugins/core/retention.ts";

const DAY = 86_400_000;
const stamp = (at: number) => new Date(at).toISOString().replace(/[:.]/g, "-");

test("pruneStamped keeps the newest and the recent, deletes old surplus, leaves foreign names alone", () => {
  const dir = mkdtempSync(join(tmpdir(), "continuum-retention-"));
  try {
    const now = Date.UTC(2026, 10, 29, 12);
    // 25 copies a day apart (folders and files), the newest today.
    for (let i = 0; i < 25; i++) {
      const name = `${stamp(now - i * DAY)}${i % 2 ? "-label.diff" : ""}`;
      if (i % 2) writeFileSync(join(dir, name), "diff");
      else mkdirSync(join(dir, name, "untracked"), { recursive: true });
    }
    writeFileSync(join(dir, "notes.txt"), "mine");
    mkdirSync(join(dir, "conflicts"));
    const deleted = pruneStamped(dir, now, { keepNewest: 20, keepDays: 14 });
    assert.equal(deleted.length, 5, "the 5 beyond the newest 20, all older than 14 days");
    const left = readdirSync(dir);
    assert.equal(left.length, 22);
    assert.ok(left.includes("notes.txt") && left.includes("conflicts"));
    assert.deepEqual(pruneStamped(dir, now, { keepNewest: 5, keepDays: 30 }), [], "nothing younger than keepDays goes");
    assert.equal(pruneStamped(dir, now, { keepNewest: 5, keepDays: 10 }).length, 9, "days 11-19 go, the newest 5 and days 0-10 stay");
    assert.deepEqual(pruneStamped(join(dir, "missing"), now), [], "a missing folder is no error");
    assert.ok(existsSync(join(dir, stamp(now))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
