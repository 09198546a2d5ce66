#!/usr/bin/env node
// The one test command (`npm test`): typecheck, Node unit tests, the storage suite inside OpenCode's own Bun,
// then the end-to-end suite against the real pinned opencode binary. `node test/run.mjs <lint|unit|bun|e2e|all>`.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
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

function run(label, command, args, env = {}) {
  console.log(`\n=== ${label}: ${command} ${args.slice(0, 6).join(" ")}${args.length > 6 ? " …" : ""}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  console.log(
    `=== ${label}: ${result.status === 0 ? "ok" : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return result.status === 0;
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
const steps = {
  // Formatting (biome, 120 columns) and lint (oxlint, correctness rules and unused code) of everything: ~1 s.
  lint: () =>
    run("format", bin("biome"), ["format", "--no-errors-on-unmatched"]) &&
    run("lint", bin("oxlint"), ["-c", ".oxlintrc.json", "--deny-warnings", "plugins", "test"]),
  typecheck: () =>
    run("typecheck", process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]),
  unit: () => {
    const list = files("test/unit", ".test.ts");
    return (
      list.length === 0 ||
      run("unit", process.execPath, ["--import", "tsx", "--test", ...forceExit, "--test-reporter=spec", ...list])
    );
  },
  bun: () => {
    const list = files("test/bun", ".bun.test.ts");
    return (
      list.length === 0 ||
      run("bun (inside opencode's embedded Bun)", opencode, ["test", ...list.map((f) => "./" + f)], { BUN_BE_BUN: "1" })
    );
  },
  e2e: () => {
    const list = files("test/e2e", ".test.ts");
    const concurrency = String(Math.max(1, Math.min(3, cpus().length)));
    return (
      list.length === 0 ||
      run("e2e (real opencode)", process.execPath, [
        "--import",
        "tsx",
        "--test",
        ...forceExit,
        `--test-concurrency=${concurrency}`,
        "--test-reporter=spec",
        ...list,
      ])
    );
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
const results = plan.map((step) => [step, steps[step]()]);
const failed = results.filter(([, ok]) => !ok).map(([step]) => step);
console.log(
  `\nsteps: ${results.length - failed.length} ok, ${failed.length} failed (${plan.join(", ")})${failed.length ? ` failed: ${failed.join(", ")}` : ""}`,
);
process.exit(failed.length ? 1 : 0);
