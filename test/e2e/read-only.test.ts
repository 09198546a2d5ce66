// A read-only data dir in real OpenCode: the memory block and memory search still work (the database is kept in
// memory, rebuilt from the files), and memory remember is refused with a message naming the file, not a raw
// EACCES on a lock file. The tests run as root, who ignores permission bits, so the pack's rule is what is tested:
// a folder or file with no write bit at all is read-only by intent.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isCheckpointWriterRequest, isGoalJudgeRequest, type ModelScript } from "../harness/scripted-model.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

const RULE = "Always run the linter before committing (kingfisher convention)";

test("a read-only data dir: the memory block and memory search work, memory remember is refused naming the file", {
  timeout: 90000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "pack-helpers",
        match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
        replies: () => ({ text: "ok" }),
      },
    ],
    main: [
      { toolCalls: [{ name: "memory", args: { action: "search", query: "kingfisher" } }] },
      {
        toolCalls: [{ name: "memory", args: { action: "remember", section: "Rules", text: "Use tabs in Makefiles." } }],
      },
      { text: "Done." },
    ],
    exhausted: { text: "ok" },
  };
  await withOpencode({ model: modelScript }, async ({ env, model, defer }) => {
    defer(() => chmodSync(env.packDataDir, 0o755));
    const rootCommit = execFileSync("git", ["rev-list", "--max-parents=0", "HEAD"], {
      cwd: env.projectDir,
      encoding: "utf8",
    }).trim();
    const memoryFile = join(env.packDataDir, "projects", rootCommit, "memory", "MEMORY.md");
    mkdirSync(dirname(memoryFile), { recursive: true });
    writeFileSync(memoryFile, `# Project memory\n\n## Rules\n\n- ${RULE}\n`);
    const before = readFileSync(memoryFile, "utf8");
    chmodSync(memoryFile, 0o444);
    for (const dir of [
      dirname(memoryFile),
      dirname(dirname(memoryFile)),
      join(env.packDataDir, "projects"),
      env.packDataDir,
    ])
      chmodSync(dir, 0o555);

    const run = await opencodeRun(env, "What are the project rules? Then remember one more.");
    assert.equal(run.code, 0, run.stderr);
    const [first, second, third] = model.lane("main");
    assert.ok(first && second && third, "three model calls");
    const block = first.system.find((s) => s.startsWith("<continuum-memory>"));
    assert.ok(block?.includes(RULE), "the memory block holds the rule from the read-only file");
    assert.match(second.raw, /kingfisher/, "memory search found it");
    assert.match(
      third.raw,
      /memory is read-only here: cannot write [^"]*MEMORY\.md/,
      "memory remember refused, naming the file",
    );
    assert.doesNotMatch(third.raw, /EACCES|MEMORY\.md\.lock/);
    assert.equal(readFileSync(memoryFile, "utf8"), before, "the file is unchanged");
    assert.equal(
      existsSync(join(env.packDataDir, "continuum.db")),
      false,
      "no database written into the read-only dir",
    );
  });
});
