// What code checks after a dream: the paths and code names an entry mentions, against a real folder; and the diff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { mentionsOf, missingMentions, projectView } from "../../plugins/dream/verify.ts";
import { unifiedDiff } from "../../plugins/dream/diff.ts";

test("mentions: paths with a folder or a known extension, code names in backticks; prose, URLs, dates and numbers are not", () => {
  assert.deepEqual(mentionsOf("The parser lives in `src/legacy/parser.ts`; config in package.json."), {
    paths: ["src/legacy/parser.ts", "package.json"],
    names: [],
  });
  assert.deepEqual(mentionsOf("Call `startServer` (or `http.createServer`), not `npm run lint`."), {
    paths: [],
    names: ["startServer", "http.createServer"],
  });
  assert.deepEqual(
    mentionsOf("See https://example.com/a/b.html, read/write access, 2026/11/29, version 1.2.3, e.g. this."),
    { paths: [], names: [] },
  );
  assert.deepEqual(mentionsOf("`fetch` and `Date` are plain words"), { paths: [], names: [] });
  assert.deepEqual(mentionsOf("Run ./scripts/build.sh then `build_all()`"), {
    paths: ["scripts/build.sh"],
    names: ["build_all"],
  });
});

test("projectView: exact, suffix and bare-name paths; names found in file text; node_modules and the memory folder do not count", () => {
  const root = mkdtempSync(join(tmpdir(), "dream-verify-"));
  try {
    mkdirSync(join(root, "plugins", "memory"), { recursive: true });
    mkdirSync(join(root, "node_modules", "x"), { recursive: true });
    mkdirSync(join(root, ".opencode", "memory"), { recursive: true });
    writeFileSync(join(root, "plugins", "memory", "entries.ts"), "export function parseEntries() {}\n");
    writeFileSync(join(root, "node_modules", "x", "ghost.ts"), "export const hiddenThing = 1;\n");
    writeFileSync(join(root, ".opencode", "memory", "MEMORY.md"), "- `selfVouching` in memory-only.ts\n");
    symlinkSync("/dev/zero", join(root, "zero.ts"));
    symlinkSync(root, join(root, "loop"));
    const view = projectView(root);
    assert.ok(view.hasPath("plugins/memory/entries.ts"));
    assert.ok(view.hasPath("memory/entries.ts"), "a path relative to a folder of the project");
    assert.ok(view.hasPath("entries.ts"));
    assert.ok(view.hasPath("plugins/memory/"));
    assert.ok(!view.hasPath("ghost.ts"), "node_modules is skipped");
    assert.ok(!view.hasPath("memory-only.ts"), "the memory folder does not vouch for itself");
    assert.ok(view.hasPath("zero.ts"), "a link is there");
    assert.ok(!view.hasPath("loop/plugins/memory/entries.ts"), "a link to a folder is not walked (no loops)");
    assert.ok(view.hasName("parseEntries"), "names are found without reading /dev/zero behind a link");
    assert.ok(!view.hasName("hiddenThing"));
    assert.ok(!view.hasName("selfVouching"));
    assert.deepEqual(
      missingMentions("`parseEntries` in plugins/memory/entries.ts and `gone_away` in src/old.ts", view),
      ["src/old.ts", "gone_away"],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("property: mention extraction never throws and returns only strings found in the text", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      const { paths, names } = mentionsOf(text);
      for (const p of paths) assert.ok(text.includes(p), p);
      for (const n of names) assert.ok(text.includes(n), n);
    }),
    { numRuns: 500 },
  );
});

test("unified diff: headers without tabs, hunks with context; no diff for equal text", () => {
  assert.equal(unifiedDiff("MEMORY.md", "a\n", "a\n"), "");
  const diff = unifiedDiff("MEMORY.md", "a\nb\nc\n", "a\nB\nc\n");
  assert.equal(diff, "--- a/MEMORY.md\n+++ b/MEMORY.md\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  assert.match(
    unifiedDiff("MEMORY.md", "", "new\n"),
    /^--- a\/MEMORY\.md\n\+\+\+ b\/MEMORY\.md\n@@ -0,0 \+1(,1)? @@\n\+new\n$/,
  );
});
