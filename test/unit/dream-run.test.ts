// The dream's orchestration against a stub helper runner (the "model" is a script calling the real tools) and the
// real memory service on a temp data dir: empty window, write + byte-exact undo, dry run, a file edited during the
// run, an aborted run, a file over its limits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import type { FeatureContext, MemoryServices } from "../../plugins/core/feature.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { createDreamer } from "../../plugins/dream/run.ts";
import { memoryFixture, type MemoryFixture } from "./helpers/memory-fixture.ts";

type Script = (
  call: (tool: string, args: Record<string, unknown>) => Promise<string>,
  fixture: MemoryFixture,
) => Promise<Record<string, unknown> | "abort">;

const ORIGINAL =
  "# Project memory\r\n\r\n## Rules\r\n\r\n- Keep \uFFFD as is. <!-- id:m-orig0001 · 2026-11-01 · ses_a -->\r\n- Second rule. <!-- id:m-orig0002 · 2026-11-01 · ses_a -->\r\n- Third rule. <!-- id:m-orig0003 · 2026-11-01 · ses_a -->\r\n- Fourth rule. <!-- id:m-orig0004 · 2026-11-01 · ses_a -->\r\n";

async function setup(
  script: Script,
  options: { sessions?: boolean; original?: string; dream?: Partial<ReturnType<typeof defaultConfig>["dream"]> } = {},
) {
  const fixture = await memoryFixture();
  const projectRoot = join(fixture.root, "repo");
  mkdirSync(projectRoot, { recursive: true });
  if (options.original !== undefined) {
    mkdirSync(fixture.locations.projectDir, { recursive: true });
    writeFileSync(fixture.locations.projectFile, options.original);
  }
  if (options.sessions !== false) {
    for (const id of ["ses_a", "ses_b"]) {
      mkdirSync(join(fixture.sessionsDir, id), { recursive: true });
      writeFileSync(
        join(fixture.sessionsDir, id, "notes.md"),
        `# Session notes (${id})\n\n## [turn 1 · 2026-11-28T10:00:00Z]\nUse the staging DB for tests.\n`,
      );
    }
  }
  const service = fixture.service;
  const memory: MemoryServices = {
    projectRules: () => "",
    rebuildFiles: () => ({ projectMemory: "", globalMemory: "", notes: "", memoryIndex: [] }),
    contextRebuilt: () => undefined,
    blockFor: () => ({ text: "", tokens: 0 }),
    projectMemory: () => service.projectMemory(),
    replaceFile: (file, text, expect) => service.replaceFile(file, text, expect),
    restoreFile: (file, bytes, sha) => service.restoreFile(file, bytes, sha),
  };
  let spec: { accept(args: unknown, ctx: unknown): { ok: boolean; value?: unknown; problems?: string[] } } | undefined;
  const runs: string[] = [];
  const config = defaultConfig();
  Object.assign(config.dream, options.dream ?? {});
  const dreamer = createDreamer(
    {
      config,
      project: { id: "proj-1", kind: "directory", root: projectRoot },
      paths: packPaths(fixture.root),
      projectPaths: packPaths(fixture.root).project("proj-1"),
      db: fixture.db,
      reporter: {
        log() {},
        notify() {},
        problem() {},
        child() {
          return this;
        },
      },
      sessions: {
        helperOf: (id: string) => (id === "child" ? { feature: "dream", agent: "dream" } : undefined),
        peek: () => undefined,
        on() {},
      },
      helpers: {
        resultChannel(name: string, s: typeof spec) {
          spec = s;
          return { name, tool: { description: "", args: {}, execute: async () => "" } };
        },
        async run(request: { prompt: string; context: unknown }) {
          runs.push(request.prompt);
          const usage = {
            tokens: { input: 100, output: 20, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
            cost: 0.01,
            durationMs: 1,
            requests: 2,
            estimated: false,
          };
          const base = { runId: "run_test", childSessionId: "child", usage, attempts: 1 };
          const call = (tool: string, args: Record<string, unknown>) =>
            dreamer.tools[tool]!.execute(args, {
              sessionID: "child",
              messageID: "m",
              agent: "dream",
              abort: new AbortController().signal,
            });
          const report = await script(call, fixture);
          if (report === "abort") return { ...base, ok: false, failure: "aborted", message: "cancelled by the user" };
          const accepted = spec!.accept(report, request.context);
          return accepted.ok
            ? { ...base, ok: true, value: accepted.value }
            : { ...base, ok: false, failure: "invalid-result", message: accepted.problems!.join("; ") };
        },
      },
      services: { memory },
    } as unknown as FeatureContext,
    memory,
  );
  return { fixture, dreamer, runs, cleanup: () => fixture.cleanup() };
}

const emptyReport = { consolidated: [], updated: [], deleted: [], skipped: [] };

test("empty window: says so, makes no helper run", async () => {
  const { dreamer, runs, cleanup } = await setup(async () => emptyReport, { sessions: false });
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.equal(started.started, false);
    assert.equal(!started.started && started.record.status, "empty");
    assert.match(!started.started ? started.record.message : "", /nothing to dream about \(no model call made\)/);
    assert.equal(runs.length, 0);
    assert.equal(dreamer.last()?.status, "empty");
  } finally {
    cleanup();
  }
});

test("written through the memory service, then undo restores the exact bytes (CRLF and a literal U+FFFD included); a second undo has nothing to do", async () => {
  const { fixture, dreamer, cleanup } = await setup(
    async (call) => {
      await call("dream_memory", {
        action: "remember",
        section: "Rules",
        text: "Use the staging DB for tests.",
        sessions: ["ses_a", "ses_b"],
      });
      return { ...emptyReport, consolidated: ["staging DB"] };
    },
    { original: ORIGINAL },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.ok(started.started);
    const record = await started.done;
    assert.equal(record.status, "written", record.message);
    assert.match(
      readFileSync(fixture.locations.projectFile, "utf8"),
      /- Use the staging DB for tests\. <!-- id:m-\w+ · \d{4}-\d{2}-\d{2} · ses_a,ses_b -->\r\n/,
    );
    assert.equal(record.tokens.total, 120);
    assert.equal(record.cost, 0.01);
    assert.ok(record.versionFile && readFileSync(record.versionFile).equals(Buffer.from(ORIGINAL)));
    const undone = await dreamer.undo();
    assert.ok(undone.ok, undone.message);
    assert.ok(readFileSync(fixture.locations.projectFile).equals(Buffer.from(ORIGINAL)));
    assert.match((await dreamer.undo()).message, /Nothing to undo/);
  } finally {
    cleanup();
  }
});

test("dry run: the same diff, nothing written, no undo journal", async () => {
  const { fixture, dreamer, cleanup } = await setup(
    async (call) => {
      await call("dream_memory", { action: "forget", id: "m-orig0002" });
      return emptyReport;
    },
    { original: ORIGINAL },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: true, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "dry-run");
    assert.match(record.diff, /^-- Second rule\./m);
    assert.ok(readFileSync(fixture.locations.projectFile).equals(Buffer.from(ORIGINAL)));
    assert.ok(!existsSync(join(fixture.locations.projectDir, ".versions")));
    assert.match((await dreamer.undo()).message, /Nothing to undo/);
  } finally {
    cleanup();
  }
});

test("a MEMORY.md edited by hand while the dream ran is not overwritten (conflict, nothing written)", async () => {
  const edited = ORIGINAL + "- Added by hand meanwhile.\r\n";
  const { fixture, dreamer, cleanup } = await setup(
    async (call, fx) => {
      await call("dream_memory", {
        action: "remember",
        section: "Rules",
        text: "Use the staging DB.",
        sessions: ["ses_a"],
      });
      writeFileSync(fx.locations.projectFile, edited);
      return emptyReport;
    },
    { original: ORIGINAL },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "conflict");
    assert.equal(readFileSync(fixture.locations.projectFile, "utf8"), edited);
  } finally {
    cleanup();
  }
});

test("an aborted run leaves MEMORY.md as it was; the draft tool refuses callers outside a run", async () => {
  const { fixture, dreamer, cleanup } = await setup(
    async (call) => {
      await call("dream_memory", { action: "forget", id: "m-orig0001" });
      return "abort";
    },
    { original: ORIGINAL },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "failed");
    assert.match(record.message, /aborted.*Nothing was written/);
    assert.ok(readFileSync(fixture.locations.projectFile).equals(Buffer.from(ORIGINAL)));
    await assert.rejects(
      dreamer.tools.dream_memory!.execute(
        { action: "list" },
        { sessionID: "child", messageID: "m", agent: "dream", abort: new AbortController().signal },
      ),
      /belongs to a running dream/,
    );
  } finally {
    cleanup();
  }
});

test("a MEMORY.md already over its line limit: a dream that does not bring it within is refused", async () => {
  const { fixture, dreamer, cleanup } = await setup(async () => emptyReport, {
    original: ORIGINAL,
    dream: { maxLines: 20, maxBytes: 100 },
  });
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "refused");
    assert.match(record.problems.join("\n"), /bytes; the limit is 100/);
    assert.ok(readFileSync(fixture.locations.projectFile).equals(Buffer.from(ORIGINAL)));
  } finally {
    cleanup();
  }
});

test("a hand-edited MEMORY.md with a NUL byte: the dream writes the cleaned text (the original bytes kept as the version), undo puts the NUL back", async () => {
  const damaged = ORIGINAL.replace("Second rule.", "Second\u0000 rule.");
  const { fixture, dreamer, cleanup } = await setup(
    async (call) => {
      await call("dream_memory", {
        action: "replace",
        id: "m-orig0003",
        text: "Third rule, clarified.",
        sessions: ["ses_b"],
      });
      return emptyReport;
    },
    { original: damaged },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "written", record.message);
    const now = readFileSync(fixture.locations.projectFile, "utf8");
    assert.ok(!now.includes("\u0000") && now.includes("Second rule.") && now.includes("Third rule, clarified."));
    assert.ok(readFileSync(record.versionFile!).equals(Buffer.from(damaged)));
    assert.ok((await dreamer.undo()).ok);
    assert.ok(readFileSync(fixture.locations.projectFile).equals(Buffer.from(damaged)));
  } finally {
    cleanup();
  }
});

test("a binary MEMORY.md, or one far bigger than the input budget, is refused before any model call", async () => {
  const binary = await setup(async () => emptyReport, { original: "\u0000\u0001\u0002\u0003".repeat(50) });
  try {
    const started = binary.dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.equal(started.started, false);
    assert.match(!started.started ? started.record.problems.join() : "", /not a text file/);
    assert.equal(binary.runs.length, 0);
  } finally {
    binary.cleanup();
  }
  const huge = await setup(async () => emptyReport, {
    original: `# Project memory\n\n## Rules\n\n${"- a rule that goes on and on\n".repeat(400)}`,
    dream: { budgetTokens: 1000 },
  });
  try {
    const started = huge.dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.equal(!started.started && started.record.status, "refused");
    assert.match(!started.started ? started.record.problems.join() : "", /more than a dream may show its agent \(2000/);
    assert.equal(huge.runs.length, 0);
  } finally {
    huge.cleanup();
  }
});

test("a symlinked MEMORY.md (pointing out of the project, at a secret) is refused before any model call, saying symlink; so are symlinked session notes", async () => {
  const linked = await setup(async () => emptyReport);
  try {
    const outside = join(linked.fixture.root, "outside-secret.md");
    writeFileSync(
      outside,
      "# Project memory\n\n## Rules\n\n- token ghp_abcdefghijklmnopqrstuvwxyz0123456789 <!-- id:m-sec00001 · 2026-11-01 · ses_a -->\n",
    );
    mkdirSync(linked.fixture.locations.projectDir, { recursive: true });
    symlinkSync(outside, linked.fixture.locations.projectFile);
    const started = linked.dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.equal(!started.started && started.record.status, "refused");
    assert.match(
      !started.started ? started.record.message : "",
      /before any model call: MEMORY\.md is not read through a symlink/,
    );
    assert.equal(linked.runs.length, 0);
    // The session inputs skip a linked notes file the same way (lstat, never followed).
    const notes = join(linked.fixture.sessionsDir, "ses_a", "notes.md");
    rmSync(notes);
    symlinkSync(outside, notes);
    rmSync(linked.fixture.locations.projectFile);
    const next = linked.dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    if (next.started) await next.done;
    assert.ok(
      linked.runs.every((prompt) => !prompt.includes("ghp_")),
      "the outside file never reaches a prompt",
    );
  } finally {
    linked.cleanup();
  }
});

test("a dream while another process's dream runs is refused naming that process; a lock left by a dead process is taken over; an interrupted record names its run", async () => {
  const { spawnSync } = await import("node:child_process");
  const { formatRecord } = await import("../../plugins/dream/records.ts");
  const { settledRecord } = await import("../../plugins/core/helper-budget.ts");
  const { fixture, dreamer, runs, cleanup } = await setup(async () => emptyReport, { original: ORIGINAL });
  try {
    const lock = join(fixture.root, "projects", "proj-1", "dream", "running.lock");
    mkdirSync(join(lock, ".."), { recursive: true });
    // The parent of this test process stands for a second OpenCode that is dreaming right now.
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, startedAt: "2026-12-07T10:00:00.000Z", what: "/dream" }));
    const refused = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.equal(refused.started, false);
    assert.equal(!refused.started && refused.record.status, "busy");
    assert.match(
      !refused.started ? refused.record.message : "",
      new RegExp(
        `already running in OpenCode process ${process.ppid} \\(/dream, started 2026-12-07T10:00:00.000Z\\); this one was not started`,
      ),
    );
    assert.equal(runs.length, 0, "no model call for the refused one");
    assert.equal(dreamer.last(), undefined, "the other run's record is not overwritten");

    const deadPid = spawnSync("true").pid!;
    writeFileSync(lock, JSON.stringify({ pid: deadPid, startedAt: "2026-12-07T10:00:00.000Z", what: "/dream" }));
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    assert.ok(started.started, "a dead holder's lock is taken over");
    assert.ok(existsSync(lock), "held while it runs");
    await started.done;
    assert.ok(!existsSync(lock), "released when it ends");

    // A record a dead OpenCode left running, with its helper run known: the report does not claim no model call.
    const interrupted = settledRecord({
      ...dreamer.last()!,
      status: "running" as const,
      pid: deadPid,
      runId: "run_gone",
      tokens: { input: 0, output: 0, total: 0 },
    })!;
    assert.equal(interrupted.status, "failed");
    const text = formatRecord(interrupted);
    assert.doesNotMatch(text, /no model call/);
    assert.match(text, /its model calls are in the ledger as run run_gone/);
  } finally {
    cleanup();
  }
});

test("duplicate ids in MEMORY.md: the dream reports them, and forgets the copy by its own id (<id>~2) leaving the first", async () => {
  const original =
    "# Project memory\n\n## Rules\n\n- First rule. <!-- id:m-twin0001 · 2026-11-01 · ses_a -->\n- A copied rule. <!-- id:m-twin0001 · 2026-11-02 · ses_a -->\n- Third rule. <!-- id:m-orig0003 · 2026-11-01 · ses_a -->\n- Fourth rule. <!-- id:m-orig0004 · 2026-11-01 · ses_a -->\n";
  const { fixture, dreamer, runs, cleanup } = await setup(
    async (call) => {
      assert.match(await call("dream_memory", { action: "list" }), /m-twin0001~2/);
      await call("dream_memory", { action: "forget", id: "m-twin0001~2" });
      return { ...emptyReport, deleted: ["the copy"] };
    },
    { original, dream: { maxDeleteFraction: 0.5 } },
  );
  try {
    const started = dreamer.start({ parentSessionId: "main", focus: "", dryRun: false, reason: "test" });
    const record = await (started.started ? started.done : Promise.reject(new Error("not started")));
    assert.equal(record.status, "written", record.message);
    assert.deepEqual(record.duplicates, ["m-twin0001: line 5 as m-twin0001, line 6 as m-twin0001~2"]);
    assert.match(runs[0]!, /\[m-twin0001~2\]/);
    assert.match(runs[0]!, /Ids ending in ~2, ~3 are entries that carry the same id/);
    const after = readFileSync(fixture.locations.projectFile, "utf8");
    assert.ok(after.includes("First rule.") && !after.includes("A copied rule."));
    assert.match(
      (await import("../../plugins/dream/records.ts")).formatRecord(record),
      /Duplicate ids in MEMORY\.md[^\n]*:\n  - m-twin0001: line 5 as m-twin0001, line 6 as m-twin0001~2/,
    );
  } finally {
    cleanup();
  }
});
