// Automatic learning's pure parts: the harvest of a checkpoint's directives and decisions (by code, deduplicated,
// redacted), the rendering of candidates as dream material, and the gate (material, once per interval, daily budget).
import { test } from "node:test";
import assert from "node:assert/strict";
import { harvest, normalise, sectionItems } from "../../plugins/dream/learn-harvest.ts";
import { learnGate, MIN_RUN_TOKENS, spentSince } from "../../plugins/dream/learn-gate.ts";
import { materialOf } from "../../plugins/dream/learn.ts";
import { renderSessions } from "../../plugins/dream/inputs.ts";
import { redact } from "../../plugins/core/redaction.ts";
import { LEARN_FILE, readLearnState, saveLearnState } from "../../plugins/dream/learn-store.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SECTIONS = {
  directives:
    '- "never edit db/schema.sql" (user, turn 1)\n- Use the DSN postgres://app:hunter2secret@db.internal:5432/importer\n  for every connection.\n- none',
  decisions: "1. Parse CSV with the streaming reader, not readFileSync.\n2) ok",
  knowledge: "- The importer lives in src/import.ts",
};

const base = {
  sessionId: "ses_1",
  sections: SECTIONS,
  writtenAt: 1000,
  memoryText: "",
  known: new Set<string>(),
  redact,
};

test("harvest: each directive and decision becomes one candidate, continuation lines joined, '(none)'-like and tiny items dropped, other sections ignored", () => {
  const found = harvest(base);
  assert.deepEqual(
    found.map((c) => [c.kind, c.sessionId, c.at]),
    [
      ["directive", "ses_1", 1000],
      ["directive", "ses_1", 1000],
      ["decision", "ses_1", 1000],
    ],
  );
  assert.equal(found[0]!.text, '"never edit db/schema.sql" (user, turn 1)');
  assert.match(found[1]!.text, /for every connection\.$/);
  assert.equal(found[2]!.text, "Parse CSV with the streaming reader, not readFileSync.");
  assert.ok(!found.some((c) => c.text.includes("src/import.ts")), "knowledge is not harvested");
  assert.deepEqual(sectionItems("(none)"), []);
  // §3 as the checkpoint stores it: the writer's items, then code's list of exact values (not facts on their own).
  assert.deepEqual(
    sectionItems(
      "- never edit db/schema.sql\n\nExact values from the user (verbatim):\n- `db/schema.sql`\n- `postgres://db`",
    ),
    ["never edit db/schema.sql"],
  );
  assert.deepEqual(sectionItems("Rules:\n- lint first\n\nA loose line\nwrapped"), [
    "lint first",
    "A loose line wrapped",
  ]);
});

test("harvest: a secret in a directive never reaches a candidate", () => {
  const found = harvest(base);
  assert.ok(!JSON.stringify(found).includes("hunter2secret"), JSON.stringify(found));
});

test("harvest: dedup against MEMORY.md, against known (pending or consumed) keys and within one checkpoint", () => {
  const memoryText = "## Rules\n\n- Never edit `db/schema.sql`! <!-- id:m-1 · 2026-11-20 · ses_0 -->\n";
  assert.equal(harvest({ ...base, memoryText: memoryText + '"never edit db/schema.sql" (user, turn 1)' }).length, 2);
  const first = harvest(base);
  assert.deepEqual(harvest({ ...base, known: new Set(first.map((c) => c.key)) }), []);
  const twice = harvest({ ...base, sections: { directives: "- Always lint first.\n- always LINT first" } });
  assert.equal(twice.length, 1);
  assert.equal(normalise("Always  `lint`, first!"), "always lint first");
});

test("candidates are rendered as one block per session, newest first, with their kind", () => {
  const material = materialOf([
    ...harvest(base),
    ...harvest({ ...base, sessionId: "ses_2", writtenAt: 2000, sections: { decisions: "- Ship on Fridays only." } }),
  ]);
  assert.deepEqual(
    material.map((m) => m.sessionId),
    ["ses_2", "ses_1"],
  );
  const text = renderSessions(material, 100000).text;
  assert.match(text, /<session id="ses_2"[^]*\(decision\) Ship on Fridays only\.[^]*<session id="ses_1"/);
  assert.match(text, /- \(directive\) "never edit db\/schema\.sql"/);
});

const gate = {
  now: 100 * 3_600_000,
  pending: 2,
  lastAutoAt: undefined,
  everyHours: 24,
  spentToday: 0,
  dailyTokens: 60000,
  runBudget: 200000,
};

test("gate: no candidates, no dream; the first one starts with the smaller of the run budget and what is left today", () => {
  assert.deepEqual(learnGate({ ...gate, pending: 0 }), { start: false, why: "no candidates" });
  assert.deepEqual(learnGate(gate), { start: true, budget: 60000 });
  assert.deepEqual(learnGate({ ...gate, spentToday: 50000 }), { start: true, budget: 10000 });
  assert.deepEqual(learnGate({ ...gate, runBudget: 5000 }), { start: true, budget: 5000 });
});

test("gate: at most once per interval (24 h by default)", () => {
  assert.equal(learnGate({ ...gate, lastAutoAt: gate.now - 23 * 3_600_000 }).start, false);
  assert.equal(learnGate({ ...gate, lastAutoAt: gate.now - 24 * 3_600_000 }).start, true);
  assert.equal(learnGate({ ...gate, everyHours: 1, lastAutoAt: gate.now - 3_600_000 }).start, true);
});

test("gate: the daily budget stops runs once (nearly) spent; 0 stops them all", () => {
  const spent = learnGate({ ...gate, spentToday: 60000 - MIN_RUN_TOKENS + 1 });
  assert.equal(spent.start, false);
  assert.match((spent as { why: string }).why, /daily budget spent/);
  assert.equal(learnGate({ ...gate, dailyTokens: 0 }).start, false);
  const now = 10 * 86_400_000;
  assert.equal(
    spentSince(
      [
        { startedAt: now - 1000, tokens: 700 },
        { startedAt: now - 86_400_000 + 1, tokens: 300 },
        { startedAt: now - 86_400_000 - 1, tokens: 5000 },
      ],
      now,
    ),
    1000,
  );
});

test("learn.json: a secret that slipped into a candidate is redacted on disk; a damaged file reads as a fresh state; the consumed keys are bounded", () => {
  const dir = mkdtempSync(join(tmpdir(), "learn-"));
  try {
    const secret = "postgres://app:hunter2secret@db.internal:5432/importer";
    const state = readLearnState(dir);
    state.candidates.push({ key: "k", text: `use ${secret}`, kind: "directive", sessionId: "ses_1", at: 1 });
    state.consumed = Array.from({ length: 2500 }, (_, i) => `key ${i}`);
    saveLearnState(dir, state);
    const onDisk = readFileSync(join(dir, LEARN_FILE), "utf8");
    assert.ok(!onDisk.includes("hunter2secret"), onDisk.slice(0, 300));
    const read = readLearnState(dir);
    assert.equal(read.consumed.length, 2000);
    assert.equal(read.consumed.at(-1), "key 2499", "the newest keys are kept");
    writeFileSync(join(dir, LEARN_FILE), '{"candidates": 3}');
    assert.deepEqual(readLearnState(dir), { candidates: [], consumed: [], marks: {}, noticeShown: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
