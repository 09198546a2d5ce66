// Safe writes of memory files: path guard, cross-process lock, stale locks, atomic replace, bounded versions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEntries } from "../../plugins/core/memory-format.ts";
import {
  assertWritable,
  listVersions,
  MemoryPathError,
  updateFile,
  withFileLock,
  writeFileAtomic,
} from "../../plugins/memory/safe-write.ts";

const tempRoot = () => mkdtempSync(join(tmpdir(), "continuum-write-"));

test("the path guard refuses anything outside the memory roots, symlinks and .. included", () => {
  const root = tempRoot();
  try {
    const memory = join(root, "memory");
    mkdirSync(memory);
    assert.doesNotThrow(() => assertWritable(join(memory, "MEMORY.md"), [memory]));
    assert.doesNotThrow(() => assertWritable(join(memory, "sub", "new", "x.md"), [memory]));
    assert.throws(() => assertWritable(join(memory, "..", "escape.md"), [memory]), MemoryPathError);
    assert.throws(
      () => assertWritable("/etc/passwd", [memory]),
      /refusing to write \/etc\/passwd: memory writes may only land under/,
    );
    assert.throws(() => assertWritable(memory, [memory]), MemoryPathError, "the root itself is not a file to write");
    symlinkSync(root, join(memory, "link"));
    assert.throws(() => assertWritable(join(memory, "link", "outside.md"), [memory]), MemoryPathError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a failure between writing the temp file and the rename leaves the previous version and no temp file", () => {
  const root = tempRoot();
  try {
    const file = join(root, "MEMORY.md");
    writeFileAtomic(file, "version 1\n");
    assert.throws(() =>
      writeFileAtomic(file, "version 2 half", {
        beforeRename: () => {
          throw new Error("simulated crash");
        },
      }),
    );
    assert.equal(readFileSync(file, "utf8"), "version 1\n");
    assert.deepEqual(readdirSync(root), ["MEMORY.md"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a process killed mid-write (before its rename) leaves the file intact", async () => {
  const root = tempRoot();
  try {
    const file = join(root, "MEMORY.md");
    writeFileAtomic(file, "- kept entry\n");
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(fileURLToPath(new URL("../../plugins/memory/safe-write.ts", import.meta.url)))};
      writeFileAtomic(${JSON.stringify(file)}, "x".repeat(1 << 20), { beforeRename: () => { process.kill(process.pid, "SIGKILL"); } });
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: "ignore",
    });
    const signal = await new Promise((resolve) => child.on("exit", (_code, sig) => resolve(sig)));
    assert.equal(signal, "SIGKILL");
    assert.equal(readFileSync(file, "utf8"), "- kept entry\n");
    const orphan = readdirSync(root).find((n) => n.startsWith(".MEMORY.md.tmp-"));
    assert.ok(orphan, "the dead writer left its temp file");
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(root, orphan), old, old);
    await updateFile(file, (c) => c + "- next entry\n", { roots: [root], versionsKept: 3 });
    assert.ok(!readdirSync(root).some((n) => n.startsWith(".MEMORY.md.tmp-")), "the next writer removed the orphan");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("every rewrite keeps the previous version, bounded to the newest N", async () => {
  const root = tempRoot();
  try {
    const file = join(root, "MEMORY.md");
    for (let i = 1; i <= 8; i++) await updateFile(file, () => `version ${i}\n`, { roots: [root], versionsKept: 3 });
    const versions = listVersions(file);
    assert.equal(versions.length, 3);
    assert.deepEqual(
      versions.map((v) => readFileSync(v, "utf8")),
      ["version 5\n", "version 6\n", "version 7\n"],
    );
    assert.equal(readFileSync(file, "utf8"), "version 8\n");
    const unchanged = await updateFile(file, (c) => c, { roots: [root], versionsKept: 3 });
    assert.equal(unchanged.changed, false);
    assert.equal(listVersions(file).length, 3, "no version for a no-op");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("four processes appending to the same MEMORY.md at once lose nothing", async () => {
  const root = tempRoot();
  try {
    const file = join(root, "MEMORY.md");
    const worker = fileURLToPath(new URL("./helpers/lock-worker.ts", import.meta.url));
    const runs = [1, 2, 3, 4].map(
      (n) =>
        new Promise<number>((resolve) => {
          const child = spawn(process.execPath, ["--import", "tsx", worker, file, root, String(n), "15"], {
            stdio: "inherit",
          });
          child.on("exit", (code) => resolve(code ?? 1));
        }),
    );
    assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0]);
    const ids = parseEntries(readFileSync(file, "utf8")).map((e) => e.id);
    assert.equal(ids.length, 60);
    assert.equal(new Set(ids).size, 60);
    assert.ok(!existsSync(`${file}.lock`), "lock released");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a lock left by a dead process is broken; a live holder is waited for", async () => {
  const root = tempRoot();
  try {
    const file = join(root, "MEMORY.md");
    writeFileSync(
      `${file}.lock`,
      JSON.stringify({
        token: "dead",
        pid: 2 ** 22 + 12345,
        host: (await import("node:os")).hostname(),
        at: Date.now(),
      }),
    );
    const value = await withFileLock(file, () => "got it", { timeoutMs: 2000 });
    assert.equal(value, "got it");
    const order: string[] = [];
    const first = withFileLock(file, async () => {
      order.push("first start");
      await new Promise((r) => setTimeout(r, 100));
      order.push("first end");
    });
    await new Promise((r) => setTimeout(r, 10));
    const second = withFileLock(file, () => void order.push("second"));
    await Promise.all([first, second]);
    assert.deepEqual(order, ["first start", "first end", "second"]);
    writeFileSync(
      `${file}.lock`,
      JSON.stringify({ token: "live", pid: process.pid, host: (await import("node:os")).hostname(), at: Date.now() }),
    );
    await assert.rejects(
      withFileLock(file, () => 1, { timeoutMs: 200 }),
      /could not lock/,
    );
    rmSync(`${file}.lock`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
