// check(command) in workflow scripts, on real temp git repos: the exit code decides (0 passes, 1 does not), a check
// that writes the user's tree changes nothing there, a timeout and a cancel end it with nothing left running, bad
// arguments are refused with a clear error, a resumed run replays a finished check, the run record counts checks
// apart from agents, and outside a git repository nothing runs. With bubblewrap (CI) and without a sandbox.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkflowEngine, type AgentPort } from "../../plugins/workflow/engine.ts";
import { RunStore } from "../../plugins/workflow/journal.ts";
import { createLoader } from "../../plugins/workflow/loader.ts";
import { checkRequest, worktreeCheckPort, type CheckPort } from "../../plugins/workflow/check-call.ts";
import { detectSandbox, sandboxFor, type Sandbox } from "../../plugins/core/sandbox.ts";
import { createWorktrees } from "../../plugins/core/worktrees.ts";
import { progressLine } from "../../plugins/workflow/format.ts";

const LIMITS = {
  memoryMiB: 32,
  maxStackKiB: 256,
  sliceMs: 1000,
  activeMs: 5000,
  deadlineMs: 120_000,
  agentTimeoutMs: 5000,
};
const bwrap = sandboxFor({ enabled: true, network: false });
const none = detectSandbox({ enabled: false, network: false });
const noBwrap = bwrap.kind === "bwrap" ? false : `no working bubblewrap here (${bwrap.reason ?? bwrap.kind})`;
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
};

const marker = () => `sleep 7${Math.floor(Math.random() * 900000 + 100000)}`;
const alive = (pattern: string) => spawnSync("pgrep", ["-f", pattern]).status === 0;
async function gone(pattern: string, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pattern)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pattern);
}

function project(git = true) {
  const base = mkdtempSync(join(tmpdir(), "wf-check-"));
  const dir = join(base, "project");
  const workflows = join(dir, ".opencode", "workflows");
  mkdirSync(workflows, { recursive: true });
  writeFileSync(join(dir, "a.txt"), "one\n");
  if (git) {
    execFileSync("git", ["init", "-q"], { cwd: dir, env: GIT_ENV });
    execFileSync("git", ["add", "a.txt"], { cwd: dir, env: GIT_ENV });
    execFileSync("git", ["commit", "-qm", "init"], { cwd: dir, env: GIT_ENV });
  }
  // Uncommitted work of the user: the check's snapshot must see it.
  writeFileSync(join(dir, "b.txt"), "uncommitted\n");
  return { base, dir, workflows, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

function engineFor(p: ReturnType<typeof project>, body: string, sandbox: Sandbox, port?: CheckPort) {
  writeFileSync(
    join(p.workflows, "c.js"),
    `export const meta = { name: "c", description: "check test" };\nexport default async function (args) {\n${body}\n}\n`,
  );
  const agents: AgentPort = { run: async () => ({ ok: true, value: "agent", tokens: 3 }) };
  const worktrees = createWorktrees({ projectDir: p.dir, root: join(p.base, "worktrees") });
  const check = port ?? worktreeCheckPort({ worktrees, sandbox: () => sandbox, projectDir: p.dir });
  const store = new RunStore(join(p.base, "runs"));
  const make = () =>
    new WorkflowEngine({
      loader: createLoader(p.dir, [{ origin: "project", dir: p.workflows }]),
      store,
      projectDir: p.dir,
      agents,
      limits: LIMITS,
      check,
    });
  return { make, store, worktreesRoot: join(p.base, "worktrees") };
}

type Result = {
  command: string;
  exitCode: number | null;
  passed: boolean;
  timedOut: boolean;
  durationMs: number;
  tail: string;
  sandboxed: boolean;
};

for (const [name, sandbox, skip] of [
  ["bubblewrap", bwrap, noBwrap],
  ["no sandbox", none, false],
] as const) {
  test(`${name}: exit 0 passes, exit 1 does not; the check sees the user's uncommitted work and cannot change the user's tree`, {
    skip,
    timeout: 60_000,
  }, async () => {
    const p = project();
    try {
      const { make, worktreesRoot } = engineFor(
        p,
        `const ok = await check("cat b.txt && echo fine");
         const bad = await check("echo broken >&2; exit 1", { label: "failing", timeoutMs: 20000 });
         const write = await check("echo pwned > a.txt; rm -f b.txt; echo new > c.txt; git add -A 2>/dev/null; exit 0");
         // In the sandbox the user's project itself is read-only, named by its absolute path too.
         const escape = args.sandboxed ? await check(args.escape) : null;
         return { ok, bad, write, escape };`,
        sandbox,
      );
      const escape = `(echo pwned > ${p.dir}/a.txt; rm -f ${p.dir}/b.txt; touch ${p.dir}/x; git -C ${p.dir} tag t) 2>/dev/null; exit 0`;
      const run = await make().start({ target: "c", args: { sandboxed: sandbox.kind !== "none", escape } }).done;
      assert.equal(run.status, "done", run.error);
      const { ok, bad, write } = run.result as Record<string, Result>;
      assert.equal(existsSync(join(p.dir, "x")), false);
      assert.equal(execFileSync("git", ["tag"], { cwd: p.dir, encoding: "utf8" }), "");
      assert.equal(ok.exitCode, 0);
      assert.equal(ok.passed, true);
      assert.match(ok.tail, /uncommitted[\s\S]*fine/);
      assert.equal(ok.sandboxed, sandbox.kind !== "none");
      assert.equal(bad.exitCode, 1);
      assert.equal(bad.passed, false);
      assert.match(bad.tail, /broken/);
      assert.equal(write.passed, true);
      // The user's tree is as it was: the check wrote its own snapshot worktree, removed afterwards.
      assert.equal(readFileSync(join(p.dir, "a.txt"), "utf8"), "one\n");
      assert.equal(readFileSync(join(p.dir, "b.txt"), "utf8"), "uncommitted\n");
      assert.equal(existsSync(join(p.dir, "c.txt")), false);
      assert.equal(
        execFileSync("git", ["status", "--porcelain"], { cwd: p.dir, encoding: "utf8" }).trim(),
        "?? .opencode/\n?? b.txt".trim(),
      );
      assert.deepEqual(readdirNames(worktreesRoot), [], "every check's worktree is removed");
      const n = sandbox.kind === "none" ? 3 : 4;
      assert.deepEqual(run.checks, { run: n, passed: n - 1, failed: 1, replayed: 0 });
      assert.equal(run.tokens, 0, "checks are not model calls");
      assert.equal(run.agents.started, 0);
      assert.match(progressLine(run), new RegExp(`checks ${n} run \\(${n - 1} passed, 1 failed\\)`));
      assert.ok(run.transcript.some((l) => l.kind === "error" && /check failing: exit 1 \(failed\)/.test(l.text)));
    } finally {
      p.cleanup();
    }
  });

  test(`${name}: a timeout ends the check with nothing left running and no pass; a cancel ends it too`, {
    skip,
    timeout: 60_000,
  }, async () => {
    const p = project();
    try {
      const slow = marker();
      const { make } = engineFor(
        p,
        `return await check(${JSON.stringify(`${slow} & ${slow}`)}, { timeoutMs: 1000 });`,
        sandbox,
      );
      const run = await make().start({ target: "c" }).done;
      const timed = run.result as Result;
      assert.equal(timed.timedOut, true);
      assert.equal(timed.passed, false);
      assert.ok(timed.durationMs < 10_000, `ended at ${timed.durationMs} ms`);
      assert.ok(await gone(slow), "nothing of the check is left running");

      const stuck = marker();
      const second = engineFor(p, `return await check(${JSON.stringify(stuck)});`, sandbox);
      const engine = second.make();
      const started = engine.start({ target: "c" });
      for (const end = Date.now() + 10_000; !alive(stuck) && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(alive(stuck), "the check started");
      const t0 = Date.now();
      engine.cancel(started.record.id, "cancelled by the test");
      const cancelled = await started.done;
      assert.equal(cancelled.status, "cancelled");
      assert.ok(Date.now() - t0 < 10_000);
      assert.ok(await gone(stuck), "the cancelled check is not left running");
      assert.equal(second.store.journal(started.record.id).size, 0, "a check the cancel cut short is not journaled");
    } finally {
      p.cleanup();
    }
  });
}

function readdirNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return spawnSync("ls", ["-A", dir], { encoding: "utf8" })
    .stdout.split("\n")
    .filter((n) => n && !n.startsWith(".index-"));
}

test("bad arguments are refused with a clear error in the script", () => {
  assert.throws(() => checkRequest(42, undefined), /command must be a string, got number/);
  assert.throws(() => checkRequest(null, undefined), /got null/);
  assert.throws(() => checkRequest("   ", undefined), /command is empty/);
  assert.throws(() => checkRequest("x".repeat(5000), undefined), /longer than 4000/);
  assert.throws(() => checkRequest("a\u0000b", undefined), /NUL/);
  assert.throws(() => checkRequest("true", "fast"), /options must be an object/);
  assert.throws(() => checkRequest("true", { timeout: 5 }), /unknown option\(s\) timeout/);
  assert.throws(() => checkRequest("true", { timeoutMs: 10 }), /timeoutMs must be an integer from 1000 to 3600000/);
  assert.throws(() => checkRequest("true", { timeoutMs: 99_999_999 }), /timeoutMs must be/);
  assert.throws(() => checkRequest("true", { timeoutMs: 1.5e3 + 0.5 }), /timeoutMs must be/);
  assert.throws(() => checkRequest("true", { label: 5 }), /label must be a string/);
  assert.deepEqual(checkRequest("npm test", undefined), { command: "npm test", timeoutMs: 600_000, label: "npm test" });
});

test("a bad argument fails the script with its message; nothing runs", async () => {
  const p = project();
  const ran: string[] = [];
  try {
    const port: CheckPort = {
      detect: () => [],
      run: async (command) => (
        ran.push(command),
        { command, exitCode: 0, passed: true, timedOut: false, durationMs: 1, tail: "", sandboxed: true }
      ),
    };
    const { make } = engineFor(p, `try { await check(""); } catch (e) { return { refused: e.message }; }`, none, port);
    const run = await make().start({ target: "c" }).done;
    assert.deepEqual(run.result, { refused: "check(command): command is empty" });
    assert.deepEqual(ran, []);
  } finally {
    p.cleanup();
  }
});

test("a resumed run replays a finished check from the journal instead of running it again", async () => {
  const p = project();
  const ran: string[] = [];
  try {
    const port: CheckPort = {
      detect: () => ["npm test"],
      run: async (command) => (
        ran.push(command),
        {
          command,
          exitCode: 1,
          passed: false,
          timedOut: false,
          durationMs: 5,
          tail: "AKIAIOSFODNN7EXAMPLE failed",
          sandboxed: true,
        }
      ),
    };
    // The first run dies (throws) after its check; the resume finishes it.
    const { make, store } = engineFor(
      p,
      `const r = await check((await projectChecks())[0]);
       if (!(await exists("go.txt"))) throw new Error("stop here");
       return r;`,
      none,
      port,
    );
    const engine = make();
    const first = await engine.start({ target: "c" }).done;
    assert.equal(first.status, "failed");
    assert.deepEqual(ran, ["npm test"]);
    writeFileSync(join(p.dir, "go.txt"), "");
    const resumed = await make().resume(first.id).done;
    assert.equal(resumed.status, "done", resumed.error);
    assert.deepEqual(ran, ["npm test"], "not run again");
    assert.equal((resumed.result as Result).exitCode, 1);
    assert.deepEqual(resumed.checks, { run: 0, passed: 0, failed: 0, replayed: 1 });
    // Journaled through the store's redacting write path.
    const journal = readFileSync(join(store.dir(first.id), "journal.jsonl"), "utf8");
    assert.doesNotMatch(journal, /AKIAIOSFODNN7EXAMPLE/);
  } finally {
    p.cleanup();
  }
});

test("outside a git repository check() runs nothing and says why; the result is not a pass", async () => {
  const p = project(false);
  try {
    const { make } = engineFor(p, `return await check("touch ran.txt");`, none);
    const run = await make().start({ target: "c" }).done;
    const result = run.result as Result;
    assert.equal(result.passed, false);
    assert.equal(result.exitCode, null);
    assert.match(result.tail, /needs the project in a git repository/);
    assert.equal(existsSync(join(p.dir, "ran.txt")), false);
  } finally {
    p.cleanup();
  }
});
