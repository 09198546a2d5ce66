// Backups and saved diffs are pruned when a new one is written: the newest always stay, older ones for a while,
// and nothing the pack did not name is touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { fileStamp, nameSafe, stampedAt } from "../../plugins/core/file-stamp.ts";
import { pruneStamped } from "../../plugins/core/retention.ts";

const DAY = 86_400_000;
const stamp = (at: number) => fileStamp(new Date(at));

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
    assert.equal(
      pruneStamped(dir, now, { keepNewest: 5, keepDays: 10 }).length,
      9,
      "days 11-19 go, the newest 5 and days 0-10 stay",
    );
    assert.deepEqual(pruneStamped(join(dir, "missing"), now), [], "a missing folder is no error");
    assert.ok(existsSync(join(dir, stamp(now))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("file stamps: every time reads back exactly; other names are not stamps; labels become safe names", () => {
  fc.assert(
    fc.property(fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }), (d) =>
      assert.equal(stampedAt(`${fileStamp(d)}-x.diff`), d.getTime()),
    ),
  );
  for (const name of ["notes.txt", "conflicts", "2026-11-29", "x2026-11-29T12-00-00-000Z"])
    assert.equal(stampedAt(name), undefined, name);
  assert.equal(nameSafe("../../etc/passwd \u0000 ünï"), ".._.._etc_passwd____n_");
  assert.equal(nameSafe("x".repeat(100)).length, 60);
});
