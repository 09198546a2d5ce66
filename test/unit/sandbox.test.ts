// The OS sandbox of a helper's worktree, on real git repositories and the real bubblewrap: escape attempts a builder
// could make (paths named or built at run time, git options, env, links, background children, the network) change
// nothing of the user's project, home or shared git state, while ordinary work inside the worktree still runs.
// The same attempts run without the sandbox first, to show each one really reaches the project.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createWorktrees } from "../../plugins/core/worktrees.ts";
import {
  bwrapArgs,
  detectSandbox,
  sandboxFor,
  seatbeltProfile,
  shellQuote,
  worktreePlace,
  type Sandbox,
} from "../../plugins/core/sandbox.ts";

const sandbox = sandboxFor({ enabled: true, network: false });
const skip = sandbox.kind === "bwrap" ? false : `no working bubblewrap here (${sandbox.reason ?? sandbox.kind})`;
const GIT_ENV = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...GIT_ENV } });
}

function hashTree(dir: string): string {
  const hash = createHash("sha256");
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const rel = relative(dir, path);
      if (rel === ".git/index") continue; // git status refreshes its stat cache
      const stat = statSync(path, { throwIfNoEntry: false });
      hash.update(`${rel}\0`);
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile()) hash.update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest("hex");
}

function userState(project: string, home: string) {
  return {
    status: git(project, "status", "--porcelain"),
    stash: git(project, "stash", "list"),
    refs: git(project, "for-each-ref"),
    worktrees: git(project, "worktree", "list", "--porcelain"),
    tree: hashTree(project),
    home: readdirSync(home).sort(),
  };
}

async function fixture() {
  const base = mkdtempSync(join(tmpdir(), "sandbox-"));
  const project = join(base, "project");
  const home = join(base, "home");
  mkdirSync(project);
  mkdirSync(home);
  git(project, "init", "-q");
  writeFileSync(join(project, "a.txt"), "one\n");
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "p", version: "1.0.0", scripts: { test: "node -e \"console.log('tests ran')\"" } }),
  );
  git(project, "add", ".");
  git(project, "commit", "-qm", "init");
  // The user's uncommitted work: a stash or checkout would take it away.
  writeFileSync(join(project, "a.txt"), "one\nuser's work\n");
  writeFileSync(join(project, "new.txt"), "untracked work\n");
  const worktrees = createWorktrees({ projectDir: project, root: join(base, "data", "worktrees") });
  const worktree = await worktrees.create("test", "escapes");
  return { base, project, home, worktree, worktrees, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** What a builder might try, in its worktree, to reach the user's project. */
function escapes(project: string, marker: string): string[] {
  const b64 = Buffer.from(project).toString("base64");
  return [
    `cd ${project} && touch x`,
    `git -C ${project} stash`,
    `echo change >> a.txt && env git stash`,
    `git --no-pager tag t`,
    `git --no-pager branch b`,
    `GIT_DIR=${project}/.git git update-ref refs/heads/evil HEAD`,
    `echo x > ~/x`,
    `echo pwned > ${project}/abs.txt`,
    `echo pwned > "$(echo ${b64} | base64 -d)/built.txt"`,
    `cd "$(git rev-parse --git-common-dir)/.." && echo pwned > common.txt`,
    `ln -s ${project}/a.txt link && echo pwned >> link`,
    `ln ${project}/a.txt hard && echo pwned >> hard`,
    `echo 'ref: refs/heads/evil' > ${project}/.git/HEAD`,
    `echo '[core] fsmonitor = touch ${marker}' >> ${project}/.git/config`,
    `echo 'gitdir: /tmp' > .git`,
    `git init -q nested && cd nested && git --git-dir=${project}/.git --work-tree=. add -A`,
    `(sleep 1; echo late > ${project}/late.txt) &`,
  ];
}

function runUnconfined(command: string, cwd: string, home: string) {
  return spawnSync("bash", ["-c", command], { cwd, env: { ...process.env, ...GIT_ENV, HOME: home }, encoding: "utf8" });
}

/** Without blocking the event loop (a server in this process must answer). */
function runConfinedAsync(
  box: Sandbox,
  command: string,
  cwd: string,
): Promise<{ status: number | null; stdout: string }> {
  const argv = box.argv(command, worktreePlace(cwd));
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString()));
    child.on("close", (status) => resolve({ status, stdout }));
  });
}

function runConfined(box: Sandbox, command: string, cwd: string, home: string) {
  const argv = box.argv(command, worktreePlace(cwd));
  return spawnSync(argv[0]!, argv.slice(1), {
    cwd,
    env: { ...process.env, ...GIT_ENV, HOME: home },
    encoding: "utf8",
    timeout: 20000,
  });
}

test("without the sandbox the escape attempts do reach the user's project (the attempts are real)", {
  skip,
}, async () => {
  const f = await fixture();
  try {
    const before = userState(f.project, f.home);
    for (const command of escapes(f.project, join(f.base, "owned"))) runUnconfined(command, f.worktree.dir, f.home);
    await new Promise((r) => setTimeout(r, 1500));
    const after = userState(f.project, f.home);
    for (const key of Object.keys(before) as (keyof typeof before)[])
      assert.notDeepEqual(after[key], before[key], `${key} changed without the sandbox`);
  } finally {
    f.cleanup();
  }
});

test("inside the sandbox every escape attempt fails and the user's project, git state and home stay identical", {
  skip,
  timeout: 60000,
}, async () => {
  const f = await fixture();
  try {
    const before = userState(f.project, f.home);
    for (const command of escapes(f.project, join(f.base, "owned")))
      runConfined(sandbox, command, f.worktree.dir, f.home);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(userState(f.project, f.home), before);
    assert.equal(existsSync(join(f.base, "owned")), false);
    // A nested repository and a link inside the worktree are the worktree's own business.
    assert.equal(existsSync(join(f.worktree.dir, "nested", ".git")), true);
  } finally {
    f.cleanup();
  }
});

test("inside the sandbox ordinary work runs: files in the worktree, git status and diff, npm test with a read-only home, a private /tmp", {
  skip,
  timeout: 60000,
}, async () => {
  const f = await fixture();
  try {
    const run = runConfined(
      sandbox,
      "echo built > out.txt && echo more >> a.txt && git status --porcelain && git diff --stat && npm test 2>&1 && echo private > /tmp/mine && cat /tmp/mine && ! git add out.txt 2>/dev/null",
      f.worktree.dir,
      f.home,
    );
    assert.equal(run.status, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /\?\? out\.txt/);
    assert.match(run.stdout, /a\.txt \| 1 \+/);
    assert.match(run.stdout, /tests ran/);
    // The worktree's index and the objects are shared with the user's repository: read-only, so no git add.
    assert.equal(readFileSync(join(f.worktree.dir, "out.txt"), "utf8"), "built\n");
    assert.equal(existsSync("/tmp/mine"), false, "the sandbox's /tmp is its own");
    // The pack's own diff (outside the sandbox) still sees the work.
    assert.match(await f.worktrees.diff(f.worktree), /\+built/);
  } finally {
    f.cleanup();
  }
});

test("no network inside the sandbox unless allowed; every process ends with the command", {
  skip,
  timeout: 60000,
}, async () => {
  const f = await fixture();
  const server = createServer((socket) => socket.end("hello\n"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const connect = `exec 3<>/dev/tcp/127.0.0.1/${port} && head -1 <&3`;
    const closed = await runConfinedAsync(sandbox, connect, f.worktree.dir);
    assert.notEqual(closed.status, 0, "the host's loopback is out of reach");
    const open = await runConfinedAsync(detectSandbox({ enabled: true, network: true }), connect, f.worktree.dir);
    assert.equal(open.stdout.trim(), "hello", "with network: true the same connection works");
    const started = Date.now();
    const background = runConfined(sandbox, "sleep 30 & setsid sleep 7777 & echo ok", f.worktree.dir, f.home);
    assert.equal(background.stdout.trim(), "ok");
    assert.ok(Date.now() - started < 5000, "the command's background children do not hold it");
    assert.equal(spawnSync("pgrep", ["-f", "sleep 7777"]).status, 1, "nothing of it is left running");
  } finally {
    server.close();
    f.cleanup();
  }
});

test("detection: off by config, no bwrap on PATH, a failing probe, macOS and others", () => {
  assert.equal(detectSandbox({ enabled: false, network: false }).kind, "none");
  assert.match(detectSandbox({ enabled: false, network: false }).reason!, /sandbox\.enabled: false/);
  assert.match(
    detectSandbox({ enabled: true, network: false }, { platform: "linux", path: "/nonexistent" }).reason!,
    /not installed/,
  );
  const failing = detectSandbox(
    { enabled: true, network: false },
    { platform: "linux", path: "/usr/bin:/bin", probe: () => false },
  );
  assert.equal(failing.kind, "none");
  if (existsSync("/usr/bin/bwrap")) assert.match(failing.reason!, /cannot run here/);
  assert.equal(detectSandbox({ enabled: true, network: false }, { platform: "win32" }).kind, "none");
  assert.throws(
    () => detectSandbox({ enabled: false, network: false }).argv("true", { writable: "/w", cwd: "/w" }),
    /no sandbox/,
  );
});

test("bwrap arguments: read-only root, private /tmp, the repository re-exposed after it, the worktree writable, its .git link read-only, no network", () => {
  const args = bwrapArgs(
    "make test",
    { writable: "/tmp/wt", cwd: "/tmp/wt/sub", readOnly: ["/"], protect: ["/"] },
    { network: false },
  );
  const text = args.join(" ");
  assert.ok(
    text.startsWith(
      "--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --ro-bind / / --bind /tmp/wt /tmp/wt --ro-bind / / --unshare-net --unshare-pid --die-with-parent --new-session",
    ),
    text,
  );
  assert.ok(text.endsWith("--chdir /tmp/wt/sub -- bash -c make test"), text);
  assert.match(text, /--setenv npm_config_cache \/tmp\/\.npm/);
  assert.doesNotMatch(bwrapArgs("x", { writable: "/w", cwd: "/w" }, { network: true }).join(" "), /unshare-net/);
});

test("the Seatbelt profile (macOS, not run here): writes only to the worktree and its temp dir, .git link denied, no network", () => {
  const profile = seatbeltProfile(
    { writable: '/Users/me/wt "x"', cwd: "/Users/me/wt", protect: ["/Users/me/wt/.git"] },
    { network: false, tmp: "/var/folders/t" },
  );
  assert.equal(
    profile,
    [
      "(version 1)",
      "(allow default)",
      "(deny file-write*)",
      '(allow file-write* (subpath "/Users/me/wt \\"x\\"") (subpath "/var/folders/t") (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))',
      '(deny file-write* (literal "/Users/me/wt/.git"))',
      "(deny network*)",
      "(allow network* (remote unix-socket))",
      "",
    ].join("\n"),
  );
  assert.doesNotMatch(seatbeltProfile({ writable: "/w", cwd: "/w" }, { network: true, tmp: "/t" }), /network/);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote("/a/b-c"), "/a/b-c");
});

test("the pack's own git on a worktree (outside the sandbox) ignores a .git planted in it: no config of the helper's runs", {
  timeout: 60000,
}, async () => {
  const base = mkdtempSync(join(tmpdir(), "sandbox-plant-"));
  try {
    const project = join(base, "project");
    mkdirSync(join(project, "sub"), { recursive: true });
    git(project, "init", "-q");
    writeFileSync(join(project, "sub", "a.txt"), "one\n");
    git(project, "add", ".");
    git(project, "commit", "-qm", "init");
    // The user works in a sub-folder: the worktree's dir is that sub-folder, below the worktree's .git link.
    const worktrees = createWorktrees({ projectDir: join(project, "sub"), root: join(base, "worktrees") });
    const worktree = await worktrees.create("test", "plant");
    const marker = join(base, "ran");
    // What a sandboxed shell may write in its worktree: a repository of its own whose config runs a command.
    const planted = join(worktree.dir, ".git");
    mkdirSync(join(planted, "objects"), { recursive: true });
    mkdirSync(join(planted, "refs"), { recursive: true });
    writeFileSync(join(planted, "HEAD"), "ref: refs/heads/main\n");
    writeFileSync(join(planted, "config"), `[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch ${marker}\n`);
    writeFileSync(join(worktree.dir, "a.txt"), "two\n");
    const diff = await worktrees.diff(worktree);
    assert.equal(existsSync(marker), false, "the planted config never ran");
    assert.match(diff, /\+two/);
    assert.deepEqual(await worktrees.changedFiles(worktree), ["sub/a.txt"]);
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
