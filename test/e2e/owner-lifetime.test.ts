// Nothing outlives its owner, in the real OpenCode: `continuum workflow run` stopped by SIGTERM (what `timeout`
// sends) and `continuum run --goal` stopped by SIGHUP (a closed terminal) each shut down the `opencode serve` they
// started, and the run they drove is marked interrupted instead of staying `running`.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { killAll } from "../harness/opencode.ts";
import { sleep, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { processAlive } from "../../plugins/core/process-alive.ts";

after(killAll);

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: IsolatedEnv, args: string[]): Running {
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
    cwd: env.projectDir,
    env: { ...env.env, OPENCODE_BIN: opencodeBinary() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, out: () => out, exited };
}

/** The processes the CLI started (its `opencode serve`), read from /proc before the signal. */
function childrenOf(pid: number): number[] {
  const listed = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return listed.stdout
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

test("SIGTERM to `continuum workflow run` and SIGHUP to `continuum run --goal`: serve is gone and the run is interrupted, not running", {
  timeout: 240000,
}, async () => {
  // Every model answer takes long enough for the signal to land while the run waits on it.
  await withOpencode(
    {
      model: { main: () => ({ text: "still thinking", delayMs: 30000 }) },
      env: { continuumConfig: { tasks: { gate: false } } },
    },
    async ({ env }) => {
      const dir = join(env.projectDir, ".opencode", "workflows");
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "slow.js"),
        `export const meta = { name: "slow", description: "one slow agent" };\nexport default async function () { return agent("WF slow"); }`,
      );

      const wf = start(env, ["workflow", "run", "slow"]);
      const runId = await until(
        () => /run (wf_[\w-]+) in session/.exec(wf.out())?.[1],
        90000,
        "the workflow run to start",
      );
      const serve = childrenOf(wf.child.pid!);
      assert.ok(serve.length >= 1, "the CLI runs opencode serve");
      wf.child.kill("SIGTERM");
      const ended = await wf.exited;
      assert.equal(ended.code, 143, wf.out());
      await until(() => serve.every((pid) => !processAlive(pid)) || undefined, 15000, "opencode serve to end");
      const status = cli(env, ["workflow", "status", runId, "--json"]);
      const record = JSON.parse(status.stdout) as { status: string; error?: string };
      assert.notEqual(record.status, "running", status.stdout);
      assert.match(wf.out(), new RegExp(`stopped by a signal; OpenCode was shut down and run ${runId} interrupted`));

      const goal = start(env, ["run", "--goal", "hello.txt exists", "--timeout-min", "3"]);
      await until(() => /goal set in session/.test(goal.out()) || undefined, 90000, "the goal to be set");
      await sleep(500);
      const goalServe = childrenOf(goal.child.pid!);
      goal.child.kill("SIGHUP");
      const goalEnded = await goal.exited;
      assert.equal(goalEnded.code, 129, goal.out());
      await until(() => goalServe.every((pid) => !processAlive(pid)) || undefined, 15000, "opencode serve to end");
      const goals = JSON.parse(cli(env, ["goal", "list", "--json"]).stdout) as {
        goals: { status: string; note: string }[];
      };
      assert.equal(goals.goals[0]?.status, "paused", JSON.stringify(goals));
      assert.match(goals.goals[0]!.note, /interrupted/);
    },
  );
});

test("two `continuum dream` at once: the second is refused naming the first, the first reports its own run, nothing stays running", {
  timeout: 240000,
}, async () => {
  const { call, isDreamRequest, projectData, stepLane, writeFixtureSession } = await import("./dream-support.ts");
  const { continuumCliAsync } = await import("../harness/cli.ts");
  const { existsSync } = await import("node:fs");
  const rule = "Always run `npm run lint` before committing.";
  const modelScript: ModelScript = {
    lanes: [
      stepLane("dream", isDreamRequest, [
        // Slow enough for the second dream to start while the first holds the lock.
        {
          ...call("dream_memory", {
            action: "remember",
            section: "Rules",
            text: rule,
            sessions: ["ses_fixtureA", "ses_fixtureB"],
          }),
          delayMs: 12000,
        },
        call("dream_report", { consolidated: ["lint before committing"], updated: [], deleted: [], skipped: [] }),
      ]),
    ],
    main: () => ({ text: "main" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { checkpoint: { enabled: false } }, opencodeConfig: { snapshot: false } },
    },
    async ({ env, model }) => {
      const data = projectData(env);
      mkdirSync(join(data.memoryFile, ".."), { recursive: true });
      writeFileSync(
        data.memoryFile,
        "# Project memory\n\n## Rules\n\n- Use pnpm. <!-- id:m-keep0001 · 2026-11-20 · ses_old1 -->\n",
      );
      for (const id of ["ses_fixtureA", "ses_fixtureB"])
        writeFixtureSession(env, id, {
          notes: `# Session notes (${id})\n\n## [turn 2 · 2026-11-28T10:00:00.000Z]\nThe user said: always run npm run lint before committing.\n`,
        });
      const envWithBin = { ...env, env: { ...env.env, OPENCODE_BIN: opencodeBinary() } };
      const first = continuumCliAsync(envWithBin, ["dream", "--project", env.projectDir, "--json"]);
      await until(
        () => existsSync(join(data.dreamDir, "running.lock")) || undefined,
        90000,
        "the first dream to hold its lock",
      );
      const second = await continuumCliAsync(envWithBin, ["dream", "--project", env.projectDir]);
      assert.equal(second.status, 1, second.stdout + second.stderr);
      assert.match(
        second.stderr,
        /A dream is already running in OpenCode process \d+ \(\/dream, started [^)]+\); this one was not started/,
      );
      const done = await first;
      assert.equal(done.status, 0, done.stdout + done.stderr);
      const record = JSON.parse(done.stdout) as { status: string; runId?: string };
      assert.equal(record.status, "written");
      assert.equal(model.lane("dream").length, 2, "one dream made model calls, the refused one none");
      const agents = JSON.parse(cli(env, ["agents", "--project", env.projectDir, "--json"]).stdout) as {
        runs: { runId: string; state: string }[];
      };
      assert.ok(
        agents.runs.some((r) => r.runId === record.runId && r.state === "done"),
        JSON.stringify(agents),
      );
      assert.ok(
        agents.runs.every((r) => r.state !== "running"),
        JSON.stringify(agents),
      );
      assert.equal(existsSync(join(data.dreamDir, "running.lock")), false, "the lock is released");
    },
  );
});
