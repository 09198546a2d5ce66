// Primary state in files, in real OpenCode: a session builds a task tree, a goal with two verdicts and a stored
// rebuild; `opencode serve` stops, continuum.db is deleted, a new `opencode serve` starts, and the next turn still
// has all three: the same rebuilt input is sent, the goal and its verdicts are in the new database, and the
// `tasks` tool lists the tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { contentText, type ScriptedReply, type ModelScript } from "../harness/scripted-model.ts";
import { createSession, persistentDb, send, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { goalCommand, judgeLane, readGoal, waitForGoal } from "./goal-support.ts";
import { DUMP_MARKER } from "../../plugins/checkpoint/rebuild.ts";

// Under checkpoint.minWindowForCheckpoints: no writer runs, the rebuild alone keeps the session going.
const CONTEXT = 20000;
const OUTPUT = 2000;
const USABLE = CONTEXT - OUTPUT;
const usage = (fraction: number) => ({ prompt_tokens: Math.round(fraction * USABLE) - 200, completion_tokens: 200 });
const tasks = (args: Record<string, unknown>, fraction: number): ScriptedReply => ({
  toolCalls: [{ name: "tasks", args }],
  usage: usage(fraction),
});
const CONDITION = "the CSV importer is written and its tests pass";

test("deleting continuum.db between two turns loses no task tree, goal or stored rebuild", {
  timeout: 150000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane([
        { met: false, reason: "the importer does not exist yet", missing: ["write the importer"] },
        { met: false, reason: "still no tests", missing: ["add tests for the importer"] },
      ]),
    ],
    main: [
      tasks({ action: "create", title: "Write the importer" }, 0.1),
      tasks({ action: "create", title: "Parse the header row", parent: "T1" }, 0.15),
      { text: "Started the importer.", usage: usage(0.3) },
      { toolCalls: [{ name: "read", args: { filePath: "data/part1.txt" } }], usage: usage(0.4) },
      { toolCalls: [{ name: "read", args: { filePath: "data/part2.txt" } }], usage: usage(0.5) },
      { toolCalls: [{ name: "read", args: { filePath: "data/part3.txt" } }], usage: usage(0.6) },
      { text: "Still going.", usage: usage(0.7) },
      // The /goal prompt.
      { text: "Working on the importer.", usage: usage(0.95) },
      { text: "Continuing after the rebuild.", usage: "auto" },
      // After the restart.
      tasks({ action: "list" }, 0.3),
      { text: "The tree is intact.", usage: "auto" },
    ],
    exhausted: { text: "ok", usage: "auto" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        context: CONTEXT,
        output: OUTPUT,
        continuumConfig: {
          tasks: { gate: false },
          goal: { maxContinuations: 1 },
          checkpoint: { tailMinTokens: 0, tailMinTextMessages: 1 },
        },
        opencodeConfig: { snapshot: false },
      },
      install: false,
    },
    async ({ env, model, serve }) => {
      mkdirSync(join(env.projectDir, "data"), { recursive: true });
      for (let i = 1; i <= 3; i++) {
        const rows = Array.from(
          { length: 160 },
          (_, r) =>
            `row ${i}-${r}: id=${i * 1000 + r}, name=item-${r}, price=${(r * 1.25).toFixed(2)}, tags=alpha beta gamma`,
        );
        writeFileSync(join(env.projectDir, "data", `part${i}.txt`), rows.join("\n") + "\n");
      }
      installPack(env);
      let served = await serve({ extraEnv: persistentDb(env) });
      const session = await createSession(served);
      await send(served, session, "Build the CSV importer; plan it as tasks.");
      await served.waitForIdle(session, 1, 30000);
      await send(served, session, "Keep going.");
      await served.waitForIdle(session, 2, 30000);
      await goalCommand(served.client, session, CONDITION);
      const before = await waitForGoal(
        env,
        session,
        (g) => g.state.status === "capped",
        90000,
        "the goal to end capped after one continuation",
      );
      if (process.env.CONTINUUM_E2E_DEBUG)
        for (const r of model.requests)
          console.log(
            r.lane,
            r.index,
            JSON.stringify(r.lastUserText.slice(0, 80)),
            r.body.messages.length,
            JSON.stringify(r.reply).slice(0, 120),
          );
      const rebuilt = model
        .lane("main")
        .find((r) => contentText(r.body.messages.find((m) => m.role === "user")!).startsWith(DUMP_MARKER));
      assert.ok(rebuilt, "the continuation after the 95 % reading was rebuilt");
      const dump = contentText(rebuilt.body.messages.find((m) => m.role === "user")!);
      assert.match(dump, /T1 Write the importer \(open\)/);
      await served.waitForIdle(session, 4, 30000);
      await served.stop();

      const stateDir = findStateDir(env.packDataDir, session);
      assert.ok(stateDir, "the session's state folder exists");
      assert.deepEqual(readdirSync(stateDir).sort(), [
        "checkpoint-meter.json",
        "goals.json",
        "rebuild.json",
        "tasks.json",
      ]);
      for (const suffix of ["", "-wal", "-shm"])
        rmSync(join(env.packDataDir, `continuum.db${suffix}`), { force: true });
      assert.equal(existsSync(join(env.packDataDir, "continuum.db")), false);

      served = await serve({ extraEnv: persistentDb(env) });
      const count = model.lane("main").length;
      await send(served, session, "Continue.");
      const next = await until(
        () =>
          model
            .lane("main")
            .slice(count)
            .find((r) => r.lastUserText === "Continue."),
        30000,
        "the request after the restart",
      );
      assert.equal(
        contentText(next.body.messages.find((m) => m.role === "user")!),
        dump,
        "the stored rebuild came back: same rebuilt input",
      );
      const listed = await until(
        () =>
          model
            .lane("main")
            .slice(count)
            .find((r) => r.body.messages.at(-1)?.role === "tool"),
        30000,
        "the tasks list result",
      );
      const output = contentText(listed.body.messages.at(-1)!);
      assert.match(output, /T1 Write the importer/);
      assert.match(output, /T1\.1 Parse the header row/);
      const after = await readGoal(env, session);
      assert.ok(after, "the goal is in the new database");
      assert.deepEqual(
        { id: after.id, state: after.state, verdicts: after.verdicts },
        { id: before.id, state: before.state, verdicts: before.verdicts },
      );
      assert.equal(after.verdicts.length, 2);
    },
  );
});

function findStateDir(dataDir: string, session: string): string | undefined {
  const projects = join(dataDir, "projects");
  for (const project of existsSync(projects) ? readdirSync(projects) : []) {
    const dir = join(projects, project, "sessions", session, "state");
    if (existsSync(dir)) return dir;
  }
  const loose = join(dataDir, "sessions", session, "state");
  return existsSync(loose) ? loose : undefined;
}
