// Secrets never reach the pack's data dir, whatever store they pass through: every kind of secret the redactor
// knows is written through the real stores (database-backed and file-backed), then every byte under the data dir
// (the SQLite file and its WAL included, read while the database is still open) is searched for each of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECRET_CASES } from "./fixtures/redaction-corpus.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { storedText, storedValue, appendStoredText } from "../../plugins/core/storage/stored-text.ts";
import { openTaskStore } from "../../plugins/tasks/store.ts";
import { openGoalStore } from "../../plugins/goal/store.ts";
import { newGoal } from "../../plugins/goal/state-machine.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { openLedger } from "../../plugins/core/ledger.ts";
import { upsertParts } from "../../plugins/memory/history-store.ts";
import { migrateMemory, reconcile } from "../../plugins/memory/index-store.ts";
import { RunStore } from "../../plugins/workflow/journal.ts";
import { openStatsStore } from "../../plugins/max/stats.ts";
import { saveRecord, saveUndo } from "../../plugins/dream/records.ts";
import { saveCovered, saveDistillRecord } from "../../plugins/distill/records.ts";
import { createWorktrees } from "../../plugins/core/worktrees.ts";

const PRIVATE = "<private>the door code is 4711-PRIVATE-MARKER</private>";
const ALL = SECRET_CASES.map((c) => c.line).join("\n") + `\n${PRIVATE}`;
const needles = [...SECRET_CASES.map((c) => c.secret), "4711-PRIVATE-MARKER"];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Every secret found in any file under `dir`, as "<file>: <kind>". */
function leaks(dir: string): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    for (const needle of needles)
      if (file.includes(needle) || file.includes(needle.replace(/[^A-Za-z0-9._-]/g, "_")))
        found.push(`${file.slice(dir.length + 1)}: in the file name`);
    const bytes = readFileSync(file);
    // JSON escapes a quote or a backslash; UTF-16 never appears (SQLite stores UTF-8 here).
    const text = bytes.toString("latin1");
    for (const [index, needle] of needles.entries()) {
      if (text.includes(needle) || text.includes(JSON.stringify(needle).slice(1, -1)))
        found.push(`${file.slice(dir.length + 1)}: ${SECRET_CASES[index]?.kind ?? "private"}`);
    }
  }
  return found;
}

function gitRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t",
      },
    });
  git("init", "-q");
  writeFileSync(join(dir, "a.txt"), "one\n");
  git("add", "-A");
  git("commit", "-qm", "init");
}

test("every store redacts: secrets of every kind written through tasks, goals, checkpoints, ledger, history, the memory index, workflow runs, Max, dream, distill and saved diffs are nowhere in the data dir (database and WAL included)", async () => {
  const base = mkdtempSync(join(tmpdir(), "continuum-redact-"));
  const data = join(base, "data");
  const project = join(data, "projects", "p");
  const sessionDir = (id: string) => join(project, "sessions", id);
  try {
    const { db } = await openStore(join(data, "continuum.db"));
    // Tasks: titles, notes (block), progress notes, renames; the state file is written on every change.
    const tasks = openTaskStore(db, undefined, { sessionDir });
    // A few tasks carry every secret (each change rewrites the session's state file, so few changes keep it quick).
    for (let group = 0; group < 6; group++) {
      const cases = SECRET_CASES.filter((_, i) => i % 6 === group);
      const short = cases.find((c) => c.line.length < 180) ?? cases[0]!;
      const id = tasks.create(
        "ses_t",
        `task ${group}: ${short.line.length < 180 ? short.line : short.secret}`.slice(0, 200),
      ).id;
      tasks.transition("ses_t", id, "start");
      tasks.progress("ses_t", id, cases.map((c) => c.line).join("\n"));
      tasks.transition("ses_t", id, "block", cases.map((c) => c.line).join("\n"));
    }
    tasks.rename("ses_t", "T1", PRIVATE);
    appendStoredText(join(sessionDir("ses_t"), "tasks", "T1", "progress.md"), `## progress\n${ALL}\n`);
    // Goals: the condition, the state, the judge's verdicts.
    const goals = openGoalStore(db, undefined, { sessionDir });
    const goal = goals.create("ses_g", "p", newGoal(`deploy with ${SECRET_CASES[0]!.line}`));
    goals.addVerdict(goal.id, {
      at: "2026-01-01T00:00:00.000Z",
      run: 1,
      outcome: "not met",
      reason: ALL.slice(0, 1900),
      evidence: SECRET_CASES.map((c) => c.line),
      missing: [PRIVATE],
      judgeSessionId: "ses_j",
      tokens: { input: 1, output: 1, total: 2 },
    });
    // Checkpoints: sections and markdown.
    const checkpoints = openCheckpointStore(db, { sessionDir });
    checkpoints.saveCheckpoint(
      {
        sessionId: "ses_c",
        writtenAt: "2026-01-01T00:00:00Z",
        watermark: "m1",
        sections: { goal: ALL, state: ALL } as never,
      },
      "p",
      () => `# Checkpoint\n${ALL}`,
    );
    // Ledger: a run's reason (its label) and its detail.
    const ledger = openLedger(db);
    ledger.startRun({
      runId: "run_1",
      projectId: "p",
      parentSessionId: "ses_l",
      childSessionId: "ses_child",
      feature: "max",
      agent: "max-builder",
      reason: `builder for ${SECRET_CASES[1]!.line}`,
      startedAt: Date.now(),
    });
    ledger.endRun("run_1", {
      outcome: "ok",
      detail: ALL,
      usage: {
        tokens: { input: 1, output: 1, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
        cost: 0,
        durationMs: 1,
        requests: 1,
        estimated: false,
      },
    });
    // History index: a caller is told to redact, but the store must not rely on it.
    migrateMemory(db);
    upsertParts(
      db,
      SECRET_CASES.map((c, i) => ({
        partId: `prt_${i}`,
        projectId: "p",
        sessionId: "ses_h",
        messageId: `msg_${i}`,
        role: "user",
        kind: "text" as const,
        createdAt: Date.now(),
        text: c.line,
      })),
    );
    // Memory index: a memory file a person wrote by hand, with secrets in it, is indexed redacted.
    const memoryFile = join(base, "repo-memory", "MEMORY.md");
    mkdirSync(join(base, "repo-memory"), { recursive: true });
    writeFileSync(
      memoryFile,
      `# Project memory\n\n## Rules\n\n${SECRET_CASES.map((c, i) => `- ${c.line.replace(/\n/g, " ")} <!-- id:m-sec${String(i).padStart(5, "0")} · 2026-11-01 · ses_1 -->`).join("\n")}\n`,
    );
    const size = statSync(memoryFile).size;
    reconcile(
      db,
      [
        {
          path: memoryFile,
          scope: "project",
          scopeId: "p",
          projectId: "p",
          size,
          mtimeMs: statSync(memoryFile).mtimeMs,
        },
      ],
      [join(base, "repo-memory")],
    );
    // Workflow: run record (args, transcript, result, error) and the journal of agent() results.
    const runs = new RunStore(join(project, "workflows"));
    const record = {
      id: "wf_1",
      name: "n",
      target: "n",
      path: "/x",
      scriptHash: "h",
      args: { task: ALL },
      seed: 1,
      status: "done" as const,
      pid: process.pid,
      startedAt: 1,
      agents: { started: 1, finished: 1, failed: 0, replayed: 0, running: 0 },
      tokens: 0,
      result: { summary: ALL, lines: SECRET_CASES.map((c) => c.line) },
      error: SECRET_CASES[2]!.line,
      resumes: 0,
      transcript: SECRET_CASES.map((c) => ({ at: 1, kind: "log" as const, text: c.line })),
    };
    runs.create(record);
    const journal = runs.journal("wf_1");
    for (const [i, c] of SECRET_CASES.entries())
      journal.put({
        key: `k${i}`,
        value: { answer: c.line, [c.line.slice(0, 40)]: i },
        label: `agent ${c.line}`,
        at: 1,
      });
    // Max records, dream and distill records.
    openStatsStore(sessionDir, () => undefined).add("ses_m", {
      at: "2026-01-01",
      mode: "patch",
      requested: 5,
      started: 5,
      valid: 5,
      consensus: false,
      judged: true,
      winner: 1,
      how: ALL,
      tokens: 1,
      cost: 0,
      perCandidate: 1,
      estimated: false,
    } as never);
    saveRecord(join(project, "dream"), {
      runId: "r",
      status: "done",
      message: ALL,
      problems: SECRET_CASES.map((c) => c.line),
      diff: `+${ALL}`,
    } as never);
    saveUndo(join(project, "dream"), { file: "/m", before: ALL, after: ALL } as never);
    saveDistillRecord(join(project, "distill"), { status: "done", message: ALL } as never);
    saveCovered(join(project, "distill"), { [SECRET_CASES[3]!.line]: { path: ALL, at: "x" } });
    // Saved diffs: a Max change refused because the tree moved is kept under the data dir.
    const repo = join(base, "repo");
    gitRepo(repo);
    const worktrees = createWorktrees({ projectDir: repo, root: join(project, "worktrees") });
    const diff = `diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1,${SECRET_CASES.length + 1} @@\n one\n${SECRET_CASES.flatMap(
      (c) => c.line.split("\n"),
    )
      .map((line) => `+${line}`)
      .join("\n")}\n`;
    const refused = await worktrees.apply(diff, {
      expectFingerprint: "moved",
      label: `max candidate ${SECRET_CASES[4]!.line}`,
    });
    assert.equal(refused.ok, false);
    // The database is still open: what sits in the WAL counts too.
    const files = filesUnder(data);
    assert.ok(
      files.some((f) => f.endsWith("continuum.db-wal")),
      `the WAL is there to be searched: ${files.join(", ")}`,
    );
    assert.ok(
      files.filter((f) => f.endsWith(".json") || f.endsWith(".jsonl") || f.endsWith(".diff") || f.endsWith(".md"))
        .length >= 10,
      files.join("\n"),
    );
    assert.deepEqual(leaks(data), []);
    // What was stored still reads back: placeholders where the secrets were.
    assert.match(tasks.get("ses_t", "T1").title, /\[PRIVATE\]/);
    assert.match(JSON.stringify(runs.load("wf_1")!.result), /\[REDACTED:/);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    assert.deepEqual(leaks(data), []);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("stored JSON stays valid JSON with the secret gone, also when a key names the secret or a <private> span is left open", () => {
  const value = {
    password: "hunter2-correct-horse",
    nested: [{ note: "<private>never store this" }],
    [`${SECRET_CASES[0]!.secret}`]: 1,
  };
  for (const [text, lines] of [
    [JSON.stringify(value), false],
    [JSON.stringify(value, null, 2) + "\n", false],
    [`${JSON.stringify(value)}\n${JSON.stringify({ line: 2 })}\n`, true],
  ] as const) {
    const out = storedText(text);
    if (lines) for (const line of out.split("\n").filter(Boolean)) JSON.parse(line);
    else JSON.parse(out);
    assert.ok(
      !out.includes("hunter2-correct-horse") &&
        !out.includes("never store this") &&
        !out.includes(SECRET_CASES[0]!.secret),
      out,
    );
  }
  assert.equal(storedText('{"a": "plain text"}'), '{"a": "plain text"}', "text without a secret is unchanged");
  assert.deepEqual(storedValue({ a: ["x", 1, null] }), { a: ["x", 1, null] });
});

test("no store writes a file around the one write path: every write to disk in plugins/ goes through core/storage or is listed with its reason", () => {
  // Files allowed to write directly, and why (none of them stores a model's or a user's text under the data dir).
  const allowed: Record<string, string> = {
    "core/storage/atomic-file.ts": "the primitive under writeStoredFile",
    "core/storage/stored-text.ts": "the redacting write path itself",
    "core/storage/state-files.ts": "every string of a state passes storedValue before it is written",
    "memory/safe-write.ts":
      "memory files: memory-service redacts every entry it writes, the user's own lines are theirs",
    "memory/memory-service.ts": "restores a memory file's kept version byte for byte",
    "workflow/files.ts": "writeFile() of a workflow script writes into the user's project, not the data dir",
    "cli/schema.ts": "writes the JSON Schema of the config",
    "cli/install-shim.ts": "writes the plugin shim into the user's OpenCode config, byte for byte",
    "cli/install-package.ts":
      "writes the plugin entry into the user's opencode.json(c), and its bytes back on uninstall",
    "cli/install-manifest.ts": "writes the install manifest (paths and hashes, no model's or user's text)",
    "cli/install-git-exclude.ts": "writes the pack's block into the repository's .git/info/exclude",
    "compose/merge.ts":
      "the backup of the user's own uncommitted work must restore it byte for byte; saved diffs use writeStoredFile",
    "core/worktrees.ts": "owner files and the backup list pass storedText; saved diffs use writeStoredFile",
    "workflow/journal.ts": "run.json and journal lines pass storedText; the cancel file holds a time",
  };
  const root = join(import.meta.dirname, "..", "..", "plugins");
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) {
        const rel = path.slice(root.length + 1);
        const text = readFileSync(path, "utf8");
        if (/\b(writeFileSync|appendFileSync|writeFileAtomic|createWriteStream)\s*\(/.test(text) && !allowed[rel])
          offenders.push(rel);
      }
    }
  };
  walk(root);
  assert.deepEqual(offenders, []);
});
