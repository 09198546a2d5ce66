// Goals outside the TUI: `continuum run --goal` exits with the outcome's code (met 0, stuck 4), and a goal whose
// judge was running when `opencode serve` was killed is still there after a restart and is judged again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { createSession, persistentDb, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import {
  continuationsSeen,
  goalCommand,
  judgeLane,
  readGoal,
  shownAnswers,
  waitForGoal,
  goalEnvOptions,
} from "./goal-support.ts";

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function continuumRun(env: IsolatedEnv, args: string[], timeoutMs = 90000): Promise<CliResult> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "plugins", "cli", "continuum.mjs"), "run", ...args], {
    cwd: env.projectDir,
    env: { ...env.env, OPENCODE_BIN: opencodeBinary() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGINT"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function headless(script: ModelScript, args: string[], goal?: Record<string, unknown>) {
  return withOpencode({ model: script, env: goalEnvOptions(goal) }, async ({ env, model }) => {
    const result = await continuumRun(env, args);
    return { result, model, projectDir: env.projectDir, requests: model.requests };
  });
}

test("continuum run --goal exits 0 when the judge finds the goal met, streaming progress", {
  timeout: 120000,
}, async () => {
  const { result, requests } = await headless(
    {
      lanes: [
        judgeLane([
          { met: false, reason: "HEADLESS-REASON: nothing written yet", missing: ["write done.txt"] },
          { met: true, reason: "done.txt exists", evidence: ["write tool completed for done.txt"] },
        ]),
      ],
      main: [
        { text: "I am done." },
        { toolCalls: [{ name: "write", args: { filePath: "done.txt", content: "done\n" } }] },
        { text: "Written." },
      ],
    },
    ["--goal", "done.txt exists", "Please create done.txt"],
  );
  assert.equal(result.code, 0, `exit code 0 for met\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /judge: not met: HEADLESS-REASON/);
  assert.match(result.stdout, /tool write: completed/);
  assert.match(result.stdout, /goal met: done\.txt exists \(1 continuations, 2 judge rounds/);
  assert.equal(
    requests.filter((r) => r.lane === "main")[0]!.lastUserText,
    "Please create done.txt",
    "the prompt, not the condition, starts the work",
  );
  assert.equal(continuationsSeen(requests).length, 1, "the driver's own prompt did not pause the goal");
});

test("continuum run --goal exits 4 (stuck) when the agent makes no progress on the same missing item", {
  timeout: 120000,
}, async () => {
  const { result } = await headless(
    {
      lanes: [judgeLane(() => ({ met: false, reason: "the report is missing", missing: ["write report.md"] }))],
      main: (_r, n) => ({ text: `I think it is fine (${n}).` }),
    },
    ["--goal", "report.md exists"],
  );
  assert.equal(result.code, 4, `exit code 4 for stuck\n${result.stdout}\n${result.stderr}`);
  assert.match(
    result.stdout,
    /goal stuck: no progress for 2 rounds in a row \(same missing items, no new tool result or file change\); still missing: write report\.md/,
  );
});

test("a goal whose judge was running when opencode serve was killed is still active after a restart, and is judged again", {
  timeout: 120000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      judgeLane([
        { met: false, reason: "held until the kill", missing: ["x"], delayMs: 8000 },
        { met: true, reason: "verified after the restart", evidence: ["transcript shows the work"] },
      ]),
    ],
    main: [{ text: "work done" }],
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...goalEnvOptions() },
      serve: (env) => ({ extraEnv: persistentDb(env) }),
    },
    async ({ env, model, served, serve }) => {
      const session = await createSession(served);
      await goalCommand(served.client, session, "the work is verified");
      await waitForGoal(env, session, (g) => g.state.status === "judging", 30000, "the judge to start");
      await until(() => model.lane("judge").length >= 1, 30000, "the judge's model call");
      await served.stop();
      assert.equal((await readGoal(env, session))!.state.status, "judging", "the stored goal outlives the process");

      served = await serve({ extraEnv: persistentDb(env) });
      const goal = await waitForGoal(
        env,
        session,
        (g) => g.state.status === "met",
        40000,
        "the goal to be judged again after the restart",
      );
      assert.equal(goal.state.condition, "the work is verified");
      assert.equal(goal.state.judgeFailures, 1, "the judge lost to the restart counts as one failed attempt");
      assert.ok(existsSync(join(env.packDataDir, "continuum.db")));
      await goalCommand(served.client, session, "");
      assert.match(
        (await shownAnswers(served.client, session)).join("\n"),
        /Goal \(met; 0 of 12 continuations used\): the work is verified/,
      );
    },
  );
});
