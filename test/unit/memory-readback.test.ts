// Every memory write is read back: stray bytes are repaired (original kept), a binary is refused naming the file,
// an entry the index cannot find is not reported as remembered, and a read-only place is refused naming the path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { memoryFixture } from "./helpers/memory-fixture.ts";
import { MemoryInputError } from "../../plugins/memory/memory-service.ts";
import { MemoryPathError, MemoryReadOnlyError, versionsDir } from "../../plugins/memory/safe-write.ts";
import { inspectText, readMemoryFile } from "../../plugins/memory/memory-files.ts";
import { parseEntries, removeLines } from "../../plugins/core/memory-format.ts";

const HEAD = "# Project memory\n\n## Rules\n\n- Always run the linter before committing.\n";

async function withFile(
  bytes: Uint8Array | string,
  run: (f: Awaited<ReturnType<typeof memoryFixture>>, file: string) => Promise<void>,
) {
  const f = await memoryFixture();
  try {
    mkdirSync(f.locations.projectDir, { recursive: true });
    writeFileSync(f.locations.projectFile, bytes);
    await run(f, f.locations.projectFile);
  } finally {
    f.cleanup();
  }
}

for (const [what, bytes] of [
  ["one NUL byte", Buffer.concat([Buffer.from(HEAD), Buffer.from([0]), Buffer.from("\n- Tabs\tstay.\n")])],
  [
    "invalid UTF-8",
    Buffer.concat([Buffer.from(HEAD), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(" broken bytes\n")]),
  ],
] as const) {
  test(`a MEMORY.md with ${what} stays searchable; the next write repairs it, keeps the original and says so`, async () => {
    await withFile(bytes, async (f, file) => {
      assert.equal(
        f.service.search({ query: "linter", scope: "all" }).hits.length,
        1,
        "indexed despite the stray byte",
      );
      const result = await f.service.remember({ section: "Rules", text: "Use pnpm, never npm.", sessionId: "s" });
      assert.match(result.repaired ?? "", /was repaired .*original is kept in/);
      assert.ok(f.service.find(result.id), "the new entry is found");
      assert.equal(f.service.search({ query: "linter", scope: "all" }).hits.length, 1, "the old entry is still found");
      const now = readFileSync(file);
      assert.equal(now.includes(0), false, "no NUL left");
      assert.doesNotThrow(() => new TextDecoder("utf-8", { fatal: true }).decode(now));
      const versions = readdirSync(versionsDir(file)).map((name) => readFileSync(join(versionsDir(file), name)));
      assert.ok(
        versions.some((v) => v.equals(bytes)),
        "the original bytes are kept as a version",
      );
    });
  });
}

test("forget on a file with stray bytes repairs it and says so, as remember does (found by the chaos run: the repair was silent)", async () => {
  const bytes = Buffer.concat([
    Buffer.from("# Project memory\n\n## Rules\n\n- keep \u0000 this <!-- id:m-keep0001 · 2026-01-01 · s -->\n- drop "),
    Buffer.from([0xff, 0xfe]),
    Buffer.from(" that <!-- id:m-drop0001 · 2026-01-01 · s -->\n"),
  ]);
  await withFile(bytes, async (f, file) => {
    const removed = await f.service.forget("m-drop0001");
    assert.match(removed.repaired ?? "", /was repaired \(.*NUL.*\); the original is kept in/);
    const now = readFileSync(file);
    assert.equal(now.includes(0), false, "no NUL left");
    assert.ok(f.service.find("m-keep0001"), "the other entry is still found");
    const versions = readdirSync(versionsDir(file)).map((name) => readFileSync(join(versionsDir(file), name)));
    assert.ok(
      versions.some((v) => v.equals(bytes)),
      "the original bytes are kept as a version",
    );
  });
});

test("a binary file in the place of MEMORY.md is refused with the file and the fix, and left untouched", async () => {
  const png = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256));
  await withFile(png, async (f, file) => {
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "Anything.", sessionId: "s" }),
      (error: unknown) =>
        error instanceof MemoryPathError &&
        (error as Error).message.includes(file) &&
        /not a text file.*mv /.test((error as Error).message),
    );
    assert.ok(readFileSync(file).equals(png));
  });
});

test("an entry the index cannot read back is not reported as remembered, and the file is put back", async () => {
  // An unclosed comment above the section: the parser skips everything up to the next "-->", which the new
  // entry's own tag supplies, so the entry would vanish from the index.
  const broken = "# Project memory\n\n<!-- an unclosed comment\n\n## Rules\n\n- Old rule.\n";
  await withFile(broken, async (f, file) => {
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "New rule that would vanish.", sessionId: "s" }),
      (error: unknown) => {
        return (
          error instanceof MemoryInputError && /could not be read back from .*MEMORY\.md/.test((error as Error).message)
        );
      },
    );
    assert.equal(readFileSync(file, "utf8"), broken);
  });
});

test("a refused write to a file with stray bytes still says the file was repaired (the undo keeps the repair)", async () => {
  const broken = Buffer.concat([
    Buffer.from("# Project memory\n\n<!-- an unclosed comment\n\n## Rules\n\n- Old "),
    Buffer.from([0xff, 0]),
    Buffer.from(" rule.\n"),
  ]);
  await withFile(broken, async (f, file) => {
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "New rule that would vanish.", sessionId: "s" }),
      (error: unknown) => {
        return (
          error instanceof MemoryInputError &&
          /could not be read back[^]*Note: .*MEMORY\.md was repaired/.test((error as Error).message)
        );
      },
    );
    assert.equal(readFileSync(file).includes(0), false, "the repair stays");
    const versions = readdirSync(versionsDir(file)).map((name) => readFileSync(join(versionsDir(file), name)));
    assert.ok(
      versions.some((v) => v.equals(broken)),
      "the original bytes are kept as a version",
    );
  });
});

test("control characters are cleaned from entries and notes (tabs and newlines kept); notes.md never turns binary", async () => {
  const f = await memoryFixture();
  try {
    const remembered = await f.service.remember({
      section: "Rules",
      text: "Bell\u0007 and NUL\u0000 gone,\ttab kept",
      sessionId: "s",
    });
    const entry = f.service.find(remembered.id)!;
    assert.equal(entry.text.includes("\u0000") || entry.text.includes("\u0007"), false);
    assert.match(entry.text, /NUL gone,\ttab kept/);
    const noted = await f.service.appendNote("ses_n", "first line\u0000\u0001\nsecond\tline\u001b[31m red", 1);
    const bytes = readFileSync(noted.file);
    assert.equal(bytes.includes(0), false);
    assert.equal(readMemoryFile(noted.file, bytes.length).indexable, true);
    assert.equal(f.service.search({ query: "second", scope: "session", sessionId: "ses_n" }).hits.length, 1);
  } finally {
    f.cleanup();
  }
});

test("read-only memory (a file or folder without write bits) is refused naming the path; reading still works", async () => {
  await withFile(HEAD, async (f, file) => {
    chmodSync(file, 0o444);
    const refused = (error: unknown) =>
      error instanceof MemoryReadOnlyError &&
      (error as Error).message.includes(file) &&
      !/EACCES|\.lock/.test((error as Error).message);
    await assert.rejects(f.service.remember({ section: "Rules", text: "New rule.", sessionId: "s" }), refused);
    const id = f.service.search({ query: "linter", scope: "all" }).hits[0]!.entryId;
    await assert.rejects(f.service.forget(id), refused);
    chmodSync(file, 0o644);
    chmodSync(f.locations.projectDir, 0o555);
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "New rule.", sessionId: "s" }),
      /memory is read-only here: cannot write .*MEMORY\.md \(folder .*read-only \(mode 0555\)\)/,
    );
    assert.equal(f.service.search({ query: "linter", scope: "all" }).hits.length, 1);
    chmodSync(f.locations.projectDir, 0o755);
  });
});

// ---- property tests of the memory file parser ----

test("property: any bytes in, the reader and the parser never throw, and clean text is left as it is", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const inspected = inspectText(bytes);
      const entries = parseEntries(inspected.text);
      assert.ok(Array.isArray(entries));
      if (!inspected.binary)
        assert.equal(inspectText(Buffer.from(inspected.text)).repairs.length, 0, "cleaning is complete");
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 500 }), (text) => {
      const clean = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "");
      assert.equal(inspectText(Buffer.from(clean)).text, clean);
    }),
  );
});

const line = fc.oneof(
  fc.constantFrom(
    "",
    "## Rules",
    "## Project context",
    "# Title",
    "```",
    "<!-- note",
    "-->",
    "  continued",
    "- [ ] todo",
  ),
  fc.string({ maxLength: 40 }).map((s) => `- ${s}`),
  fc.string({ maxLength: 40 }),
);

test("property: removing one entry leaves every other entry as it was", () => {
  fc.assert(
    fc.property(fc.array(line, { maxLength: 30 }), fc.nat(), (lines, pick) => {
      const content = lines.join("\n");
      const entries = parseEntries(content);
      if (entries.length === 0) return;
      const removed = entries[pick % entries.length]!;
      const after = parseEntries(removeLines(content, removed.lineStart, removed.lineEnd));
      const texts = (list: typeof entries) => list.filter((e) => e !== removed).map((e) => e.text);
      for (const text of texts(entries))
        assert.ok(
          after.some((e) => e.text === text),
          `kept: ${JSON.stringify(text)}`,
        );
    }),
    { numRuns: 300 },
  );
});

test("property: a remember on any file content either stores a findable entry and loses none, or refuses and changes nothing", async () => {
  const f = await memoryFixture();
  try {
    mkdirSync(f.locations.projectDir, { recursive: true });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.array(line, { maxLength: 20 }).map((l) => Buffer.from(l.join("\n"))),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        ),
        async (bytes) => {
          const file = f.locations.projectFile;
          writeFileSync(file, bytes);
          f.service.reconcile();
          const before = f.service
            .candidates()
            .filter((c) => c.path === file)
            .map((c) => c.text);
          try {
            const result = await f.service.remember({
              section: "Rules",
              text: `Property rule number ${n++} stays findable.`,
              sessionId: "s",
            });
            if (result.duplicateOf) return;
            assert.ok(f.service.find(result.id), "the new entry is found");
            // Untagged entries have ids derived from their text, so "kept" means: the text is still in an entry.
            const after = f.service.candidates().map((c) => c.text);
            for (const text of before)
              assert.ok(
                after.some((t) => t.includes(text)),
                `entry kept: ${JSON.stringify(text)}`,
              );
          } catch (error) {
            assert.ok(error instanceof MemoryInputError || error instanceof MemoryPathError, String(error));
            assert.ok(readFileSync(file).equals(bytes), "a refused write changes nothing");
          }
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    f.cleanup();
  }
});
