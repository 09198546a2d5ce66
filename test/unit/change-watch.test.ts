// The watcher only ever lets a search skip its look when it can vouch that nothing changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeWatch } from "../../plugins/memory/change-watch.ts";

test("quiet only after a look with every folder watched, not after an event, a touch, 10 s, or for a missing folder", async () => {
  const root = mkdtempSync(join(tmpdir(), "continuum-watch-"));
  const [a, b] = [join(root, "a"), join(root, "b")];
  mkdirSync(a);
  let now = 1_000;
  const watch = new ChangeWatch([a, b], 10_000, () => now);
  try {
    assert.equal(watch.quiet(), false, "never looked yet");
    watch.looking();
    assert.equal(watch.quiet(), false, "folder b does not exist: cannot vouch");
    mkdirSync(b);
    watch.looking();
    assert.equal(watch.quiet(), true);
    writeFileSync(join(b, "x.md"), "x");
    const deadline = Date.now() + 3000;
    while (watch.quiet() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(watch.quiet(), false, "a file event ends the quiet");
    watch.looking();
    watch.touch();
    assert.equal(watch.quiet(), false, "the caller's own write ends it");
    watch.looking();
    now += 10_001;
    assert.equal(watch.quiet(), false, "no longer than 10 s without a look");
    watch.close();
    watch.looking();
    assert.equal(watch.quiet(), false, "closed: every search looks");
  } finally {
    watch.close();
    rmSync(root, { recursive: true, force: true });
  }
});
