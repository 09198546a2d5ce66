// `continuum dream …` and `continuum distill …` in-process: help, usage errors, status and undo with nothing to
// show, a damaged undo journal, and an undo that refuses because MEMORY.md changed after the dream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { capture, withIsolatedDirs } from "./helpers/cli.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";
import { sha256 } from "../../plugins/memory/memory-service.ts";

test("dream and distill CLI: help, usage errors, nothing yet, undo refusals", async () => {
  await withIsolatedDirs(async (root) => {
    const project = join(root, "proj");
    mkdirSync(project);
    for (const args of [
      ["dream", "--help"],
      ["distill", "--help"],
    ]) {
      const help = await capture(args);
      assert.equal(help.code, 0, args.join(" "));
      assert.match(help.out, new RegExp(`^Usage: continuum ${args[0]} \\[--dry-run\\] \\[focus...\\]`));
    }
    assert.equal((await capture(["dream", "undo", "--dry-run", "--project", project])).code, 2);
    assert.equal((await capture(["dream", "--bogus"])).code, 2);
    assert.equal((await capture(["distill", "--timeout-min", "0"])).code, 2);
    const missing = await capture(["dream", "status", "--project", join(root, "nope")]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /--project .*nope: no such directory/);

    const none = await capture(["dream", "status", "--project", project]);
    assert.equal(none.code, 0);
    assert.match(none.out, /No dream has run in this project yet/);
    assert.equal((await capture(["distill", "status", "--project", project, "--json"])).out.trim(), "null");
    const nothing = await capture(["dream", "undo", "--project", project]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.err, /Nothing to undo: no dream has written memory here yet/);

    const id = resolveProjectIdentity(project).id;
    const projectRoot = join(root, "data", "opencode-continuum", "projects", id);
    const memoryFile = join(projectRoot, "memory", "MEMORY.md");
    mkdirSync(join(projectRoot, "dream"), { recursive: true });
    mkdirSync(join(memoryFile, ".."), { recursive: true });
    writeFileSync(join(projectRoot, "dream", "undo.json"), "{ not json");
    assert.match((await capture(["dream", "undo", "--project", project])).err, /undo journal .* is damaged/);

    // The journal says what the dream wrote; the file was edited since: undo refuses and changes nothing.
    writeFileSync(memoryFile, "edited by hand after the dream\n");
    const journal = {
      at: "2026-11-29T00:00:00Z",
      file: memoryFile,
      existed: true,
      before: Buffer.from("before\n").toString("base64"),
      afterSha256: sha256("what the dream wrote\n"),
    };
    writeFileSync(join(projectRoot, "dream", "undo.json"), JSON.stringify(journal));
    const refused = await capture(["dream", "undo", "--project", project]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /Undo refused: .*changed since then/);
    assert.equal(readFileSync(memoryFile, "utf8"), "edited by hand after the dream\n");

    // Unchanged since the dream: restored exactly.
    writeFileSync(memoryFile, "what the dream wrote\n");
    const restored = await capture(["dream", "undo", "--project", project]);
    assert.equal(restored.code, 0, restored.err);
    assert.equal(readFileSync(memoryFile, "utf8"), "before\n");
  });
});
