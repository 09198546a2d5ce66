// CLI start-up benchmark (`npm run bench -- cli-startup`, or alone: `npx tsx test/bench/cli-startup.bench.ts`).
// Builds the compiled CLI (scripts/build-cli.mjs) into test/.tmp, then runs whole processes, interleaved round by
// round so every command meets the same machine load: `node -e 0` (Node's own start, the floor), the compiled
// `continuum --version`, `continuum stats --json` against an empty data dir and against a ledger of 10,000 calls, and
// the checkout launcher (tsx) for the record. The project is a git repository, as a user's usually is.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openLedger } from "../../plugins/core/ledger.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 40);
/** The tsx launcher is measured for the record only, in fewer rounds: each takes several times the others. */
const TSX_ROUNDS = Math.min(ROUNDS, 10);
const CALLS = 10_000;
const TARGET_MS = 100;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const summary = (times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
};

interface Setup {
  dir: string;
  cli: string;
  launcher: string;
  project: string;
  emptyEnv: NodeJS.ProcessEnv;
  fullEnv: NodeJS.ProcessEnv;
}

async function setUp(): Promise<Setup> {
  // Under test/.tmp, not the OS temp dir: the compiled CLI finds better-sqlite3 in node_modules above it, as it does
  // in an installed package.
  mkdirSync(join(ROOT, "test", ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, "test", ".tmp", "cli-bench-"));
  const { buildCli } = (await import(pathToFileURL(join(ROOT, "scripts", "build-cli.mjs")).href)) as {
    buildCli(options: { outdir: string }): Promise<{ entry: string }>;
  };
  const { entry } = await buildCli({ outdir: join(dir, "dist", "cli") });
  const project = mkdtempSync(join(tmpdir(), "continuum-cli-bench-project-"));
  const git = (...args: string[]) => execFileSync("git", args, { cwd: project, stdio: "ignore" });
  git("init", "-q");
  writeFileSync(join(project, "README.md"), "bench\n");
  git("add", ".");
  git("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", "init");
  const env = (name: string) => ({
    ...process.env,
    XDG_DATA_HOME: join(dir, name, "data"),
    XDG_CONFIG_HOME: join(dir, name, "config"),
  });
  const fullEnv = env("full");
  await populate(packPaths(join(fullEnv.XDG_DATA_HOME!, "opencode-continuum")).database, project);
  const launcher = join(ROOT, "plugins", "cli", "continuum.mjs");
  return { dir, cli: entry, launcher, project, emptyEnv: env("empty"), fullEnv };
}

/** A ledger of CALLS worker calls and a run per ten calls, for the project the CLI will be run in. */
async function populate(database: string, project: string): Promise<void> {
  mkdirSync(join(database, ".."), { recursive: true });
  const projectId = resolveProjectIdentity(project).id;
  const db = await openDatabase(database);
  const ledger = openLedger(db);
  const tokens = { input: 1000, output: 50, reasoning: 0, cacheRead: 200, cacheWrite: 0 };
  db.transaction(() => {
    for (let i = 0; i < CALLS; i++) {
      const sessionId = `ses_${i % 50}`;
      ledger.recordCall({ messageId: `m${i}`, projectId, sessionId, agent: "build", at: i, tokens, cost: 0.001 });
      if (i % 10 !== 0) continue;
      const run = {
        runId: `r${i}`,
        projectId,
        parentSessionId: sessionId,
        childSessionId: `c${i}`,
        feature: ["checkpoint", "goal", "max", "dream"][(i / 10) % 4]!,
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
  db.close();
}

interface Case {
  label: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  rounds: number;
  times: number[];
}

function cases(s: Setup): Case[] {
  const c = (label: string, args: string[], env = s.emptyEnv, rounds = ROUNDS): Case => ({
    label,
    args,
    env,
    rounds,
    times: [],
  });
  return [
    c("node -e 0", ["-e", "0"]),
    c("continuum --version (compiled)", [s.cli, "--version"]),
    c("continuum stats --json, empty data dir (compiled)", [s.cli, "stats", "--json"]),
    c(`continuum stats --json, ${CALLS.toLocaleString("en")} calls (compiled)`, [s.cli, "stats", "--json"], s.fullEnv),
    c("continuum --version (checkout launcher, tsx)", [s.launcher, "--version"], s.emptyEnv, TSX_ROUNDS),
    c(
      `continuum stats --json, ${CALLS.toLocaleString("en")} calls (checkout launcher, tsx)`,
      [s.launcher, "stats", "--json"],
      s.fullEnv,
      TSX_ROUNDS,
    ),
  ];
}

function runOnce(s: Setup, args: string[], env: NodeJS.ProcessEnv): { ms: number; out: string } {
  const started = performance.now();
  const out = execFileSync(process.execPath, args, { cwd: s.project, env, encoding: "utf8", stdio: "pipe" });
  return { ms: performance.now() - started, out };
}

/** Round by round, every case once per round (while it has rounds left), after one unmeasured warm-up round. */
function measure(s: Setup, all: Case[]): void {
  for (const each of all) runOnce(s, each.args, each.env);
  for (let round = 0; round < ROUNDS; round++)
    for (const each of all) if (round < each.rounds) each.times.push(runOnce(s, each.args, each.env).ms);
}

/** The compiled CLI must print what the checkout prints: the same stats document over the same ledger. */
function sameOutput(s: Setup): BenchRow {
  const compiled = runOnce(s, [s.cli, "stats", "--json"], s.fullEnv).out;
  const checkout = runOnce(s, [s.launcher, "stats", "--json"], s.fullEnv).out;
  const same = compiled === checkout;
  const calls = (JSON.parse(compiled) as { worker: { calls: number } }).worker.calls;
  const version =
    runOnce(s, [s.cli, "--version"], s.emptyEnv).out === runOnce(s, [s.launcher, "--version"], s.emptyEnv).out;
  return {
    measure: "compiled and checkout CLI print the same `stats --json` (and `--version`)",
    target: `identical, ${CALLS} calls`,
    result: same && version ? `identical (${calls} calls)` : "**differ**",
    ok: same && version && calls === CALLS,
  };
}

function rows(all: Case[]): BenchRow[] {
  const floor = summary(all[0]!.times);
  const out: BenchRow[] = [];
  for (const each of all) {
    const t = summary(each.times);
    const compiled = each.label.includes("(compiled)");
    const over = each === all[0] ? "" : `, +${(t.p50 - floor.p50).toFixed(0)} ms over node -e 0`;
    out.push({
      measure: `${each.label}, whole process, ${each.times.length} runs`,
      target: compiled ? `p50 ≤ ${TARGET_MS} ms` : "-",
      result: `p50 ${t.p50.toFixed(0)} ms, p99 ${t.p99.toFixed(0)} ms${over}`,
      ok: !compiled || t.p50 <= TARGET_MS,
    });
  }
  return out;
}

export async function run(): Promise<BenchRow[]> {
  const s = await setUp();
  try {
    const all = cases(s);
    const load = loadavg()[0]!;
    measure(s, all);
    const result = rows(all);
    result.push(sameOutput(s));
    const note = `load ${load.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`;
    return result.map((row) => ({ ...row, result: `${row.result} (${note})` }));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
    rmSync(s.project, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await run())
    console.log(`${row.ok ? "ok  " : "MISS"} ${row.measure}: ${row.result} (target ${row.target})`);
}
