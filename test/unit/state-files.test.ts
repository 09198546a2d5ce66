// Primary state in files: tasks, goals and each session's checkpoint state survive a lost or damaged database.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openDatabase, type Database } from "../../plugins/core/storage/database.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { migrate } from "../../plugins/core/storage/migrations.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { openTaskStore, TaskInputError } from "../../plugins/tasks/store.ts";
import { openGoalStore } from "../../plugins/goal/store.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { newGoal } from "../../plugins/goal/state-machine.ts";

const tokens = { input: 1200, output: 80, total: 1280 };
const sections = { intent: "fix the parser", next: "run npm test" } as never;

function fixture() {
  const root = mkdtempSync(join(tmpdir(), "continuum-state-"));
  const paths = packPaths(root);
  const sessionDir = paths.project("proj").session;
  return { root, paths, sessionDir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A session with a task tree, a goal with a verdict, a checkpoint and a stored rebuild cut. */
function fillSession(db: Database, sessionDir: (id: string) => string) {
  const tasks = openTaskStore(db, undefined, { sessionDir });
  const goals = openGoalStore(db, undefined, { sessionDir });
  const checkpoints = openCheckpointStore(db, { sessionDir });
  tasks.create("ses_a", "parser");
  tasks.create("ses_a", "lexer", "T1");
  tasks.transition("ses_a", "T1.1", "start");
  tasks.progress("ses_a", "T1.1", "tokens done");
  tasks.bind("ses_child", "ses_a", "T1.1");
  const goal = goals.create("ses_a", "proj", newGoal("npm test passes"));
  goals.save(goal.id, { ...goal.state, continuations: 2 });
  goals.addVerdict(goal.id, {
    at: "2026-11-29T00:00:00.000Z",
    run: 1,
    outcome: "not met",
    reason: "tests fail",
    evidence: [],
    missing: ["green tests"],
    judgeSessionId: "ses_j",
    tokens,
  });
  checkpoints.saveCheckpoint(
    { sessionId: "ses_a", writtenAt: "2026-11-29T00:01:00.000Z", watermark: "msg_5", sections },
    "proj",
    (seq) => `# checkpoint ${seq}`,
  );
  checkpoints.update("ses_a", {
    firedIndex: 1,
    lastUsed: 40000,
    boundaryMessageId: "msg_9",
    boundaryDump: "the rebuilt context …",
    boundaryAt: "2026-11-29T00:02:00.000Z",
    boundaryReason: "threshold",
    rebuilds: 1,
  });
  checkpoints.addWriterTokens("ses_a", 900, 300);
  return { goalId: goal.id };
}

function readBack(db: Database, sessionDir: (id: string) => string) {
  const tasks = openTaskStore(db, undefined, { sessionDir });
  const goals = openGoalStore(db, undefined, { sessionDir });
  const checkpoints = openCheckpointStore(db, { sessionDir });
  const goal = goals.current("ses_a");
  const { readingAt: _r, ...state } = checkpoints.state("ses_a");
  return {
    tasks: tasks.list("ses_a").map(({ id, title, status, parentId }) => ({ id, title, status, parentId })),
    events: tasks.events("ses_a", "T1.1").map(({ kind, note }) => ({ kind, note })),
    binding: tasks.binding("ses_child"),
    goal: goal && {
      id: goal.id,
      condition: goal.state.condition,
      continuations: goal.state.continuations,
      status: goal.state.status,
    },
    verdicts: goal
      ? goals.verdicts(goal.id).map((v) => ({ reason: v.reason, missing: v.missing, tokens: v.tokens }))
      : [],
    unfinished: goals.unfinished("proj").length,
    checkpoint: checkpoints.latest("ses_a")?.markdown,
    elsewhere: checkpoints.latestElsewhere("proj", "other")?.seq,
    state,
  };
}

function deleteDatabase(path: string) {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
}

test("a deleted database is rebuilt from the session files with nothing lost, and openStore says what came back", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const first = await openStore(paths.database);
    fillSession(first.db, sessionDir);
    const before = readBack(first.db, sessionDir);
    first.db.close();
    for (const name of ["tasks", "goals", "checkpoint-meter", "rebuild", "checkpoints"]) {
      assert.ok(existsSync(join(sessionDir("ses_a"), "state", `${name}.json`)), `${name}.json written`);
    }

    deleteDatabase(paths.database);
    const second = await openStore(paths.database);
    assert.deepEqual(second.restored, [
      "1 task tree (2 tasks)",
      "1 goal (1 verdict)",
      "checkpoint state of 1 session (1 checkpoint, 1 stored rebuild)",
    ]);
    assert.deepEqual(readBack(second.db, sessionDir), before);
    assert.equal(before.tasks.length, 2);
    assert.equal(before.state.boundaryDump, "the rebuilt context …");
    second.db.close();
  } finally {
    cleanup();
  }
});

test("a damaged database is moved aside and refilled from the files; the report says what was restored", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const first = await openStore(paths.database);
    fillSession(first.db, sessionDir);
    const before = readBack(first.db, sessionDir);
    first.db.close();
    deleteDatabase(paths.database);
    writeFileSync(paths.database, Buffer.from("SQLite format 3\0 and then garbage ".repeat(300)));
    const second = await openStore(paths.database);
    assert.ok(second.recovered);
    assert.match(
      second.recovered!.reason,
      /restored from the session files: 1 task tree \(2 tasks\), 1 goal \(1 verdict\), checkpoint state of 1 session/,
    );
    assert.deepEqual(readBack(second.db, sessionDir), before);
    second.db.close();
  } finally {
    cleanup();
  }
});

test("a database another process holds locked is not damage: never moved aside; this run reads from the files", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const first = await openStore(paths.database);
    fillSession(first.db, sessionDir);
    const before = readBack(first.db, sessionDir);
    first.db.close();
    const holder = await openDatabase(paths.database);
    holder.exec("PRAGMA locking_mode = EXCLUSIVE");
    holder.exec("BEGIN EXCLUSIVE");
    holder.exec("CREATE TABLE IF NOT EXISTS held (x)");
    const second = await openStore(paths.database, { busyTimeoutMs: 100 });
    assert.equal(second.recovered, undefined, "not treated as damaged");
    assert.match(
      second.readOnly?.reason ?? "",
      /continuum\.db is locked by another process \(database is locked for more than 100 ms\)/,
    );
    assert.deepEqual(readBack(second.db, sessionDir), before, "the state comes from the files");
    second.db.close();
    assert.deepEqual(
      readdirSync(dirname(paths.database)).filter((f) => f.includes("corrupt")),
      [],
    );
    holder.exec("COMMIT");
    holder.close();
    const third = await openStore(paths.database);
    assert.equal(third.readOnly, undefined);
    assert.deepEqual(readBack(third.db, sessionDir), before, "the same database, nothing lost");
    third.db.close();
  } finally {
    cleanup();
  }
});

test("the stores refill a fresh database themselves when openStore did not (another opener, a bare file)", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    let db = await openDatabase(paths.database);
    fillSession(db, sessionDir);
    const before = readBack(db, sessionDir);
    db.close();
    deleteDatabase(paths.database);
    db = await openDatabase(paths.database);
    assert.deepEqual(readBack(db, sessionDir), before);
    db.close();
  } finally {
    cleanup();
  }
});

test("without a session-folder resolver the files go to the session's existing folder, else to sessions/<id>", async () => {
  const { root, paths, sessionDir, cleanup } = fixture();
  try {
    const db = await openDatabase(paths.database);
    const tasks = openTaskStore(db);
    tasks.create("ses_loose", "one");
    assert.ok(existsSync(join(root, "sessions", "ses_loose", "state", "tasks.json")));
    mkdirSync(sessionDir("ses_known"), { recursive: true });
    tasks.create("ses_known", "two");
    assert.ok(existsSync(join(sessionDir("ses_known"), "state", "tasks.json")));
    db.close();
    deleteDatabase(paths.database);
    const again = await openStore(paths.database);
    const reopened = openTaskStore(again.db);
    assert.deepEqual(
      reopened.list("ses_loose").map((t) => t.title),
      ["one"],
    );
    assert.deepEqual(
      reopened.list("ses_known").map((t) => t.title),
      ["two"],
    );
    again.db.close();
  } finally {
    cleanup();
  }
});

test("a hand-damaged state file is skipped and reported; the other sessions come back", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const db = await openDatabase(paths.database);
    const tasks = openTaskStore(db, undefined, { sessionDir });
    tasks.create("ses_ok", "kept");
    tasks.create("ses_bad", "lost to hand damage");
    db.close();
    writeFileSync(
      join(sessionDir("ses_bad"), "state", "tasks.json"),
      '{"sessionId": "ses_bad", "tasks": [{"id": "T1", "status": "weird"',
    );
    deleteDatabase(paths.database);
    const opened = await openStore(paths.database);
    assert.ok(
      opened.restored?.includes("1 task tree (1 task), 1 unreadable tasks.json file skipped"),
      String(opened.restored),
    );
    assert.deepEqual(
      openTaskStore(opened.db, undefined, { sessionDir })
        .list("ses_ok")
        .map((t) => t.title),
      ["kept"],
    );
    opened.db.close();
  } finally {
    cleanup();
  }
});

test("a change whose file cannot be written is refused with the path and leaves the database unchanged", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const db = await openDatabase(paths.database);
    const tasks = openTaskStore(db, undefined, { sessionDir });
    tasks.create("ses_a", "first");
    // A file where the state folder should be: a failure that holds for root as well.
    rmSync(join(sessionDir("ses_a"), "state"), { recursive: true });
    writeFileSync(join(sessionDir("ses_a"), "state"), "not a folder");
    assert.throws(
      () => tasks.create("ses_a", "second"),
      (error: unknown) =>
        error instanceof TaskInputError &&
        /task tree not changed: cannot save .*state\/tasks\.json/.test((error as Error).message),
    );
    assert.deepEqual(
      tasks.list("ses_a").map((t) => t.title),
      ["first"],
    );
    db.close();
  } finally {
    cleanup();
  }
});

test("a read-only data dir: tasks and checkpoints are read from the files, changes are refused naming the path", async () => {
  const { root, paths, sessionDir, cleanup } = fixture();
  try {
    const first = await openStore(paths.database);
    fillSession(first.db, sessionDir);
    const before = readBack(first.db, sessionDir);
    first.db.close();
    chmodSync(root, 0o555);
    const opened = await openStore(paths.database);
    assert.ok(opened.readOnly);
    assert.deepEqual(readBack(opened.db, sessionDir), before);
    const tasks = openTaskStore(opened.db, undefined, { sessionDir });
    assert.throws(
      () => tasks.create("ses_a", "new"),
      /cannot save .*tasks\.json: the data directory .* is not writable/,
    );
    opened.db.close();
  } finally {
    chmodSync(root, 0o755);
    cleanup();
  }
});

test("a database from before the files existed is written out to them once", async () => {
  const { paths, sessionDir, cleanup } = fixture();
  try {
    const db = await openDatabase(paths.database);
    // The version-1 tables with a row, as an older pack left them.
    migrate(db, "tasks", [
      {
        version: 1,
        description: "task tree and task events",
        sql: `CREATE TABLE tasks (session_id TEXT NOT NULL, id TEXT NOT NULL, parent_id TEXT, title TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (session_id, id));
              CREATE TABLE task_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, task_id TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, from_status TEXT, to_status TEXT, note TEXT);
              CREATE TABLE task_bindings (child_session_id TEXT PRIMARY KEY, owner_session_id TEXT NOT NULL, task_id TEXT NOT NULL, bound_at TEXT NOT NULL);`,
      },
    ]);
    db.prepare("INSERT INTO tasks VALUES ('ses_old', 'T1', NULL, 'from before', 'open', 'x', 'x')").run();
    openTaskStore(db, undefined, { sessionDir });
    const file = JSON.parse(readFileSync(join(sessionDir("ses_old"), "state", "tasks.json"), "utf8"));
    assert.equal(file.tasks[0].title, "from before");
    db.close();
  } finally {
    cleanup();
  }
});
