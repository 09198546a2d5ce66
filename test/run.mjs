#!/usr/bin/env node
// The one test command (`npm test`): typecheck, Node unit tests, the storage suite inside OpenCode's own Bun,
// then the end-to-end suite against the real pinned opencode binary. `node test/run.mjs <lint|unit|bun|e2e|all>`.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";

const root = fileURLToPath(new URL("..", import.meta.url));
const mode = process.argv[2] ?? "all";
const filter = process.argv[3];

function files(dir, suffix) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out = [];
  for (const name of readdirSync(abs, { recursive: true })) {
    const path = join(abs, String(name));
    if (String(name).endsWith(suffix) && statSync(path).isFile()) out.push(relative(root, path));
  }
  return out.filter((f) => !filter || f.includes(filter)).sort();
}

// Seconds each file took in the fresh-clone CI run (2 cores). node --test starts files in the order given, so the
// longest start first and the run does not end on one long file while the other worker idles. A file not listed
// (a new one) counts as a typical e2e file; re-measure with --test-reporter=spec when the list drifts. The unit files
// first are long and hold no wall-clock limits (they share the cores with tsc); the files whose tests time a script
// against workflow.sliceMs (workflow-sandbox-limits, workflow-engine) keep their place near the end.
const MEASURED = {
  "test/unit/session-slots.test.ts": 34,
  "test/unit/checkpoint-lifecycle.test.ts": 13,
  "test/unit/runtime-core.test.ts": 8,
  "test/unit/worktrees.test.ts": 5,
  "test/unit/backups.test.ts": 4,
  "test/unit/cli-storage.test.ts": 4,
  "test/e2e/cli.test.ts": 133,
  // Files added after that run: their time alone on a quiet machine (the package test mostly waits on the registry).
  "test/e2e/package.test.ts": 100,
  "test/e2e/subagent-host.test.ts": 45,
  "test/e2e/host-contract.test.ts": 47,
  "test/e2e/dream-learn.test.ts": 35,
  "test/unit/docs.test.ts": 12,
  "test/e2e/install.test.ts": 107,
  "test/e2e/compose-assets.test.ts": 102,
  "test/e2e/foundation.test.ts": 84,
  "test/e2e/workflow.test.ts": 76,
  "test/e2e/compose-workflows.test.ts": 72,
  "test/e2e/dream.test.ts": 68,
  "test/e2e/chaos.test.ts": 64,
  "test/e2e/memory.test.ts": 64,
  "test/e2e/goal-bounds.test.ts": 59,
  "test/e2e/owner-lifetime.test.ts": 47,
  "test/e2e/max.test.ts": 47,
  "test/e2e/max-patch.test.ts": 46,
  "test/e2e/checkpoint-cost.test.ts": 39,
  "test/e2e/history-backfill.test.ts": 39,
  "test/e2e/goal-headless.test.ts": 37,
  "test/e2e/runtime.test.ts": 32,
  "test/e2e/distill.test.ts": 32,
  "test/e2e/checkpoint-words.test.ts": 32,
  "test/e2e/checkpoint.test.ts": 29,
  "test/e2e/harness.test.ts": 28,
  "test/e2e/checkpoint-faults.test.ts": 27,
  "test/e2e/tasks.test.ts": 25,
  "test/e2e/sandbox.test.ts": 24,
  "test/e2e/compose-verify.test.ts": 24,
  "test/e2e/history-lookups.test.ts": 23,
  "test/e2e/checkpoint-honest.test.ts": 22,
  "test/e2e/state-files.test.ts": 19,
  "test/e2e/git-guard.test.ts": 18,
  "test/e2e/goal-input.test.ts": 18,
  "test/e2e/one-shot.test.ts": 17,
  "test/e2e/goal.test.ts": 16,
  "test/e2e/workflow-confinement.test.ts": 16,
  "test/e2e/goal-tasks.test.ts": 12,
  "test/e2e/read-only.test.ts": 8,
};
const slowFirst = (list, unknown) =>
  list
    .map((file, index) => ({ file, index, seconds: MEASURED[file] ?? unknown }))
    .sort((a, b) => b.seconds - a.seconds || a.index - b.index)
    .map((entry) => entry.file);

/** Runs one step in the foreground; asynchronous, so a step running in the background is timed right. */
async function run(label, command, args, env = {}) {
  console.log(`\n=== ${label}: ${command} ${args.slice(0, 6).join(" ")}${args.length > 6 ? " …" : ""}`);
  const started = Date.now();
  const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  const status = await new Promise((resolve) => {
    child.on("error", (error) => resolve(error.message));
    child.on("exit", (code, signal) => resolve(code ?? signal));
  });
  console.log(
    `=== ${label}: ${status === 0 ? "ok" : `FAILED (exit ${status})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return status === 0;
}

/**
 * Starts a step in the background, its output kept in a file and printed (with its verdict and time) when the
 * returned function is awaited: tsc is one busy thread, the unit tests' processes use the other core.
 */
function runInBackground(label, command, args) {
  const dir = mkdtempSync(join(tmpdir(), "continuum-step-"));
  const logFile = join(dir, "output.txt");
  const fd = openSync(logFile, "w");
  const started = Date.now();
  const child = spawn(command, args, { cwd: root, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise((resolve) => {
    child.on("error", (error) => resolve(error.message));
    child.on("exit", (code, signal) => resolve(code ?? signal));
  }).then((status) => ({ status, seconds: (Date.now() - started) / 1000 }));
  return async () => {
    const { status, seconds } = await exited;
    console.log(`\n=== ${label}: ${command} ${args.slice(0, 6).join(" ")} (ran alongside the step before)`);
    process.stdout.write(readFileSync(logFile, "utf8"));
    console.log(`=== ${label}: ${status === 0 ? "ok" : `FAILED (exit ${status})`} in ${seconds.toFixed(1)} s`);
    rmSync(dir, { recursive: true, force: true });
    return status === 0;
  };
}

const PINNED = "1.18.33";
const opencode = resolveOpencode();

/** OPENCODE_VERSION=<v> runs the suites against another OpenCode release, installed once under test/.tmp. */
function resolveOpencode() {
  if (process.env.OPENCODE_BIN) return process.env.OPENCODE_BIN;
  const version = process.env.OPENCODE_VERSION;
  if (!version || version === PINNED) return join(root, "node_modules", ".bin", "opencode");
  const prefix = join(root, "test", ".tmp", `opencode-${version}`);
  const platformBin = join(
    prefix,
    "node_modules",
    `opencode-${process.platform === "darwin" ? "darwin" : "linux"}-${process.arch}`,
    "bin",
    "opencode",
  );
  if (!existsSync(platformBin)) {
    console.log(`installing opencode-ai@${version} into ${prefix}`);
    const installed = spawnSync(
      "npm",
      ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `opencode-ai@${version}`],
      { stdio: "inherit" },
    );
    if (installed.status !== 0 || !existsSync(platformBin)) {
      console.error(`could not install opencode-ai@${version}`);
      process.exit(2);
    }
  }
  process.env.OPENCODE_BIN = platformBin;
  console.log(`testing against opencode ${version}: ${platformBin}`);
  return platformBin;
}
// A test file whose setup failed before its try/finally can leave a server open; the file must still end (and
// fail) instead of hanging the whole run. Node 20.14+ knows the flag.
const [nodeMajor, nodeMinor] = process.versions.node.split(".").map(Number);
const forceExit = nodeMajor > 20 || (nodeMajor === 20 && nodeMinor >= 14) ? ["--test-force-exit"] : [];
const bin = (name) => join(root, "node_modules", ".bin", name);
/** Node's test runner over TypeScript files (tsx), `concurrency` files at a time, in the order given. */
const nodeTestArgs = (concurrency, list) => [
  "--import",
  "tsx",
  "--test",
  ...forceExit,
  `--test-concurrency=${concurrency}`,
  "--test-reporter=spec",
  ...list,
];
const steps = {
  // Formatting (biome, 120 columns) and lint (oxlint, correctness rules and unused code) of everything: ~1 s.
  lint: async () =>
    (await run("format", bin("biome"), ["format", "--no-errors-on-unmatched"])) &&
    run("lint", bin("oxlint"), ["-c", ".oxlintrc.json", "--deny-warnings", "plugins", "test"]),
  typecheck: () =>
    run("typecheck", process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]),
  typecheckInBackground: () =>
    runInBackground("typecheck", process.execPath, [
      join(root, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      "tsconfig.json",
    ]),
  unit: () => {
    // Most unit files are short and the cost is each file's own Node + tsx start: two at a time on two cores
    // (node's default is one fewer than the cores).
    const list = slowFirst(files("test/unit", ".test.ts"), 0);
    const concurrency = String(Math.max(2, cpus().length));
    return list.length === 0 || run("unit", process.execPath, nodeTestArgs(concurrency, list));
  },
  bun: () => {
    const list = files("test/bun", ".bun.test.ts");
    return (
      list.length === 0 ||
      run("bun (inside opencode's embedded Bun)", opencode, ["test", ...list.map((f) => "./" + f)], { BUN_BE_BUN: "1" })
    );
  },
  e2e: () => {
    const list = slowFirst(files("test/e2e", ".test.ts"), 60);
    // E2E_CONCURRENCY=<n> tries another number of files at once (each file runs its own OpenCode processes).
    const concurrency = process.env.E2E_CONCURRENCY || String(Math.max(1, Math.min(3, cpus().length)));
    return list.length === 0 || run("e2e (real opencode)", process.execPath, nodeTestArgs(concurrency, list));
  },
};

const plan = {
  lint: ["lint"],
  unit: ["typecheck", "unit"],
  bun: ["bun"],
  e2e: ["e2e"],
  all: ["lint", "typecheck", "unit", "bun", "e2e"],
}[mode];
if (!plan) {
  console.error(`unknown mode ${mode}; use lint, unit, bun, e2e or all`);
  process.exit(2);
}
// The typecheck overlaps the unit tests when both run (reported right after them); its verdict counts the same.
const overlap = plan.includes("typecheck") && plan.includes("unit");
const results = [];
let typecheck;
for (const step of plan) {
  if (step === "typecheck" && overlap) typecheck = steps.typecheckInBackground();
  else results.push([step, await steps[step]()]);
  if (step === "unit" && typecheck) results.push(["typecheck", await typecheck()]);
}
const failed = results.filter(([, ok]) => !ok).map(([step]) => step);
console.log(
  `\nsteps: ${results.length - failed.length} ok, ${failed.length} failed (${plan.join(", ")})${failed.length ? ` failed: ${failed.join(", ")}` : ""}`,
);
process.exit(failed.length ? 1 : 0);
