// Max Mode benchmark in real OpenCode with the scripted model (run by `npm run bench`, or alone:
// `npx tsx test/bench/max.bench.ts`). Measures: the wall time of five candidates in parallel against one
// candidate alone (the same candidates run one at a time, agents.maxConcurrent 1), the whole Max phase with the
// judge, the token overhead of a judged turn in units of one candidate, and what the consensus path costs.
// Figures come from the ledger (each helper run's start, end and tokens), so they are what `continuum stats` shows.
import { join } from "node:path";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { openLedger, type RunRow } from "../../plugins/core/ledger.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { createIsolatedEnv, type IsolatedEnv } from "../harness/env.ts";
import { installPack } from "../harness/install.ts";
import { opencodeServe, type Served } from "../harness/opencode.ts";
import { startScriptedModel } from "../harness/scripted-model.ts";
import { candidateLane, maxJudgeLane, plan } from "../e2e/max-support.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const REPEATS = 3;
const TASK = "make the parser refuse empty input";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Scenario {
  max: Record<string, unknown>;
  /** undefined: the default (agents.maxConcurrent 6 ≥ max.candidates + 1), as a user gets it. */
  maxConcurrent?: number;
  /** Every candidate proposes the same plan (the scouts agree). */
  agreeing: boolean;
  /** How long the scripted model takes to answer a candidate (a real model's generation time). */
  latencyMs: number;
  /** Candidates read a file before they plan (two model calls each), as their prompt asks. */
  readFirst?: boolean;
}

interface TurnMeasure {
  /** From the /max command to the main agent's request (every candidate and the judge). */
  maxPhaseMs: number;
  runs: RunRow[];
}

async function measure(scenario: Scenario, repeats: number): Promise<TurnMeasure[]> {
  const model = await startScriptedModel({
    lanes: [
      candidateLane((i) => (scenario.agreeing ? plan(1, "SHARED") : plan(i)), {
        delayMs: scenario.latencyMs,
        readFirst: scenario.readFirst,
      }),
      maxJudgeLane(3),
    ],
    main: () => ({ text: "Carried out." }),
  });
  const env = createIsolatedEnv({
    baseURL: model.baseURL,
    continuumConfig: {
      checkpoint: { enabled: false },
      tasks: { gate: false },
      memory: { history: false },
      agents: scenario.maxConcurrent ? { maxConcurrent: scenario.maxConcurrent } : {},
      max: scenario.max,
    },
    opencodeConfig: { snapshot: false },
  });
  installPack(env, { scope: "project" });
  let served: Served | undefined;
  try {
    served = await opencodeServe(env);
    const out: TurnMeasure[] = [];
    for (let i = 0; i < repeats + 1; i++) {
      const created = await served.client.session.create({ body: {} });
      const session = created.data!.id;
      const mainBefore = model.lane("main").length;
      const started = performance.now();
      let mainAt = 0;
      const watch = setInterval(() => {
        if (!mainAt && model.lane("main").length > mainBefore) mainAt = performance.now();
      }, 5);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: TASK },
      });
      clearInterval(watch);
      if (ran.error) throw new Error(`/max failed: ${JSON.stringify(ran.error)}`);
      if (!mainAt) throw new Error("the main agent was never asked");
      // The first turn warms OpenCode up (agent and provider loading): not measured.
      if (i > 0) out.push({ maxPhaseMs: mainAt - started, runs: await readRuns(env, session) });
    }
    return out;
  } finally {
    await served?.stop();
    await model.close();
    env.cleanup();
  }
}

async function readRuns(env: IsolatedEnv, session: string): Promise<RunRow[]> {
  const db = await openDatabase(join(env.packDataDir, "continuum.db"), { readonly: true });
  try {
    return openLedger(db)
      .runs({ sessionId: session, limit: 100 })
      .filter((r) => r.feature === "max");
  } finally {
    db.close();
  }
}

const candidates = (runs: RunRow[]) => runs.filter((r) => r.agent === "max-candidate");
const span = (runs: RunRow[]) =>
  Math.max(...runs.map((r) => r.endedAt ?? r.startedAt)) - Math.min(...runs.map((r) => r.startedAt));

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const latencyMs of [0, 1000]) {
    const model = latencyMs ? `model answering in ${latencyMs / 1000} s` : "model answering at once";
    const parallel = await measure({ max: { candidates: 5, consensus: "off" }, agreeing: false, latencyMs }, REPEATS);
    const sequential = await measure(
      { max: { candidates: 5, consensus: "off" }, maxConcurrent: 1, agreeing: false, latencyMs },
      1,
    );
    const single = median(
      sequential.flatMap((t) => candidates(t.runs).map((r) => (r.endedAt ?? r.startedAt) - r.startedAt)),
    );
    const fiveSpan = median(parallel.map((t) => span(candidates(t.runs))));
    const maxPhase = median(parallel.map((t) => t.maxPhaseMs));
    const load = `load ${loadavg()[0]!.toFixed(1)}`;
    rows.push(
      {
        measure: `${model}: wall time of 5 candidates in parallel vs one candidate alone (median of the same runs one at a time)`,
        target: "≤ 1.5×",
        result: `${(fiveSpan / single).toFixed(2)}× (${(fiveSpan / 1000).toFixed(2)} s vs ${(single / 1000).toFixed(2)} s; ${load})`,
        ok: fiveSpan / single <= 1.5,
      },
      {
        measure: `${model}: whole Max phase of a judged 5-candidate plan turn (command to the main agent's request) vs one candidate`,
        target: "(reported)",
        result: `${(maxPhase / single).toFixed(2)}× (${(maxPhase / 1000).toFixed(2)} s)`,
        ok: true,
      },
    );
    if (latencyMs) continue;
    const consensus = await measure({ max: { candidates: 5, scouts: 2 }, agreeing: true, latencyMs }, REPEATS);
    const total = (t: TurnMeasure) => t.runs.reduce((s, r) => s + r.tokens, 0);
    const overhead = parallel.map((t) => {
      const cands = candidates(t.runs);
      return total(t) / (cands.reduce((s, r) => s + r.tokens, 0) / cands.length);
    });
    const shape = consensus.map((t) => ({
      cands: candidates(t.runs).length,
      judges: t.runs.filter((r) => r.agent === "max-judge").length,
    }));
    const judgedTokens = median(parallel.map(total));
    const reading = await measure(
      { max: { candidates: 5, consensus: "off" }, agreeing: false, latencyMs, readFirst: true },
      REPEATS,
    );
    const readingOverhead = reading.map((t) => {
      const cands = candidates(t.runs);
      return total(t) / (cands.reduce((s, r) => s + r.tokens, 0) / cands.length);
    });
    const consensusTokens = median(consensus.map(total));
    rows.push(
      {
        measure: "tokens of a judged 5-candidate turn (candidates + judge) in units of one candidate",
        target: "≤ 6 (N+1)",
        result: `${median(overhead).toFixed(2)}× (${judgedTokens.toLocaleString("en-US")} tokens)`,
        ok: Math.max(...overhead) <= 6,
      },
      {
        measure:
          "the same with candidates that read one file before planning (two model calls each, as their prompt asks)",
        target: "≤ 6 (N+1)",
        result: `${median(readingOverhead).toFixed(2)}× (${median(reading.map(total)).toLocaleString("en-US")} tokens)`,
        ok: Math.max(...readingOverhead) <= 6,
      },
      {
        measure: "consensus path (two agreeing scouts of 5): candidates + judges run, tokens vs the judged turn",
        target: "≤ 2 candidates + 0 judges",
        result: `${shape.map((c) => `${c.cands} + ${c.judges}`).join(", ")}; ${consensusTokens.toLocaleString("en-US")} tokens = ${((consensusTokens / judgedTokens) * 100).toFixed(0)} % of the judged turn`,
        ok: shape.every((c) => c.cands <= 2 && c.judges === 0),
      },
    );
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await run())
    console.log(`${row.ok ? "ok  " : "MISS"} ${row.measure}: ${row.result} (target ${row.target})`);
}
