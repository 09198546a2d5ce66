// The goal and the task gate together in real OpenCode: open tasks go to the task gate first (no judge, no double
// push); once the gate has given up, the judge runs anyway and sees the task tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import { createSession } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { continuationsSeen, goalCommand, goalEnvOptions, judgeLane, waitForGoal } from "./goal-support.ts";
import { GATE_MARKER } from "../../plugins/tasks/gate.ts";

const tasks = (args: Record<string, unknown>): ScriptedReply => ({ toolCalls: [{ name: "tasks", args }] });

test("open tasks go to the task gate first; then the judge runs with the task tree and the goal ends met", {
  timeout: 90000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane([
        { met: false, reason: "T1 is still open", missing: ["finish T1 and mark it done"] },
        { met: true, reason: "T1 is done", evidence: ["tasks: T1 done"] },
      ]),
    ],
    main: [
      tasks({ action: "create", title: "Write the summary" }),
      { text: "Stopping here." },
      { text: "Ignoring the gate." },
      tasks({ action: "done", id: "T1", note: "summary written" }),
      { text: "All done." },
    ],
  };
  const options = goalEnvOptions();
  await withOpencode(
    {
      model: modelScript,
      env: { ...options, continuumConfig: { ...options.continuumConfig, tasks: { maxGatePushes: 1 } } },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      await goalCommand(served.client, session, "the summary task is done");
      const goal = await waitForGoal(env, session, (g) => g.state.status === "met", 60000, "the goal to end met");
      const gatePushes = model
        .lane("main")
        .filter((r) => r.body.messages.at(-1)?.role === "user" && r.lastUserText.startsWith(GATE_MARKER));
      assert.equal(gatePushes.length, 1, "the task gate pushed once; the goal did not push at the same time");
      assert.equal(continuationsSeen(model.requests).length, 1);
      const firstJudge = model.lane("judge")[0]!;
      assert.ok(
        model.requests.indexOf(firstJudge) > model.requests.indexOf(gatePushes[0]!),
        "no judge while the gate still pushed",
      );
      assert.match(
        firstJudge.lastUserText,
        /## Task tree of the session\n\n<tasks>\n- \[ \] T1 Write the summary \(open\)/,
      );
      assert.deepEqual(
        goal.verdicts.map((v) => v.outcome),
        ["not met", "met"],
      );
    },
  );
});
