// The workflow engine with a fake agent port: the sandbox's limits and determinism, the primitives, the journal and
// resume, nested workflows, the confined file helpers and every bad script the issue lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  WorkflowEngine,
  type AgentCall,
  type AgentAnswer,
  type AgentPort,
  type WorkflowLimits,
} from "../../plugins/workflow/engine.ts";
import { RunStore } from "../../plugins/workflow/journal.ts";
import { createLoader } from "../../plugins/workflow/loader.ts";

const LIMITS: WorkflowLimits = {
  memoryMiB: 32,
  maxStackKiB: 256,
  sliceMs: 1000,
  activeMs: 1500,
  deadlineMs: 60_000,
  agentTimeoutMs: 5000,
};

interface Fixture {
  root: string;
  project: string;
  engine: WorkflowEngine;
  calls: AgentCall[];
  store: RunStore;
  write(name: string, source: string): void;
}

type Answer = (call: AgentCall) => AgentAnswer | Promise<AgentAnswer>;

/** The fake agent answers the text of the prompt (or a schema-shaped object), after a short async hop. */
const echo: Answer = (call) => ({
  ok: true,
  value: call.schema ? { answer: call.prompt } : `text for ${call.prompt}`,
  tokens: 10,
});

function fixture(answer: Answer = echo, limits: Partial<WorkflowLimits> = {}, builtins?: string): Fixture {
  const root = mkdtempSync(join(tmpdir(), "wf-unit-"));
  const project = join(root, "project");
  mkdirSync(join(project, ".opencode", "workflows"), { recursive: true });
  const calls: AgentCall[] = [];
  const port: AgentPort = {
    async run(call) {
      calls.push(call);
      await new Promise((r) => setTimeout(r, 5));
      return answer(call);
    },
  };
  const store = new RunStore(join(root, "runs"));
  const dirs = [
    { origin: "built-in" as const, dir: builtins ?? join(root, "builtins") },
    { origin: "global" as const, dir: join(root, "global") },
    { origin: "project" as const, dir: join(project, ".opencode", "workflows") },
  ];
  const makeEngine = () =>
    new WorkflowEngine({
      loader: createLoader(project, dirs),
      store,
      projectDir: project,
      agents: port,
      limits: { ...LIMITS, ...limits },
    });
  return {
    root,
    project,
    engine: makeEngine(),
    calls,
    store,
    write: (name, source) => writeFileSync(join(project, ".opencode", "workflows", `${name}.js`), source),
  };
}

const script = (body: string, meta = `{ name: "t", description: "test" }`) =>
  `export const meta = ${meta};\nexport default async function (args) {\n${body}\n}\n`;

async function run(f: Fixture, name: string, args?: unknown) {
  const { done } = f.engine.start({ target: name, args });
  return done;
}

test("parallel: three agent() calls with a schema return validated-shape objects and overlap in time", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const f = fixture(async (call) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    return { ok: true, value: { answer: call.prompt }, tokens: 7 };
  });
  f.write(
    "par",
    script(`const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    return parallel(["a", "b", "c"].map((p) => () => agent(p, { schema, label: "ask " + p })));`),
  );
  const record = await run(f, "par");
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, [{ answer: "a" }, { answer: "b" }, { answer: "c" }]);
  assert.equal(maxInFlight, 3);
  assert.equal(record.tokens, 21);
  assert.equal(f.calls[0]!.agent, "general");
  assert.deepEqual(f.calls[0]!.schema, {
    type: "object",
    properties: { answer: { type: "string" } },
    required: ["answer"],
  });
});

test("agent() without a schema returns the text; a failed agent returns null, never throws", async () => {
  const f = fixture((call) => (call.prompt === "bad" ? { ok: false, message: "timeout", tokens: 3 } : echo(call)));
  f.write(
    "t",
    script(`return [await agent("good", { agent: "explore", model: "p/m", label: "L" }), await agent("bad")];`),
  );
  const record = await run(f, "t");
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, ["text for good", null]);
  assert.equal(f.calls[0]!.agent, "explore");
  assert.equal(f.calls[0]!.model, "p/m");
  assert.equal(record.agents.failed, 1);
  assert.ok(record.transcript.some((l) => l.text.includes("failed (timeout)")));
});

test("agent() with wrong arguments returns null with a transcript line and makes no call", async () => {
  const f = fixture();
  f.write(
    "t",
    script(
      `return [await agent(42), await agent("x", { bogus: 1 }), await agent("x", { schema: { type: "nope" } }), await agent("x", { model: "no-slash" })];`,
    ),
  );
  const record = await run(f, "t");
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, [null, null, null, null]);
  assert.equal(f.calls.length, 0);
  const errors = record.transcript
    .filter((l) => l.kind === "error")
    .map((l) => l.text)
    .join("\n");
  assert.match(errors, /prompt must be a non-empty string/);
  assert.match(errors, /unknown option\(s\) bogus/);
  assert.match(errors, /not a valid JSON Schema/);
  assert.match(errors, /provider\/model/);
});

test("dag: four nodes run in dependency order, ready nodes together; bad graphs are refused before anything runs", async () => {
  const order: string[] = [];
  const f = fixture((call) => {
    order.push(call.prompt);
    return { ok: true, value: call.prompt.toUpperCase(), tokens: 1 };
  });
  f.write(
    "d",
    script(`return dag([{ id: "d", deps: ["b", "c"] }, { id: "b", deps: ["a"] }, { id: "c", deps: ["a"] }, { id: "a" }],
    (node, inputs) => agent(node.id + (Object.keys(inputs).length ? ":" + Object.values(inputs).join("+") : "")));`),
  );
  const record = await run(f, "d");
  assert.equal(record.status, "done", record.error);
  assert.equal(order[0], "a");
  assert.deepEqual(order.slice(1, 3).sort(), ["b:A", "c:A"]);
  assert.equal(order[3], "d:B:A+C:A");
  assert.deepEqual(record.result, { a: "A", b: "B:A", c: "C:A", d: "D:B:A+C:A" });

  for (const [nodes, message] of [
    [`[{ id: "a", deps: ["b"] }, { id: "b", deps: ["a"] }]`, /cycle among "a", "b"/],
    [`[{ id: "a" }, { id: "a" }]`, /duplicate node id "a"/],
    [`[{ id: "a", deps: ["zz"] }]`, /unknown node "zz"/],
    [`[{ deps: [] }]`, /needs a non-empty string id/],
  ] as const) {
    const g = fixture();
    g.write("bad", script(`return dag(${nodes}, (n) => agent(n.id));`));
    const bad = await run(g, "bad");
    assert.equal(bad.status, "failed");
    assert.match(bad.error!, message);
    assert.equal(g.calls.length, 0);
  }
});

test("pipeline: each item flows through the stages in order; items run side by side", async () => {
  const f = fixture();
  f.write("p", script(`return pipeline([1, 2], (v, i) => agent("s1 " + v + " " + i), (v) => v.length);`));
  const record = await run(f, "p");
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, ["text for s1 1 0".length, "text for s1 2 1".length]);
});

test("resume after a crash mid-run: finished calls replay from the journal, only the rest call the model, same result", async () => {
  const body = script(`const out = [];
    for (const step of ["one", "two", "three", "four"]) out.push(await agent("step " + step + " " + Math.random().toFixed(6)));
    phase("end"); return out;`);
  // Uninterrupted reference run.
  const reference = fixture();
  reference.write("four", body);
  const whole = await run(reference, "four");
  assert.equal(whole.status, "done", whole.error);
  assert.equal(reference.calls.length, 4);

  // The third call never answers (the process "dies"); the run is cancelled from outside, like a kill.
  let calls = 0;
  // The cancel can land before the call gets here: an already aborted signal fires no "abort" event, and the run
  // would then wait out the engine's 10 s wind-down for a call that never settles.
  const hangsUntilAborted = (call: AgentCall) =>
    new Promise<AgentAnswer>((resolve) => {
      const aborted = () => resolve({ ok: false, message: "aborted", tokens: 0 });
      if (call.signal.aborted) aborted();
      else call.signal.addEventListener("abort", aborted);
    });
  const f = fixture((call) => (++calls >= 3 ? hangsUntilAborted(call) : echo(call)));
  f.write("four", body);
  const { record, done } = f.engine.start({ target: "four", seed: whole.seed });
  while (f.calls.length < 3) await new Promise((r) => setTimeout(r, 5));
  f.engine.cancel(record.id);
  const cancelled = await done;
  assert.equal(cancelled.status, "cancelled");
  assert.equal(f.store.journal(record.id).size, 2);
  // Resume: the journal read back, the run's own seed again (the prompts hold Math.random): 2 replays, 2 new calls.
  const before = f.calls.length;
  const resumed = f.engine.resume(record.id);
  calls = -100;
  const finished = await resumed.done;
  assert.equal(finished.status, "done", finished.error);
  assert.equal(f.calls.length - before, 2);
  assert.equal(finished.agents.replayed, 2);
  assert.equal(finished.agents.started, 2);
  assert.deepEqual(finished.result, whole.result);
});

test("resume of a changed script starts a fresh journal and says so; a finished run is not resumed", async () => {
  const f = fixture();
  f.write("c", script(`return await agent("x");`));
  const first = await run(f, "c");
  assert.throws(() => f.engine.resume(first.id), /already finished/);
  const stored = f.store.load(first.id)!;
  stored.status = "failed";
  f.store.save(stored);
  f.write("c", script(`return await agent("y");`));
  const resumed = f.engine.resume(first.id);
  assert.match(resumed.notice!, /changed since the run started/);
  const record = await resumed.done;
  assert.equal(record.result, "text for y");
});

test("a hand-damaged run record is named as damaged on resume; list skips it; odd ids are just unknown", async () => {
  const f = fixture();
  f.write("j", script(`return 1;`));
  const first = await run(f, "j");
  writeFileSync(join(f.store.dir(first.id), "run.json"), "{ not json");
  assert.throws(() => f.engine.resume(first.id), /the record of run .* is damaged/);
  assert.deepEqual(f.engine.list(), []);
  writeFileSync(join(f.store.dir(first.id), "run.json"), JSON.stringify({ id: 5 }));
  assert.throws(() => f.engine.resume(first.id), /damaged/);
  for (const id of ["", "../../etc", "wf_\u0000"]) assert.throws(() => f.engine.resume(id), /no workflow run|damaged/);
});

test("journal: a torn last line (kill -9 mid-write) is skipped, the next entry starts on its own line", async () => {
  const f = fixture();
  f.write("j", script(`return [await agent("a"), await agent("b")];`));
  const first = await run(f, "j");
  const file = join(f.store.dir(first.id), "journal.jsonl");
  writeFileSync(file, readFileSync(file, "utf8") + '{"key":"tor');
  const journal = f.store.journal(first.id);
  assert.equal(journal.size, 2);
  journal.put({ key: "k", value: 1, at: 0 });
  assert.equal(f.store.journal(first.id).size, 3);
});

test("limits: an endless loop, a memory bomb and deep recursion each end the script with a clear error", async () => {
  const f = fixture(echo, { activeMs: 300 });
  f.write("loop", script(`while (true) {}`));
  f.write("deep", script(`const f = (n) => f(n + 1) + 1; return f(0);`));
  f.write("awaitloop", script(`await agent("x"); for (;;) {}`));
  const loop = await run(f, "loop");
  assert.equal(loop.status, "failed");
  assert.match(loop.error!, /more than 300 ms of active time/);
  // Its own active-time budget: on a loaded machine filling 32 MiB can take longer than the loop's 300 ms.
  const roomy = fixture(echo, { activeMs: 10_000 });
  roomy.write("bomb", script(`const a = []; while (true) a.push(new Array(100000).fill(a.length));`));
  const bomb = await run(roomy, "bomb");
  assert.match(bomb.error!, /ran out of memory \(limit 32 MiB/);
  const deep = await run(f, "deep");
  assert.match(deep.error!, /stack limit/);
  const after = await run(f, "awaitloop");
  assert.match(after.error!, /active time/);
});

test("a stretch of computing without awaiting longer than sliceMs ends the script (OpenCode's thread is not held longer)", async () => {
  const f = fixture(echo, { activeMs: 20_000, sliceMs: 200 });
  f.write(
    "spin",
    script(`await agent("x"); let n = 0; for (let i = 0; i < 1e4; i++) n += i; await agent("y"); for (;;) {}`),
  );
  const started = Date.now();
  const record = await run(f, "spin");
  assert.equal(record.status, "failed");
  assert.match(record.error!, /computed for more than 200 ms without awaiting/);
  assert.ok(Date.now() - started < 5000);
  assert.equal(f.calls.length, 2);
});

test("the wall-clock deadline stops a run waiting on an agent: failed, naming the deadline", async () => {
  const f = fixture(
    (call) =>
      new Promise<AgentAnswer>((resolve) => {
        const aborted = () => resolve({ ok: false, message: "aborted", tokens: 0 });
        if (call.signal.aborted) aborted();
        call.signal.addEventListener("abort", aborted);
      }),
    { deadlineMs: 300 },
  );
  f.write("slow", script(`return agent("forever");`));
  const record = await run(f, "slow");
  assert.equal(record.status, "failed");
  assert.match(record.error!, /wall-clock deadline/);
});

test("active time does not count waits on agents", async () => {
  const f = fixture(
    async (call) => {
      await new Promise((r) => setTimeout(r, 400));
      return echo(call);
    },
    { activeMs: 200 },
  );
  f.write("slow", script(`return [await agent("a"), await agent("b")];`));
  const record = await run(f, "slow");
  assert.equal(record.status, "done", record.error);
});

test("determinism and escape: no Date, seeded Math.random, no process/require/fetch/timers/imports", async () => {
  const f = fixture();
  f.write(
    "env",
    script(`return { date: typeof Date, process: typeof process, require: typeof require, fetch: typeof fetch,
    setTimeout: typeof setTimeout, host: typeof host, globals: Object.getOwnPropertyNames(globalThis).filter((k) => k.startsWith("__") && k !== "__continuumRun"),
    random: [Math.random(), Math.random()] };`),
  );
  const a = await run(f, "env");
  assert.equal(a.status, "done", a.error);
  const result = a.result as Record<string, unknown>;
  assert.deepEqual(
    [result.date, result.process, result.require, result.fetch, result.setTimeout, result.host],
    ["undefined", "undefined", "undefined", "undefined", "undefined", "undefined"],
  );
  assert.deepEqual(result.globals, []);
  f.write("imp", `import fs from "fs";\n` + script(`return 1;`));
  assert.match((await run(f, "imp")).error!, /could not load module 'fs'/);
  f.write("dyn", script(`return await import("fs");`));
  assert.match((await run(f, "dyn")).error!, /could not load module 'fs'/);
  f.write("proc", script(`return process.env;`));
  assert.match((await run(f, "proc")).error!, /ReferenceError: 'process' is not defined/);
});

test("bad scripts: syntax error with line and column, no meta, no default export, a throw, a non-serialisable result", async () => {
  const f = fixture();
  f.write(
    "syntax",
    `export const meta = { name: "s", description: "d" };\nexport default async function () {\n  let x = ;\n}\n`,
  );
  // Refused when loaded, before a run is recorded.
  assert.throws(
    () => f.engine.start({ target: "syntax" }),
    /syntax\.js is not valid JavaScript: SyntaxError: Unexpected token \(at syntax\.js:3:11\)/,
  );
  f.write("nometa", `export default async function () { return 1; }`);
  assert.throws(() => f.engine.start({ target: "nometa" }), /no `export const meta/);
  f.write("nodefault", `export const meta = { name: "n", description: "d" };`);
  assert.throws(() => f.engine.start({ target: "nodefault" }), /no default export/);
  f.write("notfn", `export const meta = { name: "n", description: "d" };\nexport default 42;`);
  assert.match((await run(f, "notfn")).error!, /no default export function/);
  f.write("throws", script(`throw new RangeError("boom");`));
  assert.match((await run(f, "throws")).error!, /RangeError: boom \(at throws\.js:3/);
  f.write("fn", script(`return { a: [1, () => 2] };`));
  assert.match((await run(f, "fn")).error!, /not serialisable: result\.a\[1\] is a function/);
  f.write("cycle", script(`const a = {}; a.self = a; return a;`));
  assert.match((await run(f, "cycle")).error!, /refers back to itself/);
  f.write("never", script(`await new Promise(() => {});`));
  assert.match((await run(f, "never")).error!, /nothing will ever settle/);
  assert.throws(() => f.engine.start({ target: "nope" }), /unknown workflow "nope"; known:/);
  assert.throws(() => f.engine.start({ target: "../x" }), /no workflow file/);
});

test("file helpers: inside the project works; .., absolute paths, any symlink and protected places are refused", async () => {
  const f = fixture();
  writeFileSync(join(f.root, "outside"), "secret");
  symlinkSync("../outside", join(f.project, "link"));
  mkdirSync(join(f.project, "src"));
  writeFileSync(join(f.project, "src", "a.ts"), "A");
  f.write(
    "files",
    script(`writeFile("out/new.txt", "hello"); return { read: readFile("src/a.ts"), exists: exists("src/a.ts"), missing: exists("zz"),
    glob: glob("**/*.{ts,txt}"), back: readFile("out/new.txt") };`),
  );
  const ok = await run(f, "files");
  assert.equal(ok.status, "done", ok.error);
  assert.deepEqual(ok.result, {
    read: "A",
    exists: true,
    missing: false,
    glob: ["out/new.txt", "src/a.ts"],
    back: "hello",
  });
  for (const [body, message] of [
    [`return readFile("link");`, /readFile: link: link is a symlink/],
    [`return readFile("../outside");`, /outside the project/],
    [`return readFile(${JSON.stringify(join(f.root, "outside"))});`, /outside the project/],
    [`return writeFile("link", "x");`, /writeFile: link: link is a symlink/],
    [`return writeFile(".git/config", "x");`, /inside a \.git folder/],
    [`return writeFile(".opencode/plugins/zz.ts", "x");`, /inside \.opencode/],
    [`return writeFile("a/.git/hooks/pre-commit", "x");`, /inside a \.git folder/],
    [`return glob("../*");`, /reaches outside the project/],
  ] as const) {
    f.write("esc", script(body));
    const record = await run(f, "esc");
    assert.equal(record.status, "failed", body);
    assert.match(record.error!, message);
  }
  assert.equal(readFileSync(join(f.root, "outside"), "utf8"), "secret");
});

test("a script logging in a loop keeps a bounded transcript; writeFile stops at the run's byte budget", async () => {
  // 20,000 host calls in one stretch: roomy time limits, so a loaded machine does not turn this into a time test.
  const f = fixture(echo, { sliceMs: 10_000, activeMs: 20_000 });
  f.write("chatty", script(`for (let i = 0; i < 20000; i++) log("line " + i); return 1;`));
  const record = await run(f, "chatty");
  assert.equal(record.status, "done", record.error);
  assert.ok(record.transcript.length <= 500);
  assert.equal(record.transcript.at(-1)!.text, "line 19999");
  const { projectFiles } = await import("../../plugins/workflow/files.ts");
  const files = projectFiles(f.project, 10);
  files.writeFile("a.txt", "12345");
  assert.throws(() => files.writeFile("b.txt", "123456"), /more than 10 in one run is refused/);
});

test("nested workflows: results flow back, journaled under the nest; cycles and depth > 8 are refused", async () => {
  const f = fixture();
  f.write("inner", script(`return "inner:" + (await agent("in " + args.x));`, `{ name: "inner", description: "d" }`));
  f.write(
    "outer",
    script(
      `return [await workflow("inner", { x: 1 }), await workflow("inner", { x: 1 })];`,
      `{ name: "outer", description: "d" }`,
    ),
  );
  const record = await run(f, "outer");
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, ["inner:text for in 1", "inner:text for in 1"]);
  assert.equal(f.calls.length, 2);
  f.write("ping", script(`return workflow("pong");`, `{ name: "ping", description: "d" }`));
  f.write("pong", script(`return workflow("ping");`, `{ name: "pong", description: "d" }`));
  assert.match((await run(f, "ping")).error!, /workflow cycle: ping → pong → ping/);
  f.write(
    "deep",
    script(
      `return args.n > 0 ? workflow("deep" + (args.n % 2), { n: args.n - 1 }) : "bottom";`,
      `{ name: "deep", description: "d" }`,
    ),
  );
  f.write("deep0", script(`return workflow("deep", { n: args.n });`, `{ name: "deep0", description: "d" }`));
  f.write("deep1", script(`return workflow("deep", { n: args.n });`, `{ name: "deep1", description: "d" }`));
  const cyc = await run(f, "deep", { n: 3 });
  assert.match(cyc.error!, /workflow cycle/);
});

test("cancel stops a running script and its agents; the run says cancelled", async () => {
  let aborted = false;
  const f = fixture(
    (call) =>
      new Promise<AgentAnswer>((resolve) => {
        if (call.signal.aborted) {
          aborted = true;
          resolve({ ok: false, message: "aborted", tokens: 0 });
        }
        call.signal.addEventListener("abort", () => {
          aborted = true;
          resolve({ ok: false, message: "aborted", tokens: 0 });
        });
      }),
  );
  f.write("hang", script(`return agent("forever");`));
  const { record, done } = f.engine.start({ target: "hang" });
  while (f.calls.length < 1) await new Promise((r) => setTimeout(r, 5));
  assert.equal(f.engine.cancel(record.id), true);
  const final = await done;
  assert.equal(final.status, "cancelled");
  assert.equal(aborted, true);
});

test("a cancel request left by another process (continuum workflow cancel) stops the run within a second or so", async () => {
  const f = fixture(
    (call) =>
      new Promise<AgentAnswer>((resolve) => {
        const aborted = () => resolve({ ok: false, message: "aborted", tokens: 0 });
        if (call.signal.aborted) aborted();
        call.signal.addEventListener("abort", aborted);
      }),
  );
  f.write("hang", script(`return agent("forever");`));
  const { record, done } = f.engine.start({ target: "hang" });
  while (f.calls.length < 1) await new Promise((r) => setTimeout(r, 5));
  f.store.requestCancel(record.id);
  const final = await done;
  assert.equal(final.status, "cancelled");
  assert.match(final.error!, /cancelled with continuum workflow cancel/);
});

test("sources: project overrides global overrides built-in; list names each with its origin", () => {
  const builtins = mkdtempSync(join(tmpdir(), "wf-builtin-"));
  writeFileSync(
    join(builtins, "same.js"),
    script("return 'builtin';", `{ name: "same", description: "built-in one" }`),
  );
  writeFileSync(join(builtins, "only.js"), script("return 1;", `{ name: "only", description: "only built-in" }`));
  const f = fixture(echo, {}, builtins);
  f.write("same", script("return 'project';", `{ name: "same", description: "project one" }`));
  const list = createLoader(f.project, [
    { origin: "built-in", dir: builtins },
    { origin: "project", dir: join(f.project, ".opencode", "workflows") },
  ]).list();
  assert.deepEqual(list.map((w) => [w.name, w.origin, w.description]).sort(), [
    ["only", "built-in", "only built-in"],
    ["same", "project", "project one"],
  ]);
});

test("built-in fanout: one agent per item with {item} filled in, answers in item order, bad args refused", async () => {
  const f = fixture(echo, {}, join(process.cwd(), "workflows"));
  const record = await run(f, "fanout", { task: "Review {item} now", items: ["a.ts", { path: "b.ts" }] });
  assert.equal(record.status, "done", record.error);
  assert.deepEqual(record.result, {
    results: [
      { item: "a.ts", answer: "text for Review a.ts now" },
      { item: { path: "b.ts" }, answer: 'text for Review {"path":"b.ts"} now' },
    ],
    failed: 0,
  });
  const bad = await run(f, "fanout", { items: [] });
  assert.match(bad.error!, /fanout needs args.task/);
});
