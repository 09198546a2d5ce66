// The memory index on bun:sqlite inside OpenCode's embedded Bun: the engine the plugin really runs on.
import { test } from "bun:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { memoryFixture } from "../unit/helpers/memory-fixture.ts";
import { buildMemoryBlock } from "../../plugins/memory/recall.ts";
import { upsertParts, searchHistory, getPart, messagesAround } from "../../plugins/memory/history-store.ts";

test("remember, search (prefix, CJK, FTS5 operators), forget and rebuild work on bun:sqlite", async () => {
  const f = await memoryFixture();
  try {
    assert.equal(f.db.engine, "bun");
    const rule = await f.service.remember({
      section: "Rules",
      text: "Deployments need a green canary first",
      sessionId: "ses_b",
    });
    await f.service.remember({ section: "knowledge", text: "缓存失效时间是五分钟", sessionId: "ses_b" });
    assert.equal(f.service.search({ query: "deploy canar", scope: "all", mode: "all" }).hits[0]!.entryId, rule.id);
    assert.equal(f.service.search({ query: "失效时间", scope: "all" }).hits.length, 1);
    for (const query of ['"', "*", "NEAR(a b)", "-x", "", "a AND OR NOT", "col:x", "^"]) {
      assert.doesNotThrow(() => f.service.search({ query, scope: "all" }), query);
    }
    const block = buildMemoryBlock(f.service, "deploy", 4000, {
      projectFile: f.locations.projectFile,
      globalFile: f.locations.globalFile,
    });
    assert.ok(block.text.includes("Deployments need a green canary first"));
    await f.service.forget(rule.id);
    assert.equal(f.service.search({ query: "canary", scope: "all" }).hits.length, 0);
    mkdirSync(f.locations.projectDir, { recursive: true });
    for (let i = 0; i < 230; i++)
      writeFileSync(join(f.locations.projectDir, `memory-b${i}.md`), `# B\n\n- bun bulk item${i}\n`);
    assert.equal(f.service.reconcile().reindexed, 230);
    assert.equal(f.service.search({ query: "item229", scope: "project" }).hits.length, 1);
    f.db.exec("INSERT INTO memory_fts(memory_fts) VALUES('integrity-check')");
    f.db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(f.root, `continuum.db${suffix}`), { force: true });
    const service = await f.reopen();
    assert.equal(service.search({ query: "失效", scope: "all" }).hits.length, 1, "rebuilt from the files");
  } finally {
    f.cleanup();
  }
});

test("the history index upserts streaming parts and finds them on bun:sqlite", async () => {
  const f = await memoryFixture();
  try {
    const part = {
      partId: "prt_1",
      projectId: "proj-1",
      sessionId: "ses_h",
      messageId: "msg_1",
      role: "user",
      kind: "text" as const,
      createdAt: 1,
      text: "first draft",
    };
    upsertParts(f.db, [part]);
    upsertParts(f.db, [{ ...part, text: "final words about flamingos" }]);
    upsertParts(f.db, [
      { ...part, partId: "prt_2", messageId: "msg_2", role: "assistant", createdAt: 2, text: "reply" },
    ]);
    assert.equal(searchHistory(f.db, "proj-1", "draft").hits.length, 0, "the streamed-over text is gone");
    assert.equal(searchHistory(f.db, "proj-1", "flamingo").hits[0]!.partId, "prt_1");
    assert.equal(searchHistory(f.db, "other-project", "flamingo").hits.length, 0);
    assert.equal(getPart(f.db, "proj-1", "prt_1")!.text, "final words about flamingos");
    assert.deepEqual(
      messagesAround(f.db, "proj-1", "msg_2")!.map((m) => m.messageId),
      ["msg_1", "msg_2"],
    );
    f.db.exec("INSERT INTO history_fts(history_fts) VALUES('integrity-check')");
  } finally {
    f.cleanup();
  }
});

test("in OpenCode's Bun the folder watcher sees a hand edit: a later search finds it", async () => {
  const { appendFileSync } = await import("node:fs");
  const f = await memoryFixture({ watch: true });
  for (const dir of [f.locations.globalDir, f.locations.projectDir, f.sessionsDir]) mkdirSync(dir, { recursive: true });
  try {
    await f.service.remember({ section: "Rules", text: "Use pnpm for installs", sessionId: "s" });
    assert.equal(f.service.search({ query: "pnpm", scope: "all", track: false }).hits.length, 1);
    appendFileSync(
      f.locations.projectFile,
      "- The staging database is db-stage-2 <!-- id:m-hand0003 · 2026-11-29 · ses_h -->\n",
    );
    const deadline = Date.now() + 3000;
    let found = 0;
    while (found === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
      found = f.service.search({ query: "staging", scope: "all", track: false }).hits.length;
    }
    assert.equal(found, 1);
  } finally {
    f.service.close();
    f.cleanup();
  }
});
