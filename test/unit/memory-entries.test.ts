// Parsing hand-editable memory markdown into entries, and the pack's own edits of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  appendToSection,
  formatBullet,
  memoryTemplate,
  nearIdentical,
  parseEntries,
  removeLines,
  resolveSection,
  PROJECT_SECTIONS,
} from "../../plugins/core/memory-format.ts";

const SAMPLE = `# Project memory

## Rules

- Run npm test before every commit <!-- id:m-aaaa1111 · 2026-11-01 · ses_1 -->
- Never push to main
  directly; open a PR. <!-- id:m-bbbb2222 · 2026-11-02 · ses_2 -->
* star bullet without a tag

## Architecture decisions

The index is derived from the files
and can always be rebuilt.

\`\`\`
## not a heading inside a fence
- not a bullet
\`\`\`

### Storage
1. SQLite with FTS5
`;

test("bullets, paragraphs and fenced code become entries with section, heading and line range", () => {
  const entries = parseEntries(SAMPLE);
  assert.deepEqual(
    entries.map((e) => [e.kind, e.section, e.lineStart, e.lineEnd]),
    [
      ["bullet", "Rules", 5, 5],
      ["bullet", "Rules", 6, 7],
      ["bullet", "Rules", 8, 8],
      ["paragraph", "Architecture decisions", 12, 13],
      ["paragraph", "Architecture decisions", 15, 18],
      ["bullet", "Architecture decisions", 21, 21],
    ],
  );
  assert.equal(entries[0]!.id, "m-aaaa1111");
  assert.equal(entries[0]!.date, "2026-11-01");
  assert.equal(entries[0]!.session, "ses_1");
  assert.equal(entries[0]!.text, "Run npm test before every commit");
  assert.equal(entries[1]!.text, "Never push to main\ndirectly; open a PR.");
  assert.match(entries[2]!.id, /^h-[0-9a-f]{8}$/);
  assert.equal(entries[5]!.heading, "Project memory > Architecture decisions > Storage");
  assert.equal(entries[5]!.text, "SQLite with FTS5");
});

test("broken markdown never throws and keeps every line's words somewhere", () => {
  const broken =
    "### heading without parent\n```\nunclosed fence\n- x\n<!-- unclosed comment\n# \n-\n- \n\u0000\u0001 junk";
  const entries = parseEntries(broken);
  assert.ok(Array.isArray(entries));
  assert.ok(entries.some((e) => e.text.includes("unclosed fence")));
  assert.deepEqual(parseEntries(""), []);
  assert.deepEqual(parseEntries("\n\n\n"), []);
});

test("untagged ids are stable while the text is unchanged", () => {
  const a = parseEntries("- hand written note")[0]!.id;
  const b = parseEntries("# x\n\n- Hand  written note!")[0]!.id;
  assert.equal(a, b, "case, spacing and punctuation do not change the id");
  assert.notEqual(a, parseEntries("- another note")[0]!.id);
});

test("appendToSection puts the entry at the end of its section and creates missing sections", () => {
  const tag = { id: "m-cccc3333", date: "2026-11-21", session: "ses_x" };
  const next = appendToSection(SAMPLE, "rules", formatBullet("New rule", tag), memoryTemplate("project"));
  const rules = parseEntries(next).filter((e) => e.section === "Rules");
  assert.equal(rules.at(-1)!.id, "m-cccc3333");
  assert.equal(parseEntries(next).length, parseEntries(SAMPLE).length + 1, "nothing else lost");
  const fresh = appendToSection("", "Rules", formatBullet("first", tag), memoryTemplate("project"));
  for (const section of PROJECT_SECTIONS) assert.match(fresh, new RegExp(`^## ${section}$`, "m"));
  assert.equal(parseEntries(fresh)[0]!.section, "Rules");
  const custom = appendToSection("# Mine\n\nfree text\n", "Rules", formatBullet("r", tag), memoryTemplate("project"));
  assert.match(custom, /free text\n\n## Rules\n\n- r <!-- id:m-cccc3333/);
});

test("multi-line entries become one bullet with indented continuation lines", () => {
  const bullet = formatBullet("line one\n\nline two\n- line three", {
    id: "m-1",
    date: "2026-11-21",
    session: "ses y/../z",
  });
  assert.equal(bullet, "- line one\n  line two\n  - line three <!-- id:m-1 · 2026-11-21 · ses_y_.._z -->");
  const parsed = parseEntries(bullet);
  assert.equal(parsed.length, 1);
  assert.equal(parsed[0]!.id, "m-1");
});

test("removeLines removes exactly the entry and the gap it leaves", () => {
  const entry = parseEntries(SAMPLE)[1]!;
  const next = removeLines(SAMPLE, entry.lineStart, entry.lineEnd);
  const ids = parseEntries(next).map((e) => e.id);
  assert.ok(!ids.includes("m-bbbb2222"));
  assert.equal(ids.length, parseEntries(SAMPLE).length - 1);
});

test("section names resolve case-insensitively and by alias; unknown ones do not", () => {
  assert.equal(resolveSection("RULES", PROJECT_SECTIONS), "Rules");
  assert.equal(resolveSection("decisions", PROJECT_SECTIONS), "Architecture decisions");
  assert.equal(resolveSection("knowledge", PROJECT_SECTIONS), "Discovered durable knowledge");
  assert.equal(resolveSection("Gossip", PROJECT_SECTIONS), undefined);
  assert.equal(resolveSection("", PROJECT_SECTIONS), undefined);
});

test("nearIdentical catches rephrasings by case and punctuation but not different facts", () => {
  assert.ok(nearIdentical("Always run npm test before committing", "always run npm test before committing!"));
  assert.ok(!nearIdentical("Use port 5432 for postgres", "Use port 6379 for redis"));
  assert.ok(!nearIdentical("", ""));
});

test("edits keep Windows line endings and never land inside a fenced block that contains a heading", () => {
  const tag = { id: "m-dddd4444", date: "2026-11-21", session: "s" };
  const crlf = "# P\r\n\r\n## Rules\r\n\r\n- one\r\n\r\n## Architecture decisions\r\n\r\n- two\r\n";
  const next = appendToSection(crlf, "Rules", formatBullet("three", tag), memoryTemplate("project"));
  assert.ok(!/[^\r]\n/.test(next), "every newline is still CRLF");
  assert.deepEqual(
    parseEntries(next).map((e) => [e.section, e.text]),
    [
      ["Rules", "one"],
      ["Rules", "three"],
      ["Architecture decisions", "two"],
    ],
  );
  const removed = removeLines(next, 5, 5);
  assert.ok(!/[^\r]\n/.test(removed));
  const fenced = "## Rules\n\n- keep this\n\n```md\n## Not a section\n```\n\n## Other\n\n- x\n";
  const added = appendToSection(fenced, "Rules", formatBullet("new rule", tag), memoryTemplate("project"));
  assert.match(added, /```md\n## Not a section\n```\n- new rule <!-- id:m-dddd4444/);
  assert.equal(parseEntries(added).find((e) => e.id === "m-dddd4444")!.section, "Rules");
});
