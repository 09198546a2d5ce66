// The dream's draft of MEMORY.md and the limits code enforces on it: pure text operations, hostile input included.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DraftError, MemoryDraft } from "../../plugins/dream/draft.ts";
import { deletions, limitProblems, lineCount } from "../../plugins/dream/limits.ts";
import { parseEntries } from "../../plugins/core/memory-format.ts";
import { parseDreamArgs } from "../../plugins/dream/index.ts";

const BASE = [
  "# Project memory",
  "",
  "## Rules",
  "",
  "- Use pnpm. <!-- id:m-aaaa0001 · 2026-11-01 · ses_1 -->",
  "- Use pnpm for everything. <!-- id:m-aaaa0002 · 2026-11-02 · ses_2 -->",
  "",
  "## Discovered durable knowledge",
  "",
  "- Tests live in test/. <!-- id:m-aaaa0003 · 2026-11-03 · ses_3 -->",
  "",
  "A paragraph a person wrote by hand.",
  "",
].join("\n");

let counter = 0;
const draftOf = (text = BASE, sessions = ["ses_1", "ses_2", "ses_3", "ses_new"]) =>
  new MemoryDraft(text, "2026-11-29", new Set(sessions), () => `m-new${String(++counter).padStart(5, "0")}`);
const limits = { maxLines: 200, maxBytes: 10240, maxDeleteFraction: 0.3 };

test("remember appends to the section with date and every source session, sorted", () => {
  const draft = draftOf();
  const id = draft.remember("rules", "Run the linter before committing.", ["ses_new", "ses_1"]);
  const entry = parseEntries(draft.text).find((e) => e.id === id)!;
  assert.equal(entry.section, "Rules");
  assert.equal(entry.date, "2026-11-29");
  assert.equal(entry.session, "ses_1,ses_new");
  assert.deepEqual(draft.changes.added, [id]);
  assert.deepEqual(limitProblems(draft, limits), []);
});

test("merge keeps the first id and place, takes every source session, and counts the merged-away entry as removed", () => {
  const draft = draftOf();
  const kept = draft.merge(["m-aaaa0001", "m-aaaa0002"], "Use pnpm for every install and script.");
  assert.equal(kept, "m-aaaa0001");
  const entries = parseEntries(draft.text);
  assert.equal(entries.filter((e) => e.section === "Rules").length, 1);
  assert.equal(entries.find((e) => e.id === "m-aaaa0001")!.session, "ses_1,ses_2");
  assert.deepEqual(deletions(draft), { removed: 1, of: 4, fraction: 0.25 });
});

test("replace keeps the id; forget removes; unknown ids, sections and sessions are refused with a clear message", () => {
  const draft = draftOf();
  draft.replace("m-aaaa0003", "Tests live in test/unit and test/e2e.", ["ses_new"]);
  assert.match(
    draft.text,
    /Tests live in test\/unit and test\/e2e\. <!-- id:m-aaaa0003 · 2026-11-29 · ses_3,ses_new -->/,
  );
  assert.throws(
    () => draft.forget("m-nope"),
    (e: Error) => e instanceof DraftError && /no entry "m-nope"/.test(e.message),
  );
  assert.throws(() => draft.remember("Wishes", "x y", ["ses_1"]), /unknown section "Wishes"/);
  assert.throws(() => draft.remember("Rules", "a fact", ["ses_invented"]), /unknown source session/);
  assert.throws(() => draft.remember("Rules", "a fact", []), /at least one/);
  assert.throws(() => draft.remember("Rules", "one\ntwo\nthree\nfour", ["ses_1"]), /1-3 lines/);
  assert.throws(() => draft.remember("Rules", "x".repeat(700), ["ses_1"]), /at most 600/);
  assert.throws(() => draft.merge(["m-aaaa0001", "m-aaaa0001"], "same"), /two different/);
  draft.forget("m-aaaa0002");
  assert.deepEqual(draft.changes.forgotten, ["m-aaaa0002"]);
});

test("a hand-written paragraph can be rewritten by id; a comment or heading in the text cannot break the file", () => {
  const draft = draftOf();
  const paragraph = draft.entries().find((e) => e.text.startsWith("A paragraph"))!;
  draft.replace(paragraph.id, "## Not a heading --> <!-- nor a comment", ["ses_new"]);
  const after = parseEntries(draft.text);
  assert.equal(after.length, 4, draft.text);
  assert.equal(after.filter((e) => e.section === "Discovered durable knowledge").length, 2);
});

test("limits: deleting more than the fraction, too many lines or bytes, refuse the whole draft", () => {
  const draft = draftOf();
  draft.forget("m-aaaa0001");
  draft.forget("m-aaaa0002");
  assert.match(
    limitProblems(draft, limits).join("\n"),
    /changes 2 of 4 existing entries \(2 removed or merged away, 0 rewritten; 50 %\); at most 30 %/,
  );
  const big = draftOf();
  for (let i = 0; i < 5; i++) big.remember("Rules", `Fact number ${i} ${"word ".repeat(20)}`, ["ses_1"]);
  const problems = limitProblems(big, { maxLines: 10, maxBytes: 500, maxDeleteFraction: 0.3 });
  assert.match(problems.join("\n"), /would have \d+ lines; the limit is 10/);
  assert.match(problems.join("\n"), /would be \d+ bytes; the limit is 500/);
});

test("an empty or missing MEMORY.md: remember starts the file from the template", () => {
  const draft = draftOf("");
  draft.remember("Gotchas", "The CI runner has no network.", ["ses_1"]);
  assert.match(draft.text, /^# Project memory[\s\S]*## Gotchas\n\n- The CI runner has no network\. <!-- id:/);
  assert.equal(lineCount("a\nb\n"), 2);
  assert.equal(lineCount(""), 0);
});

test("property: any sequence of operations on any text either applies or throws DraftError; the draft always parses and ids stay unique", () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("remember"),
      section: fc.constantFrom("Rules", "Patterns", "nope"),
      text: fc.string({ maxLength: 80 }),
      sessions: fc.subarray(["ses_1", "ses_2", "bad id", "ses_new"]),
    }),
    fc.record({ kind: fc.constant("forget"), index: fc.nat(6) }),
    fc.record({ kind: fc.constant("replace"), index: fc.nat(6), text: fc.string({ maxLength: 80 }) }),
    fc.record({ kind: fc.constant("merge"), a: fc.nat(6), b: fc.nat(6), text: fc.string({ maxLength: 80 }) }),
  );
  const text = fc.oneof(fc.constant(BASE), fc.string({ maxLength: 300 }), fc.constant("```\n## Rules\n- in a fence\n"));
  fc.assert(
    fc.property(text, fc.array(op, { maxLength: 8 }), (original, ops) => {
      const draft = draftOf(original);
      for (const o of ops) {
        const ids = draft.entries().map((e) => e.id);
        try {
          if (o.kind === "remember") draft.remember(o.section, o.text, o.sessions);
          if (o.kind === "forget") draft.forget(ids[o.index] ?? "m-none");
          if (o.kind === "replace") draft.replace(ids[o.index] ?? "m-none", o.text, ["ses_1"]);
          if (o.kind === "merge") draft.merge([ids[o.a] ?? "m-none", ids[o.b] ?? "m-none2"], o.text, ["ses_1"]);
        } catch (error) {
          if (!(error instanceof DraftError)) throw error;
        }
      }
      const ids = parseEntries(draft.text)
        .map((e) => e.id)
        .filter((id) => id.startsWith("m-new"));
      assert.equal(new Set(ids).size, ids.length);
      const { fraction } = deletions(draft);
      assert.ok(fraction >= 0 && fraction <= 1.0001 * Math.max(1, draft.originalIds.size));
    }),
    { numRuns: 300 },
  );
});

test("/dream arguments: --dry-run anywhere, status, undo, focus words; unknown options refused", () => {
  assert.deepEqual(parseDreamArgs(""), { kind: "run", dryRun: false, focus: "" });
  assert.deepEqual(parseDreamArgs("testing --dry-run  setup"), { kind: "run", dryRun: true, focus: "testing setup" });
  assert.deepEqual(parseDreamArgs("status"), { kind: "status" });
  assert.deepEqual(parseDreamArgs("undo"), { kind: "undo" });
  assert.deepEqual(parseDreamArgs("undo the tests"), { kind: "run", dryRun: false, focus: "undo the tests" });
  assert.equal(parseDreamArgs("--force").kind, "error");
  assert.equal((parseDreamArgs("x".repeat(2000)) as { focus: string }).focus.length, 500);
});

test("the change limit counts replace and merge as well as forget: rewriting every entry is refused like deleting them", () => {
  const many = [
    "# Project memory",
    "",
    "## Rules",
    "",
    ...Array.from({ length: 10 }, (_, i) => `- Rule number ${i}. <!-- id:m-bbbb000${i} · 2026-11-01 · ses_1 -->`),
    "",
  ].join("\n");
  const rewriteAll = draftOf(many);
  for (let i = 0; i < 10; i++) rewriteAll.replace(`m-bbbb000${i}`, `Rewritten rule ${i}.`, ["ses_1"]);
  const problems = limitProblems(rewriteAll, limits);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0]!, /changes 10 of 10 existing entries \(0 removed or merged away, 10 rewritten; 100 %\)/);
  const mergeFour = draftOf(many);
  mergeFour.merge(["m-bbbb0000", "m-bbbb0001"], "Rules 0 and 1.", ["ses_1"]);
  mergeFour.merge(["m-bbbb0002", "m-bbbb0003"], "Rules 2 and 3.", ["ses_1"]);
  assert.match(
    limitProblems(mergeFour, limits).join("\n"),
    /changes 4 of 10 existing entries \(2 removed or merged away, 2 rewritten/,
  );
  const small = draftOf(many);
  small.replace("m-bbbb0000", "Rule zero, clarified.", ["ses_1"]);
  small.forget("m-bbbb0001");
  small.replace("m-bbbb0000", "Rule zero, clarified twice.", ["ses_1"]);
  assert.deepEqual(limitProblems(small, limits), [], "2 of 10 entries changed (one of them twice) is within 30 %");
});
