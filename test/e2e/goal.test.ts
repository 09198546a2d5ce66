// The goal loop in real OpenCode (`opencode serve` + SDK, scripted model): a worker that claims "done" twice
// before doing the work is sent back twice with the judge's reasons, then the judge finds the evidence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { createSession } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import {
  continuationsSeen,
  goalCommand,
  judgeLane,
  shownAnswers,
  waitForGoal,
  goalEnvOptions,
} from "./goal-support.ts";

test("worker says done twice, judge says not met twice then met: two continuations quoting the reasons, goal met", {
  timeout: 120000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane([
        // A met without evidence is refused by the tool: that judge run ends without a verdict and is retried.
        { met: true, reason: "the agent said done", evidence: [] },
        {
          met: false,
          reason: "REASON-ONE: no evidence that result.txt exists",
          missing: ["create result.txt containing ok"],
        },
        {
          met: false,
          reason: "REASON-TWO: still only a claim, no tool result",
          missing: ["create result.txt containing ok"],
        },
        {
          met: true,
          reason: "result.txt was written with ok",
          evidence: ["write tool result: result.txt created"],
          before: [
            { name: "bash", args: { command: "git status --short", description: "check the work tree" } },
            { name: "bash", args: { command: "touch judge-was-here.txt", description: "try to write" } },
            {
              name: "bash",
              args: { command: "git status > judge-redirect.txt", description: "try to write through a redirect" },
            },
          ],
        },
      ]),
    ],
    main: [
      { text: "Done!" },
      { text: "Done, really." },
      { toolCalls: [{ name: "write", args: { filePath: "result.txt", content: "ok\n" } }] },
      { text: "Wrote result.txt." },
    ],
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
      const started = await goalCommand(served.client, session, "result.txt exists and contains ok");
      assert.equal(started.error, undefined, `the /goal command runs its prompt: ${JSON.stringify(started.error)}`);
      const first = model.lane("main")[0]!;
      assert.match(first.lastUserText, /result\.txt exists and contains ok/, "the condition is sent as the prompt");

      const goal = await waitForGoal(env, session, (g) => g.state.status === "met", 60000, "the goal to end met");
      const continuations = continuationsSeen(model.requests);
      assert.equal(continuations.length, 2, "exactly two continuation prompts reach the worker");
      assert.match(continuations[0]!.lastUserText, /REASON-ONE/);
      assert.match(continuations[1]!.lastUserText, /REASON-TWO/);
      assert.match(continuations[0]!.lastUserText, /create result\.txt containing ok/, "the missing items are quoted");
      assert.ok(existsSync(join(env.projectDir, "result.txt")));

      assert.deepEqual(
        goal.verdicts.map((v) => v.outcome),
        ["judge failed", "not met", "not met", "met"],
      );
      const refusal = model.lane("judge").find((r) => r.body.messages.at(-1)?.role === "tool")!;
      assert.match(
        JSON.stringify(refusal.body.messages.at(-1)!.content),
        /verdict refused: met needs at least one evidence item/,
      );
      assert.ok(
        goal.verdicts.every((v) => v.total_tokens > 0),
        `judge tokens are counted: ${JSON.stringify(goal.verdicts)}`,
      );
      assert.deepEqual(goal.state.evidence, ["write tool result: result.txt created"]);

      const judgeRequests = model.lane("judge");
      assert.ok(
        judgeRequests.every((r) => r.tools.includes("goal_verdict")),
        "the judge has the verdict tool",
      );
      assert.ok(
        model.lane("main").every((r) => !r.tools.includes("goal_verdict")),
        "the worker does not see the verdict tool",
      );
      assert.ok(
        !judgeRequests[0]!.tools.some((t) => ["edit", "write", "patch"].includes(t)),
        `the judge cannot edit: ${judgeRequests[0]!.tools.join(",")}`,
      );
      assert.match(judgeRequests[0]!.lastUserText, /<goal>\nresult\.txt exists and contains ok\n<\/goal>/);
      assert.match(judgeRequests[0]!.lastUserText, /\[tool call|Done!/, "the judge sees the transcript");
      assert.deepEqual(
        [...judgeRequests[0]!.tools].sort(),
        ["bash", "glob", "goal_verdict", "grep", "read"],
        "the judge gets read-only tools only",
      );
      const checks = judgeRequests.find((r) => r.body.messages.filter((m) => m.role === "tool").length >= 3)!;
      const results = checks.body.messages.filter((m) => m.role === "tool").map((m) => JSON.stringify(m.content));
      assert.match(results[0]!, /result\.txt/, `git status ran for the judge: ${results[0]}`);
      assert.match(results[1]!, /denied|not allowed|rule/i, `a mutating command is refused: ${results[1]}`);
      assert.match(results[2]!, /denied|not allowed|rule/i, `a redirect is refused: ${results[2]}`);
      assert.ok(!existsSync(join(env.projectDir, "judge-was-here.txt")), "the judge could not write");
      assert.ok(
        !existsSync(join(env.projectDir, "judge-redirect.txt")),
        "the judge could not write through a redirect",
      );

      await goalCommand(served.client, session, "");
      const shown = (await shownAnswers(served.client, session)).join("\n");
      assert.match(shown, /Goal \(met; 2 of 12 continuations used\)/);
      assert.match(shown, /REASON-ONE[\s\S]*REASON-TWO[\s\S]*met: result\.txt was written/);
      assert.match(shown, /judge: [\d,]+ tokens/);
      const mainCalls = model.lane("main").length;
      assert.equal(mainCalls, 4, "/goal status made no model call");
    },
  );
});
