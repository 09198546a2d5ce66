// Every goal loop ends, in real OpenCode: a judge that never says met stops at the cap, a judge that never
// calls the verdict tool ends `unverified` (after one retry), and a user message mid-loop pauses at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ModelScript } from "../harness/scripted-model.ts";
import { opencodeJson } from "../harness/env.ts";
import { createSession, send, sleep, until } from "../harness/session.ts";
import { withOpencode, type EnvSetup } from "../harness/fixture.ts";
import {
  continuationsSeen,
  goalCommand,
  judgeLane,
  readGoal,
  shownAnswers,
  waitForGoal,
  goalEnvOptions,
} from "./goal-support.ts";

test("a judge that always answers not met stops the goal at the cap", { timeout: 90000 }, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane((round) => ({ met: false, reason: `round ${round}: not there yet`, missing: [`step ${round}`] })),
    ],
    main: (_r, n) => ({ text: `working, turn ${n}` }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...goalEnvOptions({ maxContinuations: 2 }) },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      await goalCommand(served.client, session, "the impossible feature works");
      const goal = await waitForGoal(
        env,
        session,
        (g) => g.state.status === "capped",
        45000,
        "the goal to stop at the cap",
      );
      assert.equal(goal.state.continuations, 2);
      assert.equal(continuationsSeen(model.requests).length, 2);
      assert.equal(goal.verdicts.length, 3, "a judge round after each of the 2 continuations plus the first");
      await sleep(1000);
      assert.equal(
        model.lane("judge").filter((r) => r.body.messages.at(-1)?.role === "user").length,
        3,
        "no judge runs after the cap",
      );
      assert.match(goal.state.note, /not met after 2 continuations \(the cap\)/);
    },
  );
});

test("a judge that times out, then one that never calls goal_verdict: the goal ends unverified, never met (judge on its own model)", {
  timeout: 90000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane((round) =>
        round === 0
          ? { met: true, reason: "too late to count", evidence: ["late"], delayMs: 7000 }
          : { text: "Looks complete to me. MET." },
      ),
    ],
    main: (_r, n) => ({ text: `done ${n}` }),
  };
  const options = goalEnvOptions({ judgeModel: "fake/judge-model", judgeTimeoutMs: 4000 });
  /** The judge gets a model of its own, served by the same scripted provider. */
  const withJudgeModel = (baseURL: string): EnvSetup => {
    const provider = opencodeJson({ baseURL }).provider as { fake: { models: Record<string, unknown> } };
    provider.fake.models["judge-model"] = {
      name: "Judge model",
      tool_call: true,
      limit: { context: 32000, output: 4000 },
    };
    return { ...options, opencodeConfig: { ...options.opencodeConfig, provider } };
  };
  await withOpencode({ model: modelScript, env: withJudgeModel, serve: true }, async ({ env, model, served }) => {
    const session = await createSession(served);
    await goalCommand(served.client, session, "README.md has a usage section");
    const goal = await waitForGoal(
      env,
      session,
      (g) => g.state.status === "unverified",
      45000,
      "the goal to end unverified",
    );
    assert.deepEqual(
      goal.verdicts.map((v) => v.outcome),
      ["judge failed", "judge failed"],
    );
    assert.match(goal.verdicts[0]!.reason, /no verdict within 4000 ms \(timeout\) \(judge tokens estimated/);
    assert.match(goal.verdicts[1]!.reason, /without calling goal_verdict/);
    await until(
      () => model.lane("judge").some((r) => r.reply !== "unscripted" && r.reply.delayMs),
      1000,
      "the held judge call",
    );
    await sleep(3500); // past the held reply's 7 s: its met has arrived and been refused
    assert.equal(
      (await readGoal(env, session))!.state.status,
      "unverified",
      "the late met verdict of the timed-out judge never counts",
    );
    assert.ok(
      goal.verdicts.every((v) => v.total_tokens > 0),
      "the failed judge calls are counted too",
    );
    assert.equal(continuationsSeen(model.requests).length, 0, "prose is never taken as a verdict, and no loop follows");
    assert.ok(
      model.lane("judge").every((r) => r.body.model === "judge-model"),
      "goal.judgeModel picks the judge's model",
    );
    assert.ok(model.lane("main").every((r) => r.body.model === "fake-model"));
  });
});

test("a user message mid-loop pauses the goal at once; /goal resume continues it to met", {
  timeout: 90000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane([
        { met: false, reason: "not yet", missing: ["finish"] },
        { met: true, reason: "finished", evidence: ["the agent's final tool result"] },
      ]),
    ],
    main: [
      { text: "first pass" },
      { text: "slow second pass", delayMs: 2500 },
      { text: "answering the user" },
      { text: "resumed and finished" },
    ],
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...goalEnvOptions() },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      await goalCommand(served.client, session, "the work is finished");
      await until(() => continuationsSeen(model.requests).length === 1, 30000, "the first continuation");
      await send(served, session, "wait, what are you doing?");
      const paused = await waitForGoal(env, session, (g) => g.state.status === "paused", 10000, "the goal to pause");
      assert.match(paused.state.note, /you sent a message/);
      // The message queued while busy is answered in the same loop, so the session goes idle once more.
      await until(() => model.lane("main").length >= 3, 30000, "the reply to the user's message");
      await served.waitForIdle(session, 2, 30000);
      await sleep(1500);
      assert.equal(
        model.lane("judge").filter((r) => r.body.messages.at(-1)?.role === "user").length,
        1,
        "no judge while paused",
      );

      const resumed = await goalCommand(served.client, session, "resume");
      assert.equal(resumed.error, undefined, "resume sends a prompt so work continues");
      const goal = await waitForGoal(
        env,
        session,
        (g) => g.state.status === "met",
        30000,
        "the goal to end met after resume",
      );
      assert.equal(goal.state.continuations, 1);
      await goalCommand(served.client, session, "");
      assert.match((await shownAnswers(served.client, session)).join("\n"), /Goal \(met; 1 of 12/);
    },
  );
});

test("an abort mid-turn pauses the goal at once and no judge runs", { timeout: 60000 }, async () => {
  const modelScript: ModelScript = {
    lanes: [judgeLane(() => ({ met: true, reason: "should never be asked", evidence: ["x"] }))],
    main: [{ text: "slow work", delayMs: 4000 }],
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...goalEnvOptions() },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      const running = goalCommand(served.client, session, "the slow work is done");
      await until(() => model.lane("main").length >= 1, 30000, "the worker's model call");
      await served.client.session.abort({ path: { id: session } });
      await running;
      const goal = await waitForGoal(
        env,
        session,
        (g) => g.state.status === "paused",
        10000,
        "the goal to pause on abort",
      );
      assert.match(goal.state.note, /aborted/);
      await served.waitForIdle(session, 1, 10000);
      await sleep(1500);
      assert.equal(model.lane("judge").length, 0, "an aborted turn is never judged");
    },
  );
});
