#!/usr/bin/env node
// `npm run test:upstream [-- <file-substring>[,<substring>…]] [-- --version <v>]`: the end-to-end suite against the newest 1.x
// release of opencode-ai on the registry (OpenCode 2.x drops the v1 plugin API the pack is built on), then a table
// of which features pass. Each e2e file runs through `test/run.mjs e2e` with OPENCODE_VERSION set, which installs
// that release once under test/.tmp/.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

// e2e file → the feature it proves; the first matching rule wins.
const FEATURES = [
  [/^host-contract/, "host contract (every hook called, upstream notice)"],
  [/^(foundation|runtime|harness|chaos|state-files|one-shot|owner-lifetime|read-only)\b/, "foundation and runtime"],
  [/^(install|cli)\b/, "install, doctor and CLI"],
  [/^(memory|history-)/, "memory"],
  [/^checkpoint/, "checkpoints and context rebuild"],
  [/^tasks/, "task tree"],
  [/^goal/, "goal judge"],
  [/^max/, "Max Mode"],
  [/^dream/, "dream"],
  [/^distill/, "distill"],
  [/^compose/, "compose"],
  [/^workflow/, "workflow scripts"],
  [/^(sandbox|git-guard)/, "sandbox and git guard"],
];

function featureOf(file) {
  return FEATURES.find(([pattern]) => pattern.test(file))?.[1] ?? `other (${file})`;
}

/** The highest stable 1.x version the registry lists (npm's own client answers). */
function newestOneX() {
  const view = spawnSync("npm", ["view", "opencode-ai", "versions", "--json"], { encoding: "utf8" });
  if (view.status !== 0) throw new Error(`npm view opencode-ai versions failed: ${view.stderr.trim()}`);
  const versions = JSON.parse(view.stdout);
  const stable = (Array.isArray(versions) ? versions : [versions]).filter((v) => /^1\.\d+\.\d+$/.test(v));
  if (!stable.length) throw new Error("the registry lists no stable 1.x release of opencode-ai");
  const key = (v) => v.split(".").map(Number);
  return stable.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  })[stable.length - 1];
}

function parseArgs(argv) {
  const args = { filter: undefined, version: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--version") args.version = argv[++i];
    else args.filter = argv[i];
  }
  return args;
}

/** Runs one e2e file as its own `test/run.mjs e2e` process; resolves with its outcome and time. */
function runFile(file, env, logDir) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(root, "test", "run.mjs"), "e2e", `test/e2e/${file}`], {
      cwd: root,
      env,
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => {
      writeFileSync(join(logDir, `${file}.log`), output);
      const count = (label) => Number(new RegExp(`ℹ ${label} (\\d+)`).exec(output)?.[1] ?? 0);
      resolve({
        file,
        ok: code === 0,
        pass: count("pass"),
        fail: count("fail"),
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}

async function runAll(files, env, logDir) {
  const results = [];
  const queue = [...files];
  const workers = Math.max(1, Math.min(2, cpus().length));
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const result = await runFile(file, env, logDir);
        console.log(`${result.ok ? "pass" : "FAIL"}  ${file}  (${result.seconds.toFixed(1)} s)`);
        results.push(result);
      }
    }),
  );
  return results;
}

function printTable(version, results) {
  const byFeature = new Map();
  for (const r of results) {
    const feature = featureOf(r.file);
    byFeature.set(feature, [...(byFeature.get(feature) ?? []), r]);
  }
  const rows = [...byFeature].map(([feature, rs]) => [
    feature,
    rs.every((r) => r.ok) ? "pass" : "FAIL",
    `${rs.reduce((n, r) => n + r.pass, 0)}/${rs.reduce((n, r) => n + r.pass + r.fail, 0)}`,
    rs.map((r) => r.file.replace(/\.test\.ts$/, "") + (r.ok ? "" : " (failed)")).join(", "),
  ]);
  const header = ["feature", "result", "tests", "e2e files"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(`\nopencode-ai ${version}: the e2e suite by feature`);
  console.log(line(header));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(row));
}

const args = parseArgs(process.argv.slice(2));
const version = args.version ?? newestOneX();
const env = { ...process.env, OPENCODE_VERSION: version };
delete env.OPENCODE_BIN;
console.log(`newest 1.x release of opencode-ai on the registry: ${version}${args.version ? " (given)" : ""}`);
// Installs the release once (run.mjs does it at start; no file matches, so nothing runs yet).
if (
  spawnSync(process.execPath, [join(root, "test", "run.mjs"), "e2e", "(no such e2e file)"], { stdio: "inherit", env })
    .status
) {
  console.error(`could not prepare opencode-ai ${version}`);
  process.exit(2);
}
const files = readdirSync(join(root, "test", "e2e"))
  .filter((f) => f.endsWith(".test.ts") && (!args.filter || args.filter.split(",").some((part) => f.includes(part))))
  .sort();
const logDir = join(root, "test", ".tmp", `upstream-${version}`);
mkdirSync(logDir, { recursive: true });
const started = Date.now();
const results = await runAll(files, env, logDir);
printTable(version, results);
console.log(`\n${files.length} file(s) in ${((Date.now() - started) / 1000).toFixed(0)} s; logs in ${logDir}`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
