// The command line on a damaged or read-only data dir: it goes through openStore, so it gets the same recovery
// as OpenCode. Run as a child process, the way a user runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../plugins/core/storage/store.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";
import { openTaskStore } from "../../plugins/tasks/store.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";

const CLI = join(import.meta.dirname, "..", "..", "plugins", "cli", "continuum.mjs");

function setup() {
  const root = mkdtempSync(join(tmpdir(), "continuum-cli-storage-"));
  const project = join(root, "proj");
  mkdirSync(project);
  const env = { ...process.env, XDG_DATA_HOME: join(root, "data"), XDG_CONFIG_HOME: join(root, "config") };
  const paths = packPaths(join(root, "data", "opencode-continuum"));
  const projectId = resolveProjectIdentity(project).id;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args, "--project", project], { env, encoding: "utf8" });
  return { root, project, paths, projectId, cli, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Overwrites pages in the middle of the file: the header is intact, so SQLite opens it and fails later. */
function damagePages(path: string): void {
  const bytes = readFileSync(path);
  for (let i = 4096 * 3; i < Math.min(bytes.length, 4096 * 6); i++) bytes[i] = (i * 13) & 0xff;
  writeFileSync(path, bytes);
}

test("the CLI's first command on a damaged database works and the checkpoint state comes back from the files", async () => {
  const { paths, projectId, cli, cleanup } = setup();
  try {
    const opened = await openStore(paths.database);
    const sessionDir = paths.project(projectId).session;
    const checkpoints = openCheckpointStore(opened.db, { sessionDir });
    const tasks = openTaskStore(opened.db, undefined, { sessionDir });
    tasks.create("ses_cli", "Write the importer");
    checkpoints.saveCheckpoint(
      {
        sessionId: "ses_cli",
        writtenAt: "2026-11-29T00:00:00.000Z",
        watermark: null,
        sections: { intent: "x" } as never,
      },
      projectId,
      (seq) => `# checkpoint ${seq}`,
    );
    // Enough rows that the damage lands in used pages.
    opened.db.exec("CREATE TABLE filler (v TEXT)");
    const insert = opened.db.prepare("INSERT INTO filler VALUES (?)");
    opened.db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`filler row ${i} ${"y".repeat(60)}`);
    });
    opened.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    opened.db.close();
    damagePages(paths.database);

    const listed = cli("checkpoint", "list");
    assert.equal(listed.status, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout + listed.stderr, /malformed/);
    assert.match(listed.stdout, /ses_cli {2}1 checkpoint\(s\)/);
    const memory = cli("memory", "list");
    assert.equal(memory.status, 0, memory.stderr);
  } finally {
    cleanup();
  }
});

test("the CLI reads memory from a read-only data dir (no write bits), in memory, without touching it", async () => {
  const { root, paths, projectId, cli, cleanup } = setup();
  try {
    const memoryDir = paths.project(projectId).memory;
    mkdirSync(memoryDir, { recursive: true });
    writeFileSync(
      join(memoryDir, "MEMORY.md"),
      "# Project memory\n\n## Rules\n\n- Always run the linter before committing.\n",
    );
    chmodSync(join(memoryDir, "MEMORY.md"), 0o444);
    chmodSync(paths.root, 0o555);
    const listed = cli("memory", "list");
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /Always run the linter/);
    const found = cli("memory", "search", "linter");
    assert.equal(found.status, 0, found.stderr);
    assert.match(found.stdout, /Always run the linter/);
    const id = /\[(h-[0-9a-f]+)\]/.exec(listed.stdout)?.[1];
    assert.ok(id, listed.stdout);
    const forget = cli("memory", "forget", id);
    assert.notEqual(forget.status, 0);
    assert.match(forget.stderr, /MEMORY\.md/);
    assert.doesNotMatch(forget.stderr, /EACCES|\.lock/);
  } finally {
    chmodSync(join(root, "data", "opencode-continuum"), 0o755);
    cleanup();
  }
});
