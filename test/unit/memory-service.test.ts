// remember / forget / block packing / recall over real files and a real SQLite index.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { assembleBlock } from "../../plugins/memory/block.ts";
import { parseEntries } from "../../plugins/core/memory-format.ts";
import { MemoryInputError } from "../../plugins/memory/memory-service.ts";
import { buildMemoryBlock, recallFor } from "../../plugins/memory/recall.ts";
import { listVersions } from "../../plugins/memory/safe-write.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

const LOC = { projectFile: "/p/MEMORY.md", globalFile: "/g/MEMORY.md" };

test("remember dates, tags, redacts and dedupes; unknown sections and empty text are clear errors", async () => {
  const f = await memoryFixture();
  try {
    const first = await f.service.remember({
      section: "rules",
      text: "Deploy key is AKIAABCDEFGHIJKLMNOP, never commit it",
      sessionId: "ses_9",
    });
    assert.match(first.id, /^m-[a-z0-9]{8}$/);
    const text = readFileSync(f.locations.projectFile, "utf8");
    assert.ok(!text.includes("AKIAABCDEFGHIJKLMNOP"));
    assert.match(
      text,
      /- Deploy key is \[REDACTED:aws-key\], never commit it <!-- id:m-[a-z0-9]{8} · \d{4}-\d{2}-\d{2} · ses_9 -->/,
    );
    const again = await f.service.remember({
      section: "Rules",
      text: "deploy key is [REDACTED:aws-key] never commit it.",
      sessionId: "ses_10",
    });
    assert.equal(again.duplicateOf, first.id);
    assert.equal(parseEntries(readFileSync(f.locations.projectFile, "utf8")).length, 1);
    await assert.rejects(
      f.service.remember({ section: "Gossip", text: "x", sessionId: "s" }),
      (e: Error) => e instanceof MemoryInputError && /unknown section "Gossip".*Rules/.test(e.message),
    );
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "  \n ## \n", sessionId: "s" }),
      MemoryInputError,
    );
    await assert.rejects(
      f.service.remember({ section: "Rules", text: "x".repeat(3000), sessionId: "s" }),
      /at most 2000/,
    );
    const global = await f.service.remember({
      section: "Preferences",
      text: "Prefers tabs",
      scope: "global",
      sessionId: "s",
    });
    assert.match(
      readFileSync(f.locations.globalFile, "utf8"),
      new RegExp(`## Preferences\\n\\n- Prefers tabs <!-- id:${global.id}`),
    );
  } finally {
    f.cleanup();
  }
});

test('remember refuses text with no word to search it by (found by the chaos run: a lone surrogate became an unsearchable "�" entry)', async () => {
  const f = await memoryFixture();
  try {
    for (const text of ["....//....//", "\ud800", "!!! ??? ---", "\udfff \u0000 ***"]) {
      await assert.rejects(
        f.service.remember({ section: "Rules", text, sessionId: "s" }),
        (e: Error) => e instanceof MemoryInputError && /no words \(letters or digits\)|text is empty/.test(e.message),
        JSON.stringify(text),
      );
    }
    assert.equal(existsSync(f.locations.projectFile), false, "nothing written");
    // A lone surrogate inside real words is dropped, not turned into U+FFFD on disk; the entry is found by its words.
    const kept = await f.service.remember({ section: "Rules", text: "cobalt\ud800 harbor", sessionId: "s" });
    const file = readFileSync(f.locations.projectFile, "utf8");
    assert.ok(file.includes("- cobalt harbor <!-- id:"), file);
    assert.ok(!file.includes("\ufffd"));
    assert.equal(
      f.service.search({ query: "cobalt harbor", scope: "all", mode: "all", limit: 10 }).hits[0]?.entryId,
      kept.id,
    );
    // Scripts without Latin letters are words too.
    await f.service.remember({ section: "Rules", text: "机器学习", sessionId: "s" });
    await f.service.appendNote("ses_n", "note \udc00 text", 1);
    assert.ok(
      !readFileSync(join(f.locations.sessionDir("ses_n"), "notes.md"), "utf8").includes("\ufffd"),
      "notes drop lone surrogates too",
    );
  } finally {
    f.cleanup();
  }
});

test("forget removes exactly one entry, keeps the previous version, and says so for unknown ids", async () => {
  const f = await memoryFixture();
  try {
    const a = await f.service.remember({ section: "Rules", text: "rule alpha", sessionId: "s" });
    const b = await f.service.remember({ section: "Rules", text: "rule beta", sessionId: "s" });
    const removed = await f.service.forget(a.id);
    assert.equal(removed.text, "rule alpha");
    const ids = parseEntries(readFileSync(f.locations.projectFile, "utf8")).map((e) => e.id);
    assert.deepEqual(ids, [b.id]);
    const versions = listVersions(f.locations.projectFile);
    assert.ok(readFileSync(versions.at(-1)!, "utf8").includes("rule alpha"));
    await assert.rejects(f.service.forget("m-doesnotexist"), /no memory entry with id "m-doesnotexist"/);
    assert.equal(f.service.search({ query: "alpha", scope: "all" }).hits.length, 0);
  } finally {
    f.cleanup();
  }
});

test("a section past its budget moves its oldest entries to memory-<topic>.md; nothing is lost", async () => {
  const f = await memoryFixture({ sectionBudgetTokens: 200 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(
        (
          await f.service.remember({
            section: "knowledge",
            text: `durable fact ${i}: the service on port ${4000 + i} speaks gRPC`,
            sessionId: "s",
          })
        ).id,
      );
    const topic = join(f.locations.projectDir, "memory-discovered-durable-knowledge.md");
    assert.ok(existsSync(topic));
    const all = [
      ...parseEntries(readFileSync(f.locations.projectFile, "utf8")),
      ...parseEntries(readFileSync(topic, "utf8")),
    ].map((e) => e.id);
    assert.deepEqual([...all].sort(), [...ids].sort());
    const topicEntries = parseEntries(readFileSync(topic, "utf8"));
    assert.equal(topicEntries[0]!.section, "Discovered durable knowledge");
    assert.equal(topicEntries[0]!.id, ids[0], "the oldest moved first");
    const again = await f.service.remember({
      section: "knowledge",
      text: "Durable fact 0: the service on port 4000 speaks gRPC.",
      sessionId: "s",
    });
    assert.equal(again.duplicateOf, ids[0], "dedupe also looks into topic files");
    for (let i = 0; i < 12; i++)
      await f.service.remember({
        section: "Preferences",
        text: `global preference ${i}: prefers tool number ${i} over the others`,
        scope: "global",
        sessionId: "s",
      });
    const globalTopic = join(f.locations.globalDir, "memory-preferences.md");
    assert.ok(existsSync(globalTopic), "a global section overflows next to the global MEMORY.md");
    assert.equal(f.service.search({ query: "preference", scope: "global", limit: 50 }).hits.length, 12);
  } finally {
    f.cleanup();
  }
});

test("the block ranks rules over decisions over knowledge, stays under budget, never cuts an entry, lists what did not fit", async () => {
  const f = await memoryFixture();
  try {
    for (let i = 0; i < 40; i++)
      await f.service.remember({
        section: "knowledge",
        text: `knowledge item ${i} ${"lorem ipsum ".repeat(8)}`,
        sessionId: "s",
      });
    await f.service.remember({
      section: "knowledge",
      text: "The billing service retries webhooks three times",
      sessionId: "s",
    });
    await f.service.remember({
      section: "Architecture decisions",
      text: "Events go through NATS, not Kafka",
      sessionId: "s",
    });
    await f.service.remember({ section: "Rules", text: "Never edit generated files under gen/", sessionId: "s" });
    const block = buildMemoryBlock(f.service, "why are billing webhooks retried?", 600, LOC);
    assert.ok(block.tokens <= 600, `block ${block.tokens} tokens`);
    assert.ok(estimateTokens(block.text) <= 600);
    const groups = block.included.map((i) => i.group);
    assert.ok(groups.includes("rules") && groups.includes("decisions"));
    assert.ok(block.text.indexOf("Never edit generated files") < block.text.indexOf("Events go through NATS"));
    assert.ok(
      block.text.includes("The billing service retries webhooks three times"),
      "relevant knowledge wins a place",
    );
    assert.ok(block.omitted.length > 0);
    assert.match(block.text, /## Not shown \(over the memory budget; use memory search\)\n- knowledge item/);
    for (const item of block.included)
      assert.ok(block.text.includes(item.entry.text.split("\n")[0]!), "whole entries only");
    assert.match(
      block.text,
      /^<continuum-memory>\nMemory of this project \(opencode-continuum\), markdown the user can edit: project \/p\/MEMORY\.md; global \/g\/MEMORY\.md\.\n/,
    );
    const again = buildMemoryBlock(f.service, "why are billing webhooks retried?", 600, LOC);
    assert.equal(again.text, block.text, "same input, same bytes");
  } finally {
    f.cleanup();
  }
});

test("assembleBlock with nothing stored is empty: no block is sent when there is nothing to say", () => {
  const empty = assembleBlock({
    entries: [],
    relevance: new Map(),
    budgetTokens: 4000,
    locations: LOC,
    now: new Date(),
  });
  assert.equal(empty.text, "");
  assert.equal(empty.tokens, 0);
  assert.equal(empty.included.length, 0);
});

test("recall adds relevant entries not in the block, within budget, and nothing for an unrelated message", async () => {
  const f = await memoryFixture();
  try {
    const rule = await f.service.remember({
      section: "Rules",
      text: "Run database migrations with make migrate",
      sessionId: "s",
    });
    const fact = await f.service.remember({
      section: "knowledge",
      text: "The staging database lives on db-stage-2 port 5433",
      sessionId: "s",
    });
    const hit = recallFor(f.service, {
      text: "connect to the staging database please",
      sessionId: "s",
      exclude: new Set([rule.id]),
      budgetTokens: 800,
    });
    assert.ok(hit);
    assert.deepEqual(
      hit.hits.map((h) => h.entryId),
      [fact.id],
    );
    assert.match(hit.text, /^<continuum-recall>/);
    assert.equal(
      recallFor(f.service, {
        text: "write a haiku about autumn leaves",
        sessionId: "s",
        exclude: new Set(),
        budgetTokens: 800,
      }),
      undefined,
    );
    assert.equal(
      recallFor(f.service, { text: "the the the", sessionId: "s", exclude: new Set(), budgetTokens: 800 }),
      undefined,
    );
    assert.equal(
      recallFor(f.service, { text: "staging database", sessionId: "s", exclude: new Set(), budgetTokens: 10 }),
      undefined,
      "over budget: nothing",
    );
  } finally {
    f.cleanup();
  }
});

test("session notes: turn-headed entries, redacted, searchable in session scope, turn never goes backwards", async () => {
  const f = await memoryFixture();
  try {
    const first = await f.service.appendNote("ses_n", "Found the flaky test: tests/io.spec.ts\n## not a heading", 2);
    assert.equal(first.turn, 2);
    const second = await f.service.appendNote("ses_n", "AKIAABCDEFGHIJKLMNOP leaked in a log", 1);
    assert.equal(second.turn, 2, "a restarted counter does not go below the file's last turn");
    const text = readFileSync(first.file, "utf8");
    assert.match(
      text,
      /^# Session notes \(ses_n\)\n\n## \[turn 2 · \d{4}-\d{2}-\d{2}T[\d:.]+Z\]\nFound the flaky test/,
    );
    assert.ok(!text.includes("AKIAABCDEFGHIJKLMNOP"));
    assert.ok(!/^## not a heading/m.test(text));
    const hits = f.service.search({ query: "flaky", scope: "session", sessionId: "ses_n" }).hits;
    assert.equal(hits.length, 1);
    assert.equal(hits[0]!.heading.startsWith("Session notes (ses_n) > [turn 2"), true);
    assert.equal(f.service.search({ query: "flaky", scope: "session", sessionId: "ses_other" }).hits.length, 0);
    await assert.rejects(f.service.appendNote("ses_n", "   ", 3), MemoryInputError);
  } finally {
    f.cleanup();
  }
});

test('memory.location "repo" keeps project memory in .opencode/memory/ of the project; the path guard follows', async () => {
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { openDatabase } = await import("../../plugins/core/storage/database.ts");
  const { packPaths } = await import("../../plugins/core/paths.ts");
  const { memoryLocations } = await import("../../plugins/memory/locations.ts");
  const { MemoryService } = await import("../../plugins/memory/memory-service.ts");
  const root = mkdtempSync(join(tmpdir(), "continuum-repo-"));
  const db = await openDatabase(join(root, "db.sqlite"));
  try {
    const paths = packPaths(join(root, "data"));
    const locations = memoryLocations(paths, "p", join(root, "repo"), "repo");
    const service = new MemoryService({
      db,
      locations,
      projectId: "p",
      sessionsDir: paths.project("p").sessions,
      versionsKept: 3,
      sectionBudgetTokens: 2000,
      redact: (t) => t,
      repoMode: true,
    });
    const saved = await service.remember({
      section: "Rules",
      text: "shared with the team through git",
      sessionId: "s",
    });
    assert.equal(saved.file, join(root, "repo", ".opencode", "memory", "MEMORY.md"));
    assert.equal(service.search({ query: "team", scope: "project" }).hits[0]!.entryId, saved.id);
    assert.ok(locations.writableRoots.includes(join(root, "repo", ".opencode", "memory")));
    await service.remember({ section: "Rules", text: "second rule, so a version exists", sessionId: "s" });
    const { readFileSync: read } = await import("node:fs");
    assert.equal(
      read(join(root, "repo", ".opencode", "memory", ".gitignore"), "utf8"),
      ".versions/\n*.lock\n.*.tmp-*\n",
      "housekeeping stays out of git",
    );
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("with the folder watcher, a search skips its look at every file while nothing changed, and a hand edit made between two searches is found by the second", async () => {
  const f = await memoryFixture({ watch: true });
  const { mkdirSync, writeFileSync, appendFileSync } = await import("node:fs");
  for (const dir of [f.locations.globalDir, f.locations.projectDir, f.sessionsDir]) mkdirSync(dir, { recursive: true });
  try {
    await f.service.remember({ section: "Rules", text: "Use pnpm for installs", sessionId: "s" });
    assert.equal(f.service.search({ query: "pnpm", scope: "all", track: false }).hits.length, 1);
    // A hand edit: appended by an editor, no call of the pack in between.
    appendFileSync(
      f.locations.projectFile,
      "- The staging database is db-stage-2 <!-- id:m-hand0001 · 2026-11-29 · ses_h -->\n",
    );
    const deadline = Date.now() + 3000;
    let found = 0;
    while (found === 0 && Date.now() < deadline) {
      await new Promise((r) => setImmediate(r));
      found = f.service.search({ query: "staging", scope: "all", track: false }).hits.length;
    }
    assert.equal(found, 1, "the edit is found by a later search");
    // A new session folder with notes, made by hand: picked up too.
    mkdirSync(join(f.sessionsDir, "ses_new"), { recursive: true });
    writeFileSync(
      join(f.sessionsDir, "ses_new", "notes.md"),
      "## [turn 1 · 2026-11-29T00:00:00Z]\nzebrafish replication checked\n",
    );
    let note = 0;
    while (note === 0 && Date.now() < deadline + 3000) {
      await new Promise((r) => setImmediate(r));
      note = f.service.search({ query: "zebrafish", scope: "all", track: false }).hits.length;
    }
    assert.equal(note, 1);
  } finally {
    f.service.close();
    f.cleanup();
  }
});

test("without a watcher every search still looks at the files: an edit right before it is found at once", async () => {
  const f = await memoryFixture();
  try {
    await f.service.remember({ section: "Rules", text: "Use pnpm for installs", sessionId: "s" });
    const { appendFileSync } = await import("node:fs");
    appendFileSync(
      f.locations.projectFile,
      "- The staging database is db-stage-2 <!-- id:m-hand0002 · 2026-11-29 · ses_h -->\n",
    );
    assert.equal(f.service.search({ query: "staging", scope: "all", track: false }).hits.length, 1);
  } finally {
    f.cleanup();
  }
});
