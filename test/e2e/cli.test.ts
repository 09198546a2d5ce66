// The continuum command line as a user meets it: every subcommand through the real launcher with valid, unknown and
// bad options (exit codes and messages), --json shapes, EPIPE, and `memory status` agreeing with what the real
// OpenCode injects for `enabled: false`, a small budget and `location: "repo"`.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest } from "../harness/scripted-model.ts";
import { opencodeBinary, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { withOpencode } from "../harness/fixture.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";

after(killAll);

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");

function cli(env: IsolatedEnv, args: string[], shell?: string) {
  if (shell)
    return spawnSync("bash", ["-c", `node ${LAUNCHER} ${shell}`], {
      cwd: env.projectDir,
      env: env.env,
      encoding: "utf8",
    });
  return spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });
}

test("every subcommand: --help exits 0, an unknown option and a bad value exit 2 with the usage line", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const version = cli(env, ["--version"]);
    assert.equal(version.status, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    const commands = [
      ["install"],
      ["uninstall"],
      ["doctor"],
      ["memory"],
      ["memory", "status"],
      ["memory", "list"],
      ["memory", "search"],
      ["memory", "show"],
      ["memory", "forget"],
      ["memory", "path"],
      ["memory", "reindex"],
      ["history"],
      ["history", "reindex"],
      ["checkpoint"],
      ["checkpoint", "list"],
      ["checkpoint", "show"],
      ["goal"],
      ["goal", "list"],
      ["goal", "show"],
      ["stats"],
      ["agents"],
      ["agents", "list"],
      ["agents", "cancel"],
      ["run"],
      ["schema"],
      ["restore"],
    ];
    for (const command of commands) {
      const help = cli(env, [...command, "--help"]);
      assert.equal(help.status, 0, `${command.join(" ")} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^Usage: continuum ${command.join(" ")}`), command.join(" "));
      // Required options given, so the unknown one is what is wrong.
      const unknown = cli(env, [...command, ...(command[0] === "run" ? ["--goal", "x"] : []), "--bogus"]);
      assert.equal(unknown.status, 2, `${command.join(" ")} --bogus: ${unknown.stdout}${unknown.stderr}`);
      assert.match(unknown.stderr, /unknown option '--bogus'/);
      assert.match(unknown.stderr, new RegExp(`usage: continuum ${command.join(" ")} `));
    }
    const bad: [string[], RegExp][] = [
      [["memory", "search", "x", "--limit", "abc"], /argument 'abc' is invalid\. expected a whole number/],
      [["memory", "search", "x", "--limit", "-5"], /expected 1–100, got -5/],
      [
        ["memory", "search", "x", "--scope", "planet"],
        /argument 'planet' is invalid\. Allowed choices are session, project, global, all/,
      ],
      [["memory", "search"], /missing required argument 'words'/],
      [["memory", "forget"], /missing required argument 'id'/],
      [["checkpoint", "show"], /missing required argument 'session'/],
      [["goal", "show"], /missing required argument 'goal'/],
      [["agents", "cancel"], /missing required argument 'run'/],
      [["agents", "list", "--limit", "0"], /expected 1–10000, got 0/],
      [["stat"], /unknown command 'stat'[\s\S]*Did you mean stats/],
      [["schema", "--write", "--check"], /option '--write' cannot be used with option '--check'/],
      [["run", "--goal", "x", "--timeout-min", "-1"], /expected a positive number/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["memory", "frobnicate"], /unknown command 'frobnicate'/],
      [["uninstall", "--no-doctor"], /unknown option '--no-doctor'/],
      [["install", "--purge-data"], /unknown option '--purge-data'/],
    ];
    for (const [args, message] of bad) {
      const result = cli(env, args);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
      assert.match(result.stderr, /usage: continuum /, args.join(" "));
    }
    assert.equal(cli(env, ["memory"]).status, 2, "a group without its subcommand is a usage error");
  });
});

test("names that do not exist are errors naming them (exit 1); read commands answer in JSON; a closed pipe ends quietly", async () => {
  await withOpencode({ model: false, install: false }, async ({ env }) => {
    const missing: [string[], RegExp][] = [
      [
        ["memory", "list", "--project", "/nonexistent"],
        /continuum memory list: --project \/nonexistent: no such directory/,
      ],
      [["memory", "show", "m-nope0000"], /no memory entry with id "m-nope0000"/],
      [["memory", "forget", "m-nope0000"], /no memory entry with id "m-nope0000"/],
      [["checkpoint", "show", "ses_nope"], /no session "ses_nope" is known to the pack/],
      [["goal", "show", "42"], /no goal #42/],
      [["goal", "show", "ses_nope"], /no goal for session "ses_nope"/],
      [["goal", "list", "--session", "ses_nope"], /no goals for session "ses_nope"/],
      [["stats", "--session", "ses_nope"], /nothing recorded for session "ses_nope"/],
      [["agents", "cancel", "run_nope"], /no running helper "run_nope"/],
      [["run", "--goal", "x", "--dir", "/nonexistent"], /continuum run: --dir \/nonexistent: no such directory/],
      [["doctor", "--project", "/nonexistent"], /--project \/nonexistent: no such directory/],
    ];
    for (const [args, message] of missing) {
      const result = cli(env, args);
      assert.equal(result.status, 1, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const shapes: [string[], string[]][] = [
      [
        ["memory", "status", "--json"],
        [
          "block",
          "budgetTokens",
          "configFiles",
          "enabled",
          "files",
          "indexed",
          "location",
          "problems",
          "rankedFor",
          "reason",
        ],
      ],
      [
        ["memory", "list", "--json"],
        ["duplicates", "entries", "notes"],
      ],
      [
        ["memory", "path", "--json"],
        ["database", "globalFile", "project", "projectDir", "projectFile", "sessionsDir"],
      ],
      [["memory", "show", "--json"], ["files"]],
      [
        ["checkpoint", "list", "--json"],
        ["checkpointsEnabled", "project", "sessions"],
      ],
      [
        ["goal", "list", "--json"],
        ["goalEnabled", "goals", "project"],
      ],
      [
        ["stats", "--json"],
        ["features", "overheadRatio", "subagents", "worker"],
      ],
      [["agents", "--json"], ["runs"]],
    ];
    for (const [args, keys] of shapes) {
      const result = cli(env, args);
      assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
      assert.deepEqual(Object.keys(JSON.parse(result.stdout)).sort(), keys, args.join(" "));
    }
    const search = cli(env, ["memory", "search", "nothing", "--json"]);
    assert.equal(search.status, 1, "no hits: exit 1, like grep");
    assert.deepEqual(JSON.parse(search.stdout).hits, []);
    const piped = cli(env, [], "schema | head -c 10 >/dev/null; echo rc=${PIPESTATUS[0]}");
    assert.match(piped.stdout, /rc=0/);
    assert.doesNotMatch(piped.stderr, /EPIPE|Error/);
  });
});

test("config problems are named by every command and by the doctor; the doctor checks node, ripgrep and opencode's version", async () => {
  await withOpencode(
    {
      model: false,
      install: false,
      env: { continuumConfig: { memroy: {}, checkpoint: { thresholds: [0.9, 0.2, 5], rebuildAt: 2 } } },
    },
    async ({ env }) => {
      const status = cli(env, ["memory", "status"]);
      assert.equal(status.status, 0);
      assert.match(status.stderr, /warning: .*continuum\.jsonc: memroy: unknown key, ignored; did you mean "memory"\?/);
      assert.match(status.stderr, /checkpoint\.rebuildAt: 2 is neither a fraction/);
      const doctor = cli(env, ["doctor", "--project", env.projectDir, "--opencode", "/bin/false", "--json"]);
      assert.equal(doctor.status, 1);
      const checks = Object.fromEntries(
        (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.map(
          (c) => [c.name, c],
        ),
      );
      assert.equal(checks["node"]!.status, "ok");
      assert.equal(checks["ripgrep"]!.status, "ok");
      assert.equal(checks["opencode version"]!.status, "fail");
      assert.equal(checks["configuration"]!.status, "warn");
      assert.match(checks["configuration"]!.detail, /did you mean "memory"/);
      assert.match(checks["installed plugin"]!.detail, /not installed/);
    },
  );
});

const memoryBlockOf = (request: RecordedRequest) => request.system.find((s) => s.startsWith("<continuum-memory>"));

interface Status {
  enabled: boolean;
  block: { text: string; tokens: number; entries: { id: string; text: string }[]; omitted: string[] } | null;
}

/** `continuum memory status --json`, then one real OpenCode turn: what the status promised is what was sent. */
async function statusAgreesWithOpencode(
  config: Record<string, unknown>,
  arrange: (env: IsolatedEnv) => void,
  check: (status: Status, injected: string | undefined) => void,
) {
  await withOpencode({ model: { main: [{ text: "ok" }], exhausted: { text: "ok" } } }, async ({ env, model }) => {
    arrange(env);
    mkdirSync(join(env.projectDir, ".opencode"), { recursive: true });
    writeFileSync(join(env.projectDir, ".opencode", "continuum.jsonc"), JSON.stringify(config));
    const status = cli(env, ["memory", "status", "--json"]);
    assert.equal(status.status, 0, status.stderr);
    const run = await opencodeRun(env, "hello", { timeoutMs: 120000 });
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const request = model.lane("main")[0];
    assert.ok(request, "OpenCode called the model");
    check(JSON.parse(status.stdout) as Status, memoryBlockOf(request));
  });
}

function writeMemory(file: string, rules: string[]) {
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `# Project memory\n\n## Rules\n\n${rules.map((r) => `- ${r}`).join("\n")}\n`);
}

function dataMemoryFile(env: IsolatedEnv): string {
  return (JSON.parse(cli(env, ["memory", "path", "--json"]).stdout) as { projectFile: string }).projectFile;
}

test("memory status agrees with what OpenCode injects: enabled false, a small budget, location repo", {
  timeout: 600000,
}, async () => {
  const rules = Array.from(
    { length: 12 },
    (_, i) =>
      `Rule number ${i + 1}: keep the ${["parser", "lexer", "docs", "tests"][i % 4]} module small and documented, with examples for each public function`,
  );
  await statusAgreesWithOpencode(
    { enabled: false },
    (env) => writeMemory(dataMemoryFile(env), rules),
    (status, injected) => {
      assert.equal(status.enabled, false);
      assert.equal(status.block, null);
      assert.equal(injected, undefined, "OpenCode got no memory block either");
    },
  );
  await statusAgreesWithOpencode(
    { memory: { enabled: false } },
    (env) => writeMemory(dataMemoryFile(env), rules),
    (status, injected) => {
      assert.equal(status.enabled, false);
      assert.equal(injected, undefined);
    },
  );
  await statusAgreesWithOpencode(
    { memory: { injectBudgetTokens: 300 } },
    (env) => writeMemory(dataMemoryFile(env), rules),
    (status, injected) => {
      assert.ok(status.block && injected);
      assert.ok(
        status.block.entries.length > 0 && status.block.omitted.length > 0,
        "the small budget packs some entries and omits others",
      );
      for (const entry of status.block.entries)
        assert.ok(injected.includes(`- ${entry.text} [${entry.id}]`), `promised entry ${entry.id} was injected`);
      // The "Not shown" list names omitted entries by title and id on purpose: only the entries above it count.
      const shown = injected.split("\n## Not shown")[0]!;
      for (const id of status.block.omitted)
        assert.ok(!shown.includes(`[${id}]`), `omitted ${id} was not injected as an entry`);
      // The injected block names this session's notes file; apart from the session id it is the promised block.
      assert.equal(
        injected.replace(/ses_[A-Za-z0-9]{26}/g, "<session>"),
        status.block.text.replace(/ses_NEWSESSIONIDPLACEHOLDER000/g, "<session>"),
      );
      assert.ok(
        status.block.tokens >= estimateTokens(injected) - 2 && status.block.tokens <= estimateTokens(injected) + 2,
        `tokens ${status.block.tokens} ≈ ${estimateTokens(injected)}`,
      );
    },
  );
  await statusAgreesWithOpencode(
    { memory: { location: "repo" } },
    (env) => {
      // Entries indexed earlier from the data dir must not follow the project into repo mode.
      writeMemory(dataMemoryFile(env), ["Data-dir rule: deploy on Fridays only"]);
      assert.equal(cli(env, ["memory", "reindex"]).status, 0);
      writeMemory(join(env.projectDir, ".opencode", "memory", "MEMORY.md"), [
        "Repo rule: every change needs a changelog line",
      ]);
    },
    (status, injected) => {
      assert.deepEqual(
        status.block?.entries.map((e) => e.text),
        ["Repo rule: every change needs a changelog line"],
      );
      assert.ok(injected?.includes("Repo rule: every change needs a changelog line"));
      assert.ok(!injected?.includes("Data-dir rule"), "the data-dir entry is not injected in repo mode");
    },
  );
});

test("continuum run: the model provider's error reaches the user verbatim, and the run ends interrupted (7)", {
  timeout: 180000,
}, async () => {
  await withOpencode(
    {
      model: { main: () => ({ error: { status: 401, message: "Invalid API key: scripted-401-marker" } }) },
    },
    async ({ env }) => {
      const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [LAUNCHER, "run", "--goal", "hello.txt exists", "--timeout-min", "2"], {
          cwd: env.projectDir,
          env: { ...env.env, OPENCODE_BIN: opencodeBinary() },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
      });
      assert.match(
        run.stdout,
        /\[continuum\] error from OpenCode or the model provider: .*Invalid API key: scripted-401-marker/,
        run.stdout + run.stderr,
      );
      assert.equal(run.code, 7, run.stdout + run.stderr);
    },
  );
});

test("config problems reach the user once as a toast when OpenCode starts", { timeout: 180000 }, async () => {
  await withOpencode(
    {
      model: { main: [{ text: "ok" }], exhausted: { text: "ok" } },
      env: { continuumConfig: { memroy: {}, checkpoint: { rebuildAt: 2 } } },
      serve: { startTimeoutMs: 120000 },
    },
    async ({ served }) => {
      try {
        await served.client.session.create({ body: {} });
        const toast = await served.waitForEvent(
          (e) => e.type === "tui.toast.show" && String(e.properties.message).includes("continuum.jsonc has"),
          30000,
          "the config toast",
        );
        assert.match(
          String(toast.properties.message),
          /continuum\.jsonc has 2 problems: .*memroy: unknown key, ignored; did you mean "memory"\?.*checkpoint\.rebuildAt: 2 is neither a fraction/,
        );
        assert.equal(
          served.events.filter(
            (e) => e.type === "tui.toast.show" && String(e.properties.message).includes("continuum.jsonc"),
          ).length,
          1,
          "once",
        );
      } finally {
        await served.stop();
      }
    },
  );
});
