// Workflow benchmark (run by `npm run bench`, or alone: `npx tsx test/bench/run.ts workflow`). Measures on this
// machine: sandbox start-up (a QuickJS runtime, the prelude, a trivial script run to its end), the engine's own
// time per agent() call (a fake agent that answers at once, so nearly all of the time is the engine's: bridge,
// journal append, run record), and 100 parallel agent() calls through the real helper runner under a concurrency
// of 4, on the fake host whose "model" answers each call after 40 ms (≈ 25 rounds expected).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { WorkflowEngine, type AgentPort } from "../../plugins/workflow/engine.ts";
import { RunStore } from "../../plugins/workflow/journal.ts";
import { createLoader } from "../../plugins/workflow/loader.ts";
import { loadQuickJS, Sandbox } from "../../plugins/workflow/sandbox.ts";
import { bootFakeHost, type FakeHost } from "../harness/fake-host.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const LIMITS = {
  memoryMiB: 64,
  maxStackKiB: 1024,
  sliceMs: 1000,
  activeMs: 30_000,
  deadlineMs: 3_600_000,
  agentTimeoutMs: 60_000,
};
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const load = () => `load ${loadavg()[0]!.toFixed(1)}`;

async function sandboxStart(): Promise<BenchRow[]> {
  const coldStarted = performance.now();
  await loadQuickJS();
  const cold = performance.now() - coldStarted;
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    const sandbox = await Sandbox.create({
      memoryMiB: 64,
      maxStackKiB: 1024,
      sliceMs: 1000,
      budget: { activeMs: 10_000, usedMs: 0, deadlineAt: Date.now() + 60_000 },
    });
    const outcome = await sandbox.run(
      `export const meta = { name: "b", description: "b" };\nexport default async function () { return 1; }`,
      "b.js",
      {},
      null,
      1,
    );
    sandbox.dispose();
    if (!outcome.ok) throw new Error(outcome.error);
    if (i >= 10) times.push(performance.now() - started);
  }
  const sorted = times.sort((a, b) => a - b);
  return [
    {
      measure: "sandbox start-up to a finished trivial script (runtime, prelude, module, run)",
      target: "≤ 50 ms",
      result: `p50 ${pct(sorted, 0.5).toFixed(2)} ms, p99 ${pct(sorted, 0.99).toFixed(2)} ms (${load()})`,
      ok: pct(sorted, 0.5) <= 50,
    },
    {
      measure: "first sandbox in a process (compiles the WebAssembly module once)",
      target: "reported",
      result: `${cold.toFixed(1)} ms`,
      ok: true,
    },
  ];
}

function engineFixture(port: AgentPort) {
  const root = mkdtempSync(join(tmpdir(), "wf-bench-"));
  const project = join(root, "project");
  const workflows = join(project, ".opencode", "workflows");
  mkdirSync(workflows, { recursive: true });
  const engine = new WorkflowEngine({
    loader: createLoader(project, [{ origin: "project", dir: workflows }]),
    store: new RunStore(join(root, "runs")),
    projectDir: project,
    agents: port,
    limits: LIMITS,
  });
  return { root, project, workflows, engine };
}

async function perAgentOverhead(): Promise<BenchRow> {
  const f = engineFixture({ run: async (call) => ({ ok: true, value: call.prompt.length, tokens: 1 }) });
  try {
    const calls = 300;
    writeFileSync(
      join(f.workflows, "seq.js"),
      `export const meta = { name: "seq", description: "b" };\nexport default async function (args) { let sum = 0; for (let i = 0; i < args.n; i++) sum += await agent("step " + i); return sum; }`,
    );
    writeFileSync(
      join(f.workflows, "empty.js"),
      `export const meta = { name: "empty", description: "b" };\nexport default async function (args) { return 0; }`,
    );
    const timed = async (target: string, n: number) => {
      const started = performance.now();
      const record = await f.engine.start({ target, args: { n } }).done;
      if (record.status !== "done") throw new Error(record.error);
      return performance.now() - started;
    };
    await timed("seq", 20);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push(((await timed("seq", calls)) - (await timed("empty", 0))) / calls);
    const median = samples.sort((a, b) => a - b)[2]!;
    return {
      measure: `engine time per agent() call (${calls} sequential calls, journal and run record written each time)`,
      target: "≤ 5 ms",
      result: `${median.toFixed(3)} ms (median of 5; ${load()})`,
      ok: median <= 5,
    };
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
}

const ANSWER_MS = 40;

/** A child session's "model": after ANSWER_MS, one finished call with a text part, then idle. */
async function answerLater(host: FakeHost, sessionId: string) {
  if (!host.parents.has(sessionId)) return;
  await new Promise((r) => setTimeout(r, ANSWER_MS));
  await host.finishCall(sessionId, { input: 100, output: 5 });
  host.messages.get(sessionId)!.at(-1)!.parts.push({ type: "text", text: "ok" });
  await host.idle(sessionId);
}

async function hundredUnderFour(): Promise<BenchRow> {
  const host = await bootFakeHost({ onPrompt: answerLater, continuum: { agents: { maxConcurrent: 4 } } });
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "hundred.js"),
      `export const meta = { name: "hundred", description: "b" };\nexport default async function () { const r = await parallel(Array.from({ length: 100 }, (_, i) => () => agent("item " + i))); return r.filter((x) => x === "ok").length; }`,
    );
    const parent = await host.createSession();
    const started = performance.now();
    const output = await host.callTool("workflow", { action: "run", name: "hundred" }, parent);
    const elapsed = performance.now() - started;
    if (!/Result:\n100$/m.test(output)) throw new Error(`the run did not finish with 100 answers:\n${output}`);
    const rounds = elapsed / ANSWER_MS;
    return {
      measure: `100 parallel agent() calls, concurrency 4, each answered after ${ANSWER_MS} ms (fake host, real runner and engine)`,
      target: "≈ 25 rounds",
      result: `${(elapsed / 1000).toFixed(2)} s = ${rounds.toFixed(1)} rounds (${load()})`,
      ok: rounds >= 25 && rounds <= 32,
    };
  } finally {
    clearInterval(keepAlive);
    await host.dispose();
  }
}

export async function run(): Promise<BenchRow[]> {
  return [...(await sandboxStart()), await perAgentOverhead(), await hundredUnderFour()];
}
