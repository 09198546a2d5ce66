// Max Mode's checks end when their process does and leave nothing running: a child that leaves the process group
// (setsid) neither holds the check past its exit nor survives its timeout, background children do not make a passing
// check "time out", a check inside the sandbox cannot write the user's project, and SIGTERM of the process running
// checks leaves no process behind. With bubblewrap (CI) and without a sandbox (the fallback).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killRunningChecks, runCheck, runChecks } from "../../plugins/core/checks.ts";
import { detectSandbox, sandboxFor } from "../../plugins/core/sandbox.ts";
import { createWorktrees } from "../../plugins/core/worktrees.ts";

const bwrap = sandboxFor({ enabled: true, network: false });
const none = detectSandbox({ enabled: false, network: false });
const skip = bwrap.kind === "bwrap" ? false : `no working bubblewrap here (${bwrap.reason ?? bwrap.kind})`;
const root = fileURLToPath(new URL("../..", import.meta.url));

/** A sleep nobody else runs, so `pgrep` finds only ours. */
const marker = () => `sleep 7${Math.floor(Math.random() * 900000 + 100000)}`;
const alive = (pattern: string) => spawnSync("pgrep", ["-f", pattern]).status === 0;
async function gone(pattern: string, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pattern)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pattern);
}

async function worktree() {
  const base = mkdtempSync(join(tmpdir(), "checks-sandbox-"));
  const project = join(base, "project");
  mkdirSync(project);
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@t",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@t",
  };
  execFileSync("git", ["init", "-q"], { cwd: project, env });
  writeFileSync(join(project, "a.txt"), "one\n");
  execFileSync("git", ["add", "."], { cwd: project, env });
  execFileSync("git", ["commit", "-qm", "init"], { cwd: project, env });
  const made = await createWorktrees({ projectDir: project, root: join(base, "worktrees") }).create("test", "checks");
  return { base, project, dir: made.dir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

for (const [name, sandbox, skipIt] of [
  ["bubblewrap", bwrap, skip],
  ["no sandbox", none, false],
] as const) {
  test(`${name}: a check with background children passes when its shell exits; a setsid child that stays ends at the timeout`, {
    skip: skipIt,
    timeout: 60000,
  }, async () => {
    const w = await worktree();
    try {
      const background = marker();
      const quick = await runCheck(`${background} & echo ok`, w.dir, 20000, undefined, sandbox);
      assert.deepEqual([quick.passed, quick.timedOut, quick.exitCode, quick.tail.trim()], [true, false, 0, "ok"]);
      assert.ok(quick.durationMs < 3000, `ended with its shell (${quick.durationMs} ms)`);
      assert.ok(await gone(background), "its background child went with it");

      const escaped = marker();
      const stuck = await runCheck(`setsid ${escaped} & echo started; ${marker()}`, w.dir, 1000, undefined, sandbox);
      assert.deepEqual([stuck.passed, stuck.timedOut], [false, true]);
      assert.ok(stuck.durationMs < 3000, `ended at its timeout (${stuck.durationMs} ms)`);
      assert.match(stuck.tail, /started[^]*stopped after 1 s \(timeout\)/);
      if (sandbox.kind === "bwrap") assert.ok(await gone(escaped), "the PID namespace took the escaped child too");
      else spawnSync("pkill", ["-f", escaped]); // without a PID namespace a setsid child is out of reach (docs/safety.md)

      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const aborted = await runChecks([`${marker()}`, "echo never"], w.dir, 60000, controller.signal, sandbox);
      assert.equal(aborted.length, 1);
      assert.ok(aborted[0]!.durationMs < 3000);
    } finally {
      w.cleanup();
    }
  });
}

test("bubblewrap: a check writes its worktree and nothing else", { skip, timeout: 60000 }, async () => {
  const w = await worktree();
  try {
    const wrote = await runCheck(
      `echo built > out.txt && (echo pwned > ${w.project}/a.txt; touch ${w.project}/x; git -C ${w.project} tag t) 2>/dev/null; exit 0`,
      w.dir,
      10000,
      undefined,
      bwrap,
    );
    assert.equal(wrote.passed, true, wrote.tail);
    assert.equal(existsSync(join(w.dir, "out.txt")), true);
    assert.equal(execFileSync("git", ["status", "--porcelain"], { cwd: w.project, encoding: "utf8" }), "");
    assert.equal(execFileSync("git", ["tag"], { cwd: w.project, encoding: "utf8" }), "");
  } finally {
    w.cleanup();
  }
});

for (const [name, sandboxOn, skipIt] of [
  ["bubblewrap", true, skip],
  ["no sandbox", false, false],
] as const) {
  test(`${name}: SIGTERM of the process running a check leaves no process of the check`, {
    skip: skipIt,
    timeout: 60000,
  }, async () => {
    const w = await worktree();
    try {
      const child = marker();
      const script = [
        `import { runCheck } from ${JSON.stringify(join(root, "plugins/core/checks.ts"))};`,
        `import { detectSandbox } from ${JSON.stringify(join(root, "plugins/core/sandbox.ts"))};`,
        `const sandbox = detectSandbox({ enabled: ${sandboxOn}, network: false });`,
        // OpenCode ends on SIGTERM through its own handler, which exits the process.
        `process.on("SIGTERM", () => process.exit(0));`,
        `void runCheck(${JSON.stringify(`${child} & ${child}`)}, ${JSON.stringify(w.dir)}, 60000, undefined, sandbox);`,
      ].join("\n");
      const file = join(w.base, "run.mts");
      writeFileSync(file, script);
      const runner = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, stdio: "ignore" });
      for (let i = 0; i < 100 && !alive(child); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(alive(child), "the check started");
      runner.kill("SIGTERM");
      assert.ok(await gone(child, 5000), "nothing of the check is left");
    } finally {
      w.cleanup();
    }
  });
}

test("bubblewrap: SIGKILL of the process running a check still ends it (bwrap dies with its parent)", {
  skip,
  timeout: 60000,
}, async () => {
  const w = await worktree();
  try {
    const child = marker();
    const file = join(w.base, "run.mts");
    writeFileSync(
      file,
      [
        `import { runCheck } from ${JSON.stringify(join(root, "plugins/core/checks.ts"))};`,
        `import { sandboxFor } from ${JSON.stringify(join(root, "plugins/core/sandbox.ts"))};`,
        `void runCheck(${JSON.stringify(`setsid ${child} & ${child}`)}, ${JSON.stringify(w.dir)}, 60000, undefined, sandboxFor({ enabled: true, network: false }));`,
      ].join("\n"),
    );
    const runner = spawn(process.execPath, ["--import", "tsx", file], { cwd: root, stdio: "ignore" });
    for (let i = 0; i < 100 && !alive(child); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(alive(child), "the check started");
    runner.kill("SIGKILL");
    assert.ok(await gone(child, 5000), "nothing of the check is left");
  } finally {
    w.cleanup();
  }
});

test("killRunningChecks ends the checks in flight (the pack's dispose)", { timeout: 30000 }, async () => {
  const w = await worktree();
  try {
    const child = marker();
    const pending = runCheck(`${child}`, w.dir, 60000, undefined, none);
    for (let i = 0; i < 50 && !alive(child); i++) await new Promise((r) => setTimeout(r, 50));
    killRunningChecks();
    const result = await pending;
    assert.equal(result.passed, false);
    assert.ok(await gone(child));
  } finally {
    w.cleanup();
  }
});
