// The runtime core in real OpenCode: the goal judge and the checkpoint writer run through the one helper runner,
// `continuum stats --json` reports their runs next to the worker's tokens, /stats and /agents answer without a model
// call, a helper's "done" call after its result is never made, and aborting the parent leaves no child busy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { isCheckpointWriterRequest, type RecordedRequest, type ModelScript } from "../harness/scripted-model.ts";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { createSession, send, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { goalCommand, goalEnvOptions, isJudgeRequest, judgeLane, shownAnswers, waitForGoal } from "./goal-support.ts";

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

test("judge runs through the runner: no call after the verdict; continuum stats --json shows them under goal and the worker's tokens; /stats and /agents cost no call", {
  timeout: 120000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [judgeLane([{ met: true, reason: "the file exists", evidence: ["ls: result.txt"] }])],
    main: [{ text: "Created result.txt." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...goalEnvOptions() },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      const started = await goalCommand(served.client, session, "result.txt exists");
      assert.equal(started.error, undefined);
      await waitForGoal(env, session, (g) => g.state.status === "met", 60000, "the goal to end met");
      const judgeCalls = model.requests.filter((r) => isJudgeRequest(r));
      assert.equal(
        judgeCalls.length,
        1,
        `the judge's run ended at its verdict: no "done" call (${judgeCalls.length} calls)`,
      );

      const mainCalls = model.lane("main").length;
      for (const command of ["stats", "agents"]) {
        const ran = await served.client.session.command({ path: { id: session }, body: { command, arguments: "" } });
        assert.ok(!ran.error, JSON.stringify(ran.error));
      }
      assert.equal(model.lane("main").length, mainCalls, "/stats and /agents made no model call");
      const shown = (await shownAnswers(served.client, session)).join("\n");
      assert.match(shown, /Worker \(your agent\): [1-9]\d* calls/);
      assert.match(shown, /goal +1 runs/);
      assert.match(shown, /goal-judge +done/);

      const stats = cli(env, ["stats", "--json"]);
      assert.equal(stats.status, 0, stats.stderr);
      const json = JSON.parse(stats.stdout) as {
        worker: Record<string, number>;
        features: Record<string, Record<string, number>>;
        overheadRatio: number;
      };
      assert.deepEqual(Object.keys(json).sort(), ["features", "overheadRatio", "subagents", "worker"]);
      assert.equal(json.features.goal!.runs, 1);
      assert.ok(
        json.features.goal!.inputTokens > 0 && json.features.goal!.outputTokens > 0,
        JSON.stringify(json.features.goal),
      );
      assert.ok(json.worker.calls >= 1 && json.worker.inputTokens > 0, JSON.stringify(json.worker));
      assert.ok(json.overheadRatio > 0);
      const bySession = cli(env, ["stats", "--json", "--session", session]);
      assert.equal(JSON.parse(bySession.stdout).features.goal.runs, 1);
      const agents = cli(env, ["agents", "--json"]);
      assert.equal(
        (JSON.parse(agents.stdout) as { runs: { feature: string; state: string }[] }).runs[0]!.state,
        "done",
      );
    },
  );
});

test("aborting the parent session while a checkpoint writer and a goal judge run leaves no busy child session", {
  timeout: 120000,
}, async () => {
  const held = (request: RecordedRequest) => ({ text: `held ${request.lane}`, delayMs: 30000 });
  const modelScript: ModelScript = {
    lanes: [
      { name: "writer", match: isCheckpointWriterRequest, replies: (r) => held(r) },
      judgeLane([{ met: true, reason: "never seen", delayMs: 30000 }]),
    ],
    main: [{ text: "Done." }],
    exhausted: { text: "ok" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { gate: false } }, opencodeConfig: { snapshot: false } },
      serve: true,
    },
    async ({ model, served }) => {
      const session = await createSession(served);
      await goalCommand(served.client, session, "the work is done");
      await until(() => model.requests.some((r) => isJudgeRequest(r)), 30000, "the judge's first call");
      await served.client.session.command({ path: { id: session }, body: { command: "checkpoint", arguments: "" } });
      await until(() => model.lane("writer").length > 0, 30000, "the writer's first call");
      const children = async () =>
        ((await served!.client.session.children({ path: { id: session } })).data ?? []).map((s) => s.id);
      const busy = async () => {
        const status = ((await served!.client.session.status()).data ?? {}) as Record<string, { type: string }>;
        return (await children()).filter((id) => status[id] && status[id]!.type !== "idle");
      };
      assert.equal((await busy()).length, 2, "a writer and a judge are running");

      await served.client.session.abort({ path: { id: session } });
      const deadline = Date.now() + 15000;
      while ((await busy()).length > 0) {
        if (Date.now() > deadline)
          throw new Error(`children still busy 15 s after the abort: ${JSON.stringify(await busy())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await send(served, session, "still there?");
      await until(
        () => model.lane("main").some((r) => r.lastUserText === "still there?"),
        20000,
        "the session goes on",
      );
    },
  );
});

test("without a `model` in OpenCode's config a report is stored in the session and one short model call points at it; the session goes on", {
  timeout: 120000,
}, async () => {
  await withOpencode(
    {
      model: {
        main: [{ text: "The report is above." }, { text: "Back to work." }],
        exhausted: { text: "nothing more scripted" },
      },
      env: { opencodeConfig: { model: undefined, small_model: undefined, snapshot: false } },
      serve: true,
    },
    async ({ model, served }) => {
      const session = await createSession(served);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "stats", arguments: "" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      await served.waitForIdle(session, 1, 30000);
      const pointer = model.lane("main")[0];
      assert.ok(pointer, "the fallback makes one model call");
      assert.match(pointer.lastUserText, /\[continuum \/stats\] The report is in the previous message/);
      assert.equal(pointer.tools.length > 0, true, "an ordinary request of the session's agent");
      const listed = ((await served.client.session.messages({ path: { id: session } })).data ?? []) as {
        info: { role: string; providerID?: string };
        parts: { type: string; text?: string }[];
      }[];
      const texts = listed.flatMap((m) => m.parts.filter((p) => p.type === "text").map((p) => p.text ?? ""));
      assert.ok(
        texts.some((t) => /opencode-continuum/.test(t) && /stats|spent|helper/i.test(t)),
        `the report is in the session: ${JSON.stringify(texts).slice(0, 600)}`,
      );
      assert.ok(
        listed.every((m) => m.info.providerID !== "continuum"),
        "no local report model without a configured model",
      );
      await send(served, session, "carry on");
      await served.waitForIdle(session, 2, 30000);
      assert.equal(model.lane("main").length, 2);
      assert.equal(model.lane("main")[1]!.lastUserText, "carry on");
    },
  );
});
