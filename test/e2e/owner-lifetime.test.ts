// Nothing outlives its owner, in the real OpenCode: `continuum workflow run` stopped by SIGTERM (what `timeout`
// sends) and `continuum run --goal` stopped by SIGHUP (a closed terminal) each shut down the `opencode serve` they
// started, and the run they drove is marked interrupted instead of staying `running`.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startScriptedModel } from "../harness/scripted-model.ts";
import { createIsolatedEnv, opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { killAll } from "../harness/opencode.ts";
import { installPackForTest, sleep, until } from "./checkpoint-support.ts";
import { processAlive } from "../../plugins/core/process-alive.ts";

after(killAll);

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) => spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: IsolatedEnv, args: string[]): Running {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: { ...env.env, OPENCODE_BIN: opencodeBinary() }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}

/** The processes the CLI started (its `opencode serve`), read from /proc before the signal. */
function childrenOf(pid: number): number[] {
  const listed = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return listed.stdout.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
}

test("SIGTERM to `continuum workflow run` and SIGHUP to `continuum run --goal`: serve is gone and the run is interrupted, not running", { timeout: 240000 }, async () => {
  // Every model answer takes long enough for the signal to land while the run waits on it.
  const model = await startScriptedModel({ main: () => ({ text: "still thinking", delayMs: 30000 }) });
  const env = createIsolatedEnv({ baseURL: model.baseURL, continuumConfig: { tasks: { gate: false } } });
  try {
    await installPackForTest(env);
    const dir = join(env.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "slow.js"), `export const meta = { name: "slow", description: "one slow agent" };\nexport default async function () { return agent("WF slow"); }`);

    const wf = start(env, ["workflow", "run", "slow"]);
    const runId = await until(() => /run (wf_[\w-]+) in session/.exec(wf.out())?.[1], 90000, "the workflow run to start");
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
    const goals = JSON.parse(cli(env, ["goal", "list", "--json"]).stdout) as { goals: { status: string; note: string }[] };
    assert.equal(goals.goals[0]?.status, "paused", JSON.stringify(goals));
    assert.match(goals.goals[0]!.note, /interrupted/);
  } finally {
    await model.close();
    env.cleanup();
  }
});
