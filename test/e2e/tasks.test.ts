// The task tree in real OpenCode: the `tasks` tool, the task gate's pushes (capped, user wins, abort wins),
// and the tree surviving a restart of `opencode serve`.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import { createSession, persistentDb, send, sleep, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { GATE_MARKER } from "../../plugins/tasks/gate.ts";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

function findFile(projects: string, rest: string): string | undefined {
  if (!existsSync(projects)) return undefined;
  return readdirSync(projects)
    .map((p) => join(projects, p, rest))
    .find((f) => existsSync(f));
}

const call = (args: Record<string, unknown>): ScriptedReply => ({ toolCalls: [{ name: "tasks", args }] });

test("tasks tool, gate pushes capped at maxGatePushes, abort wins, tree survives a restart", {
  timeout: 120000,
}, async () => {
  const modelScript: ModelScript = {
    main: [
      call({ action: "create", title: "Write the parser" }),
      call({ action: "start", id: "T1" }),
      { text: "Stopping for now." },
      { text: "Still thinking (push 1)." },
      { text: "Still thinking (push 2)." },
      call({ action: "done", id: "T1", note: "parser written" }),
      { text: "All done." },
      call({ action: "create", title: "Second job" }),
      { text: "slow answer", delayMs: 4000 },
    ],
    exhausted: { text: "ok" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { maxGatePushes: 2 } } },
      serve: (env) => ({ extraEnv: persistentDb(env) }),
    },
    async ({ env, model, served, serve }) => {
      const session = await createSession(served);
      const pushes = () => model.lane("main").filter((r) => r.lastUserText.startsWith(GATE_MARKER));

      await send(served, session, "Plan the parser work with the task tool and start it.");
      await served.waitForIdle(session, 3, 60000);
      assert.equal(pushes().length, 2, "two pushes, then the cap holds");
      assert.match(pushes()[0]!.lastUserText, /T1 Write the parser \(in_progress\)/);
      await sleep(800);
      assert.equal(pushes().length, 2, "no third push after the cap");

      await send(served, session, "Finish T1 please.");
      await served.waitForIdle(session, 4, 30000);
      await sleep(800);
      assert.equal(pushes().length, 2, "no push when every task is settled");

      await send(served, session, "Start a second job.");
      await until(
        () =>
          model.lane("main").some((r) => r.reply !== "unscripted" && typeof r.reply === "object" && r.reply.delayMs),
        30000,
        "slow reply",
      );
      await served.client.session.abort({ path: { id: session } });
      await served.waitForIdle(session, 5, 30000);
      await sleep(1200);
      assert.equal(pushes().length, 2, "an abort always wins over the gate");

      // A subagent started through OpenCode's own `task` tool reports progress on its task.
      const parent = await createSession(served);
      model.push(
        "main",
        call({ action: "create", title: "Survey the logs" }),
        {
          toolCalls: [
            {
              name: "task",
              args: {
                description: "survey logs",
                prompt: "Work on task T1: survey the logs; report with the tasks tool.",
                subagent_type: "general",
              },
            },
          ],
        },
        call({ action: "progress", id: "T1", note: "read 3 log files; error rate 2%" }),
        { text: "Subagent finished." },
        call({ action: "done", id: "T1" }),
        { text: "Parent finished." },
      );
      await send(served, parent, "Survey the logs with a subagent.");
      await until(
        () => model.lane("main").some((r) => r.reply !== "unscripted" && r.reply.text === "Parent finished."),
        40000,
        "parent turn",
      );
      const progress = join(env.packDataDir, "projects");
      const file = await until(
        () => findFile(progress, join("sessions", parent, "tasks", "T1", "progress.md")),
        10000,
        "progress.md of T1",
      );
      assert.match(readFileSync(file, "utf8"), /^## \[.*\] ses_\w+\nread 3 log files; error rate 2%/);
      assert.ok(
        !readFileSync(file, "utf8").includes(`] ${parent}\n`),
        "written by the child session, into the parent's folder",
      );
      await served.stop();

      served = await serve({ extraEnv: persistentDb(env) });
      model.push("main", call({ action: "list" }), { text: "listed" });
      const before = model.requests.length;
      await send(served, session, "Show me the task list.");
      const listed = await until(
        () =>
          model.requests.slice(before).find((r) => r.lane === "main" && r.raw.includes("T1 Write the parser (done)")),
        30000,
        "a request holding the listed tree",
      );
      assert.match(listed.raw, /T2 Second job \(open\)/);
    },
  );
});
