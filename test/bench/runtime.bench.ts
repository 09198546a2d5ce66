// Runtime-core benchmark (run by `npm run bench`, or alone: `npx tsx test/bench/runtime.bench.ts`). Measures on this
// machine: what the helper runner adds to a run beyond the host's own time (a fake host whose "model" answers at
// once, so nearly all of the time is the pack's), and the ledger's per-feature stats over 100,000 rows.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { openLedger } from "../../plugins/core/ledger.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { bootFakeHost, type FakeHost } from "../harness/fake-host.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const describe = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    text: `p50 ${pct(sorted, 0.5).toFixed(2)} ms, p99 ${pct(sorted, 0.99).toFixed(2)} ms (load ${loadavg()[0]!.toFixed(1)})`,
  };
};

/** The child answers through its result tool in its first call; OpenCode's next call is stopped by the pack. */
async function answerAtOnce(host: FakeHost, sessionId: string) {
  await host.callTool("bench_result", { n: 1 }, sessionId);
  await host.finishCall(sessionId, { input: 100, output: 5 }, { finish: "tool-calls" });
  await host.hooks["experimental.chat.messages.transform"]!({}, {
    messages: [...(host.messages.get(sessionId) ?? [])],
  } as never);
}

async function runnerOverhead(): Promise<BenchRow> {
  const host = await bootFakeHost({ onPrompt: (h, id) => (h.parents.has(id) ? answerAtOnce(h, id) : undefined) });
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    const channel = host.context.helpers.resultChannel("bench_result", {
      description: "bench",
      args: { n: z.number() },
      reserved: "bench only",
      accept: (args) => ({ ok: true, value: args.n, reply: "ok" }),
    });
    (host.hooks.tool as Record<string, unknown>).bench_result = channel.tool;
    const parent = await host.createSession();
    const times: number[] = [];
    for (let i = 0; i < 230; i++) {
      const started = performance.now();
      const outcome = await host.context.helpers.run({
        feature: "bench",
        agent: "bench",
        parentSessionId: parent,
        title: "b",
        prompt: "go",
        channel,
        context: undefined,
        timeoutMs: 10000,
        retries: 0,
      });
      if (!outcome.ok) throw new Error(`bench run failed: ${outcome.message}`);
      if (i >= 30) times.push(performance.now() - started);
    }
    const t = describe(times);
    return {
      measure: "helper runner: one run end to end, host answering at once (so nearly all of it is the pack's)",
      target: "≤ 5 ms",
      result: t.text,
      ok: t.p99 <= 5,
    };
  } finally {
    clearInterval(keepAlive);
    await host.dispose();
  }
}

async function statsOver100k(): Promise<BenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), "continuum-ledger-bench-"));
  const dataDir = join(root, "data", "opencode-continuum");
  mkdirSync(dataDir, { recursive: true });
  const db = await openDatabase(join(dataDir, "continuum.db"));
  const ledger = openLedger(db);
  const tokens = { input: 1000, output: 50, reasoning: 0, cacheRead: 200, cacheWrite: 0 };
  db.transaction(() => {
    for (let i = 0; i < 50_000; i++) {
      ledger.recordCall({
        messageId: `m${i}`,
        projectId: `p${i % 5}`,
        sessionId: `s${i % 500}`,
        agent: "build",
        at: i,
        tokens,
        cost: 0.001,
      });
      const run = {
        runId: `r${i}`,
        projectId: `p${i % 5}`,
        parentSessionId: `s${i % 500}`,
        childSessionId: `c${i}`,
        feature: ["checkpoint", "goal", "max", "dream"][i % 4]!,
        agent: "a",
        startedAt: i,
      };
      ledger.startRun(run);
      ledger.endRun(run.runId, {
        outcome: "ok",
        usage: { tokens, cost: 0.002, durationMs: 1000, requests: 1, estimated: false },
      });
    }
  });
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    ledger.stats({ projectId: "p1" });
    ledger.stats();
    if (i >= 10) times.push((performance.now() - started) / 2);
  }
  db.close();
  const t = describe(times);
  // The whole command, as a person runs it: Node start, tsx, the CLI, the query, the JSON.
  const cli = join(fileURLToPath(new URL("../..", import.meta.url)), "plugins", "cli", "continuum.mjs");
  const env = { ...process.env, XDG_DATA_HOME: join(root, "data"), XDG_CONFIG_HOME: join(root, "config") };
  const wall: number[] = [];
  for (let i = 0; i < 8; i++) {
    const started = performance.now();
    execFileSync(process.execPath, [cli, "stats", "--all", "--json"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (i >= 2) wall.push(performance.now() - started);
  }
  rmSync(root, { recursive: true, force: true });
  const w = describe(wall);
  return [
    {
      measure: "ledger stats over 100,000 rows (50,000 runs + 50,000 worker calls), per query",
      target: "≤ 200 ms",
      result: t.text,
      ok: t.p99 <= 200,
    },
    {
      measure: "`continuum stats --all --json` over those rows, the whole process (Node + tsx start-up included)",
      target: "-",
      result: w.text,
      ok: true,
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  return [await runnerOverhead(), ...(await statsOver100k())];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await run())
    console.log(`${row.ok ? "ok  " : "MISS"} ${row.measure}: ${row.result} (target ${row.target})`);
}
