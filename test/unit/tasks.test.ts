import { test } from "node:test";
import assert from "node:assert/strict";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { openTaskStore, TaskInputError, compareTaskIds } from "../../plugins/tasks/store.ts";
import { runTaskAction } from "../../plugins/tasks/actions.ts";
import { renderTaskTree, renderTaskLedger, unfinishedTasks } from "../../plugins/tasks/render.ts";
import { decideGate, freshGateState, onUserMessage, GATE_MARKER } from "../../plugins/tasks/gate.ts";

async function fresh() {
  const db = await openDatabase(":memory:");
  return { db, store: openTaskStore(db) };
}

test("ids are T1, T2 for roots and T1.1, T1.2, T1.2.1 for subtasks, per session", async () => {
  const { store } = await fresh();
  assert.equal(store.create("s1", "root one").id, "T1");
  assert.equal(store.create("s1", "root two").id, "T2");
  assert.equal(store.create("s1", "child", "T1").id, "T1.1");
  assert.equal(store.create("s1", "child 2", "T1").id, "T1.2");
  assert.equal(store.create("s1", "grandchild", "T1.2").id, "T1.2.1");
  assert.equal(store.create("s2", "other session").id, "T1");
  assert.deepEqual(
    store.list("s1").map((t) => t.id),
    ["T1", "T1.1", "T1.2", "T1.2.1", "T2"],
  );
});

test("transitions follow the rules and every change lands in the event log", async () => {
  const { store } = await fresh();
  store.create("s", "build it");
  store.transition("s", "T1", "start");
  assert.throws(() => store.transition("s", "T1", "unblock"), /cannot unblock T1: it is in_progress/);
  assert.throws(() => store.transition("s", "T1", "block"), /needs a note/);
  store.transition("s", "T1", "block", "waiting for the API key");
  store.transition("s", "T1", "unblock");
  store.transition("s", "T1", "done", "shipped");
  assert.throws(() => store.transition("s", "T1", "start"), /it is done/);
  const kinds = store.events("s", "T1").map((e) => `${e.kind}:${e.toStatus}`);
  assert.deepEqual(kinds, ["created:open", "start:in_progress", "block:blocked", "unblock:open", "done:done"]);
  assert.equal(store.events("s", "T1")[2]!.note, "waiting for the API key");
});

test("a parent cannot be done while a subtask is unsettled; settled parents take no subtasks", async () => {
  const { store } = await fresh();
  store.create("s", "parent");
  store.create("s", "child", "T1");
  assert.throws(() => store.transition("s", "T1", "done"), /subtasks T1.1 \(open\)/);
  store.transition("s", "T1.1", "abandon", "not needed");
  store.transition("s", "T1", "done");
  assert.throws(() => store.create("s", "late child", "T1"), /it is done/);
});

test("bad ids and unknown tasks give clear errors", async () => {
  const { store } = await fresh();
  assert.throws(
    () => store.get("s", "t1"),
    (e: Error) => e instanceof TaskInputError && /not a task id/.test(e.message),
  );
  assert.throws(() => store.get("s", "T0"), /not a task id/);
  assert.throws(() => store.get("s", "T9"), /no task T9/);
  assert.throws(() => store.create("s", "   "), /non-empty title/);
  assert.throws(() => store.create("s", "x", "T4"), /no task T4/);
});

test("the tree survives reopening the database file", async () => {
  const dir = await import("node:fs").then((fs) => fs.mkdtempSync("/tmp/tasks-"));
  const path = `${dir}/db.sqlite`;
  const db1 = await openDatabase(path);
  const s1 = openTaskStore(db1);
  s1.create("s", "persist me");
  s1.transition("s", "T1", "start");
  db1.close();
  const db2 = await openDatabase(path);
  const s2 = openTaskStore(db2);
  assert.equal(s2.get("s", "T1").status, "in_progress");
  assert.equal(s2.create("s", "next").id, "T2");
  db2.close();
});

test("the tasks action runner validates arguments and renders the tree", async () => {
  const { store } = await fresh();
  const written: string[] = [];
  const ctx = {
    store,
    ownerSessionId: "main",
    callerSessionId: "main",
    appendProgress: (_o: string, t: string, e: string) => (written.push(t + e), `/x/${t}/progress.md`),
  };
  assert.match(runTaskAction({ action: "create", title: "Set up db" }, ctx), /created T1 Set up db/);
  assert.throws(() => runTaskAction({ action: "start" }, ctx), /"start" needs an id/);
  assert.throws(() => runTaskAction({ action: "explode" }, ctx), /bad arguments for tasks: action/);
  assert.throws(() => runTaskAction({ action: "create", title: "x", parent: "1" }, ctx), /parent "1" is not a task id/);
  assert.match(runTaskAction({ action: "start", id: "T1" }, ctx), /T1 is now in_progress/);
  assert.match(runTaskAction({ action: "list" }, ctx), /1 tasks: 0 done, 1 in progress/);
  assert.match(runTaskAction({ action: "get", id: "T1" }, ctx), /start → in_progress/);
});

test("a subagent's first progress call binds it to the task; later calls reuse the binding", async () => {
  const { store } = await fresh();
  store.create("main", "parse logs");
  const files: string[] = [];
  const ctx = {
    store,
    ownerSessionId: "main",
    callerSessionId: "child-1",
    appendProgress: (_o: string, t: string, e: string) => (files.push(`${t}:${e}`), `/s/tasks/${t}/progress.md`),
  };
  assert.throws(() => runTaskAction({ action: "progress", note: "x" }, ctx), /needs the id/);
  assert.match(runTaskAction({ action: "progress", id: "T1", note: "read 3 files" }, ctx), /progress recorded for T1/);
  runTaskAction({ action: "progress", note: "found the bug" }, ctx);
  assert.equal(files.length, 2);
  assert.match(files[1]!, /^T1:## \[.*\] child-1\nfound the bug/);
  assert.deepEqual(store.binding("child-1"), { ownerSessionId: "main", taskId: "T1" });
  assert.equal(store.events("main", "T1").filter((e) => e.kind === "progress").length, 2);
});

test("render: indentation by depth and status marks", async () => {
  const { store } = await fresh();
  store.create("s", "a");
  store.create("s", "b", "T1");
  store.transition("s", "T1.1", "done");
  assert.equal(renderTaskTree(store.list("s")), "- [ ] T1 a (open)\n  - [x] T1.1 b (done)");
  assert.equal(renderTaskTree([]), "(no tasks)");
  assert.match(renderTaskLedger(store.list("s")), /^2 tasks: 1 done/);
  assert.deepEqual(
    unfinishedTasks(store.list("s")).map((t) => t.id),
    ["T1"],
  );
  assert.ok(compareTaskIds("T2", "T10") < 0);
  assert.ok(compareTaskIds("T1.2", "T1.10") < 0);
});

test("gate: pushes while tasks are open, at most maxPushes in a row; user messages reset; failures skip", async () => {
  const { store } = await fresh();
  store.create("s", "open work");
  const unfinished = unfinishedTasks(store.list("s"));
  let state = freshGateState();
  const pushes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = decideGate({ enabled: true, maxPushes: 3, state, unfinished });
    if (!d.push) break;
    pushes.push(d.text);
    state = onUserMessage({ ...state, pushes: state.pushes + 1 }, d.text);
  }
  assert.equal(pushes.length, 3);
  assert.ok(pushes[0]!.startsWith(GATE_MARKER));
  assert.match(pushes[0]!, /T1 open work \(open\)/);
  state = onUserMessage(state, "please also do X");
  assert.equal(state.pushes, 0);
  assert.equal(
    decideGate({ enabled: true, maxPushes: 3, state: { ...state, lastTurnFailed: true }, unfinished }).push,
    false,
  );
  assert.equal(decideGate({ enabled: false, maxPushes: 3, state, unfinished }).push, false);
  assert.equal(decideGate({ enabled: true, maxPushes: 3, state, unfinished: [] }).push, false);
});
