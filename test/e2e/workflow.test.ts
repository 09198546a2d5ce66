// Workflow scripts in real OpenCode with the scripted model: parallel agent() calls with a schema overlap and come
// back validated; a dag runs in dependency order; a run killed with kill -9 mid-way resumes with only the missing
// agent calls; an endless loop, a memory bomb and a symlink escape each end with a clear error while the session
// goes on; `continuum stats --json` counts the runs (and their agent() calls) under features.workflow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest, ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import type { Served } from "../harness/opencode.ts";
import { createSession, persistentDb, send, sleep, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import type { RunRecord } from "../../plugins/workflow/journal.ts";

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

/** A workflow child's request: its prompt (the last user text) starts with "WF ". */
const isWorkflowRequest = (r: Pick<RecordedRequest, "lastUserText">) => r.lastUserText.startsWith("WF ");

function writeWorkflow(env: IsolatedEnv, name: string, source: string): void {
  const dir = join(env.projectDir, ".opencode", "workflows");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.js`), source);
}

function runs(env: IsolatedEnv): RunRecord[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  const found: RunRecord[] = [];
  for (const project of readdirSync(projects)) {
    const dir = join(projects, project, "workflows");
    if (!existsSync(dir)) continue;
    for (const id of readdirSync(dir)) {
      const file = join(dir, id, "run.json");
      if (existsSync(file)) found.push(JSON.parse(readFileSync(file, "utf8")) as RunRecord);
    }
  }
  return found;
}

function journalLines(env: IsolatedEnv, runId: string): number {
  const projects = join(env.packDataDir, "projects");
  for (const project of readdirSync(projects)) {
    const file = join(projects, project, "workflows", runId, "journal.jsonl");
    if (existsSync(file))
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim()).length;
  }
  return 0;
}

async function startWorkflow(served: Served, env: IsolatedEnv, session: string, args: string): Promise<string> {
  const before = new Set(runs(env).map((r) => r.id));
  const ran = await served.client.session.command({
    path: { id: session },
    body: { command: "workflow", arguments: args },
  });
  assert.ok(!ran.error, JSON.stringify(ran.error));
  const started = await until(() => runs(env).find((r) => !before.has(r.id)), 10000, `a run of /workflow ${args}`);
  return started.id;
}

const ended = (env: IsolatedEnv, id: string, timeoutMs = 60000) =>
  until(() => runs(env).find((r) => r.id === id && r.status !== "running"), timeoutMs, `run ${id} to end`).catch(
    (error) => {
      throw new Error(`${(error as Error).message}; the run: ${JSON.stringify(runs(env).find((r) => r.id === id))}`);
    },
  );

/** Start and end of every assistant call in the session's child sessions. */
async function childSpans(served: Served, parent: string): Promise<{ start: number; end: number }[]> {
  const children = await served.client.session.children({ path: { id: parent } });
  const spans: { start: number; end: number }[] = [];
  for (const child of children.data ?? []) {
    const messages = await served.client.session.messages({ path: { id: child.id } });
    const times = (messages.data ?? [])
      .filter((m) => m.info.role === "assistant")
      .map((m) => m.info.time as { created: number; completed?: number });
    if (times.length)
      spans.push({
        start: Math.min(...times.map((t) => t.created)),
        end: Math.max(...times.map((t) => t.completed ?? t.created)),
      });
  }
  return spans;
}

async function sessionText(served: Served, session: string): Promise<string> {
  const messages = await served.client.session.messages({ path: { id: session } });
  return (messages.data ?? []).flatMap((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : []))).join("\n");
}

async function untilAsync(fn: () => Promise<boolean>, timeoutMs: number, description: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(100);
  }
}

const PARALLEL = `export const meta = { name: "par", description: "three schema calls side by side" };
const schema = { type: "object", properties: { n: { type: "integer" }, square: { type: "integer" } }, required: ["n", "square"], additionalProperties: false };
export default async function () {
  phase("squares");
  return parallel([1, 2, 3].map((n) => () => agent("WF square " + n, { schema, label: "square " + n })));
}`;

const DAG = `export const meta = { name: "graph", description: "four nodes" };
export default async function () {
  const nodes = [{ id: "d", deps: ["b", "c"] }, { id: "b", deps: ["a"] }, { id: "c", deps: ["a"] }, { id: "a" }];
  return dag(nodes, (node, inputs) => agent("WF node " + node.id + " after " + (Object.keys(inputs).sort().join(",") || "-")));
}`;

const FOUR = `export const meta = { name: "four", description: "four steps in a row" };
export default async function () {
  const out = [];
  for (const i of [1, 2, 3, 4]) out.push(await agent("WF step " + i + " of " + out.length));
  return out;
}`;

function workflowReplies(hold: { step3?: boolean }) {
  return (request: RecordedRequest): ScriptedReply => {
    const [, kind, arg] = /^WF (\w+) (\S+)/.exec(request.lastUserText) ?? [];
    if (kind === "square") {
      const n = Number(arg);
      return { toolCalls: [{ name: "workflow_result", args: { result: { n, square: n * n } } }], delayMs: 1500 };
    }
    if (kind === "step" && arg === "3" && hold.step3) {
      hold.step3 = false;
      // Long enough for the kill to come first; short, since a pending reply keeps the test process up until it fires.
      return { text: "never delivered", delayMs: 20000 };
    }
    return { text: `did ${request.lastUserText.slice(3)}` };
  };
}

test("parallel with a schema, a dag in order, three hostile scripts each end clearly while the session goes on, stats count the runs", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [{ name: "wf", match: isWorkflowRequest, replies: workflowReplies({}) }],
    main: () => ({ text: "main agent still here" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { workflow: { activeMs: 1000, memoryMiB: 16 }, tasks: { gate: false } } },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeWorkflow(env, "par", PARALLEL);
      writeWorkflow(env, "graph", DAG);
      writeWorkflow(
        env,
        "loop",
        `export const meta = { name: "loop", description: "never ends" };\nexport default async function () { for (;;) {} }`,
      );
      writeWorkflow(
        env,
        "bomb",
        `export const meta = { name: "bomb", description: "eats memory" };\nexport default async function () { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); }`,
      );
      writeWorkflow(
        env,
        "escape",
        `export const meta = { name: "escape", description: "reads outside" };\nexport default async function () { return readFile("link"); }`,
      );
      writeFileSync(join(env.root, "outside"), "not yours");
      symlinkSync("../outside", join(env.projectDir, "link"));
      installPack(env);
      let served = await serve();
      const session = await createSession(served);

      const par = await ended(env, await startWorkflow(served, env, session, "par"));
      assert.equal(par.status, "done", par.error);
      assert.deepEqual(par.result, [
        { n: 1, square: 1 },
        { n: 2, square: 4 },
        { n: 3, square: 9 },
      ]);
      const spans = await childSpans(served, session);
      assert.equal(spans.length, 3);
      assert.ok(
        Math.max(...spans.map((s) => s.start)) < Math.min(...spans.map((s) => s.end)),
        `the three child sessions overlap: ${JSON.stringify(spans)}`,
      );
      const wfRequests = model.lane("wf");
      assert.equal(wfRequests.length, 3, "one model call per agent(): the call after workflow_result is never made");
      assert.ok(
        wfRequests.every((r) => r.tools.includes("workflow_result")),
        "the run's child sessions may record a result",
      );
      assert.ok(
        model.lane("main").length === 0 || model.lane("main").every((r) => !r.tools.includes("workflow_result")),
      );

      const graph = await ended(env, await startWorkflow(served, env, session, "graph"));
      assert.equal(graph.status, "done", graph.error);
      const order = model
        .lane("wf")
        .slice(3)
        .map((r) => r.lastUserText);
      assert.equal(order[0], "WF node a after -");
      assert.deepEqual(order.slice(1, 3).sort(), ["WF node b after a", "WF node c after a"]);
      assert.equal(order[3], "WF node d after b,c");
      assert.deepEqual(graph.result, {
        a: "did node a after -",
        b: "did node b after a",
        c: "did node c after a",
        d: "did node d after b,c",
      });

      for (const [name, message] of [
        ["loop", /more than 1000 ms of active time/],
        ["bomb", /ran out of memory \(limit 16 MiB/],
        ["escape", /readFile: link: link is a symlink, refused/],
      ] as const) {
        const run = await ended(env, await startWorkflow(served, env, session, name));
        assert.equal(run.status, "failed", name);
        assert.match(run.error!, message);
        await untilAsync(
          async () => (await sessionText(served!, session)).includes(`Run ${run.id} of ${name} ended`),
          15000,
          `the end of ${name} posted in the session`,
        );
      }
      // The session goes on: a prompt is answered, and the end of each run was posted in the session without
      // making a model call of its own.
      assert.equal(model.lane("main").length, 0, "posting the end of a run made no model call");
      await send(served, session, "are you there?");
      await untilAsync(
        async () => (await sessionText(served!, session)).includes("main agent still here"),
        30000,
        "the main agent's answer",
      );
      const texts = await sessionText(served, session);
      assert.match(texts, /main agent still here/);
      assert.ok(
        model.lane("main").every((r) => !r.tools.includes("workflow_result") && r.tools.includes("workflow")),
        "the main agent has the workflow tool, never workflow_result",
      );
      assert.match(texts, /Run wf_\S+ of escape ended[\s\S]*is a symlink, refused/);
      assert.equal(readFileSync(join(env.root, "outside"), "utf8"), "not yours");

      const stats = cli(env, ["stats", "--json"]);
      assert.equal(stats.status, 0, stats.stderr);
      const json = JSON.parse(stats.stdout) as { features: Record<string, { runs: number; agentCalls?: number }> };
      // Two runs called agent() (par: 3 calls, graph: 4); runs are runs and calls are calls.
      assert.equal(json.features.workflow?.runs, 2, stats.stdout);
      assert.equal(json.features.workflow?.agentCalls, 7, stats.stdout);
    },
  );
});

test("kill -9 after two of four agent calls, then resume: exactly two more agent requests and the same result as an uninterrupted run", {
  timeout: 240000,
}, async () => {
  const hold = { step3: true };
  const modelScript: ModelScript = {
    lanes: [{ name: "wf", match: isWorkflowRequest, replies: workflowReplies(hold) }],
    main: () => ({ text: "main agent still here" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { gate: false } } },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeWorkflow(env, "four", FOUR);
      installPack(env);
      let served = await serve({ extraEnv: persistentDb(env) });
      const session = await createSession(served);
      const runId = await startWorkflow(served, env, session, "four");
      await until(
        () => journalLines(env, runId) === 2 && model.lane("wf").length === 3,
        60000,
        "two journaled results and the third call under way",
      );
      process.kill(-served.pid, "SIGKILL");
      await until(() => served!.exited(), 10000, "opencode to die");
      // Ends the event subscription to the dead server (it would keep this test process up).
      await served.stop();
      const killed = runs(env).find((r) => r.id === runId)!;
      assert.equal(killed.status, "running", "the record still says running: the process died mid-run");

      served = await serve({ extraEnv: persistentDb(env) });
      const before = model.lane("wf").length;
      const listed = cli(env, ["workflow", "status", runId]);
      assert.match(listed.stdout, /interrupted/);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "workflow", arguments: `resume ${runId}` },
      });
      assert.ok(!ran.error, JSON.stringify(ran.error));
      const resumed = await ended(env, runId);
      assert.equal(resumed.status, "done", resumed.error);
      assert.equal(model.lane("wf").length - before, 2, "exactly the two missing agent calls were made");
      assert.equal(resumed.agents.replayed, 2);
      assert.deepEqual(resumed.result, ["did step 1 of 0", "did step 2 of 1", "did step 3 of 2", "did step 4 of 3"]);

      // An uninterrupted run of the same script gives the same result.
      const whole = await ended(env, await startWorkflow(served, env, session, "four"));
      assert.deepEqual(whole.result, resumed.result);
    },
  );
});

function continuumAsync(
  env: IsolatedEnv,
  args: string[],
  timeoutMs = 120000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [LAUNCHER, ...args], {
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

test("continuum workflow run headless: JSON args reach the script, the result is printed; a failing script and an unknown name exit 1", {
  timeout: 240000,
}, async () => {
  await withOpencode(
    {
      model: {
        lanes: [{ name: "wf", match: isWorkflowRequest, replies: workflowReplies({}) }],
        main: () => ({ text: "main" }),
      },
      env: { continuumConfig: { tasks: { gate: false } } },
      install: false,
    },
    async ({ env }) => {
      writeWorkflow(
        env,
        "greet",
        `export const meta = { name: "greet", description: "greets each name" };\nexport default async function (args) { return parallel(args.names.map((n) => () => agent("WF hello " + n))); }`,
      );
      writeWorkflow(
        env,
        "broken",
        `export const meta = { name: "broken", description: "throws" };\nexport default async function () { throw new Error("on purpose"); }`,
      );
      installPack(env);
      const list = cli(env, ["workflow", "list", "--json"]);
      assert.equal(list.status, 0, list.stderr);
      const names = (JSON.parse(list.stdout) as { workflows: { name: string; origin: string }[] }).workflows.map(
        (w) => `${w.name}:${w.origin}`,
      );
      assert.ok(names.includes("greet:project") && names.includes("fanout:built-in"), names.join(", "));
      const ran = await continuumAsync(env, ["workflow", "run", "greet", '{"names":["ann","bo"]}', "--json"]);
      assert.equal(ran.code, 0, ran.stderr + ran.stdout);
      const record = JSON.parse(ran.stdout) as RunRecord;
      assert.deepEqual(record.result, ["did hello ann", "did hello bo"]);
      const broken = await continuumAsync(env, ["workflow", "run", "broken"]);
      assert.equal(broken.code, 1);
      assert.match(broken.stdout, /Error: on purpose/, broken.stderr);
      const unknown = await continuumAsync(env, ["workflow", "run", "nope"]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown workflow "nope"/);
      const status = cli(env, ["workflow", "status", record.id]);
      assert.equal(status.status, 0);
      assert.match(status.stdout, /· done/);
      assert.equal(cli(env, ["workflow", "status", "wf_nope"]).status, 1);
    },
  );
});

test('isolation: "worktree" in real OpenCode: the agent\'s write lands in a worktree, the run gets its diff, the project is untouched', {
  timeout: 240000,
}, async () => {
  let projectDir = "";
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "wf",
        match: isWorkflowRequest,
        replies: (request): ScriptedReply =>
          request.body.messages.at(-1)?.role === "tool"
            ? { text: "wrote it" }
            : {
                toolCalls: [
                  { name: "write", args: { filePath: join(projectDir, "made.txt"), content: "made in isolation\n" } },
                ],
              },
      },
    ],
    main: () => ({ text: "main" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { gate: false } } },
      install: false,
    },
    async ({ env, serve }) => {
      projectDir = env.projectDir;
      writeWorkflow(
        env,
        "iso",
        `export const meta = { name: "iso", description: "isolated write" };\nexport default async function () { return agent("WF iso write", { isolation: "worktree" }); }`,
      );
      installPack(env);
      let served = await serve();
      const session = await createSession(served);
      const run = await ended(env, await startWorkflow(served, env, session, "iso"));
      assert.equal(run.status, "done", run.error);
      const result = run.result as { value: string; diff: string; files: string[] };
      assert.equal(result.value, "wrote it");
      assert.deepEqual(result.files, ["made.txt"]);
      assert.match(result.diff, /\+\+\+ b\/made\.txt[\s\S]*\+made in isolation/);
      assert.equal(existsSync(join(env.projectDir, "made.txt")), false, "the project itself was not written");
    },
  );
});
