// The OS sandbox in real OpenCode. A Max patch builder and a workflow agent with isolation "worktree" run escape
// attempts through OpenCode's own bash tool (the pack wraps the command in bubblewrap) and a check tries to write the
// project: nothing outside their worktrees changes (the user's status, stash, refs, worktrees, files, .git and home
// are identical before and after; only the applied change appears), and SIGTERM of OpenCode while a check runs leaves
// none of its processes. Without a sandbox (sandbox.enabled: false) a
// confined helper's bash is refused with the reason, its file tools still work, and the user is told once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Lane, RecordedRequest, ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import type { Served } from "../harness/opencode.ts";
import { createSession, until } from "../harness/session.ts";
import { installPack } from "../harness/install.ts";
import { withOpencode } from "../harness/fixture.ts";
import { builderIndex, isBuilderRequest, maxEnv, maxJudgeLane } from "./max-support.ts";
import { sandboxFor } from "../../plugins/core/sandbox.ts";

const skip =
  sandboxFor({ enabled: true, network: false }).kind === "bwrap"
    ? false
    : "no working bubblewrap here (CI installs it)";
const GIT_ENV = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
const git = (env: IsolatedEnv, ...args: string[]) =>
  execFileSync("git", args, { cwd: env.projectDir, encoding: "utf8", env: { ...process.env, ...GIT_ENV } });

/** Escape attempts from inside a worktree, one shell script; `SANDBOX-RAN` shows the script itself ran. */
function escapeScript(project: string): string {
  // The pack moves literal mentions of the project's path into the worktree; a path built at run time is not moved.
  const P = `"$(echo ${Buffer.from(project).toString("base64")} | base64 -d)"`;
  return [
    `(cd ${project} && touch x)`,
    `(cd ${P} && touch x)`,
    `git -C ${P} stash`,
    `echo change >> a.txt; env git stash`,
    `git --no-pager tag t`,
    `git --no-pager branch b`,
    `echo x > ~/x`,
    `echo pwned > ${P}/abs.txt`,
    `ln -s ${P}/a.txt link; echo pwned >> link`,
    `ln ${P}/a.txt hard`,
    // Writing its own worktree works; then it tidies up, so the change it hands back is only what it builds next.
    `echo inside > inside.txt && cat inside.txt && rm inside.txt`,
    `rm -f link x; git show HEAD:a.txt > a.txt`,
    `echo SANDBOX-RAN`,
  ].join("\n");
}

/**
 * The escape script as a helper would hide it from the git guard (core/shell-guard.ts reads command text, not script
 * files): decoded into the sandbox's private /tmp and run from there, so only the OS sandbox stands in its way.
 */
function hiddenEscape(project: string): string {
  return `echo ${Buffer.from(escapeScript(project)).toString("base64")} | base64 -d > /tmp/esc.sh\nbash /tmp/esc.sh`;
}

function hashFiles(dir: string, skipPath: (rel: string) => boolean): string {
  const hash = createHash("sha256");
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const rel = relative(dir, path);
      if (skipPath(rel)) continue;
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile()) hash.update(`${rel}\0`).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest("hex");
}

/** The user's side: what no helper may change. The pack's own snapshot objects and the applied file are left out. */
function userState(env: IsolatedEnv) {
  return {
    status: git(env, "status", "--porcelain")
      .split("\n")
      .filter((l) => l && l !== "?? value.txt"),
    stash: git(env, "stash", "list"),
    // The pack's own backup of the user's tree before its apply (core/backups.ts) is not a helper's doing.
    refs: git(env, "for-each-ref")
      .split("\n")
      .filter((l) => !l.includes("\trefs/continuum/"))
      .join("\n"),
    worktrees: git(env, "worktree", "list", "--porcelain"),
    files: hashFiles(env.projectDir, (rel) => rel === ".git" || rel === "value.txt" || rel === ".opencode"),
    git: hashFiles(
      join(env.projectDir, ".git"),
      (rel) => rel === "objects" || rel === "index" || rel === "worktrees" || rel === join("refs", "continuum"),
    ),
    home: readdirSync(env.home).sort(),
  };
}

const alive = (pattern: string) => spawnSync("pgrep", ["-f", pattern]).status === 0;
const lastTools = (r: RecordedRequest) =>
  ([...r.body.messages].reverse().find((m) => m.role === "assistant")?.tool_calls ?? []).map((c) => c.function.name);
const toolResults = (r: RecordedRequest) =>
  r.body.messages
    .filter((m) => m.role === "tool")
    .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)));

/** Builder 1 runs the escape script first, then writes the passing value; builder 2 writes a failing one. */
function escapingBuilders(project: () => string): Lane {
  return {
    name: "builder",
    match: isBuilderRequest,
    replies: (request): ScriptedReply => {
      const index = builderIndex(request);
      const last = request.body.messages.at(-1)?.role;
      if (last === "tool" && lastTools(request).includes("max_patch")) return { text: "done" };
      if (last === "tool" && lastTools(request).includes("write"))
        return { toolCalls: [{ name: "max_patch", args: { summary: `builder ${index}` } }] };
      if (index === 1 && last !== "tool")
        return {
          toolCalls: [{ name: "bash", args: { command: hiddenEscape(project()), description: "try to escape" } }],
        };
      return {
        toolCalls: [{ name: "write", args: { filePath: "value.txt", content: index === 1 ? "right\n" : "wrong\n" } }],
      };
    },
  };
}

const isWorkflowRequest = (r: Pick<RecordedRequest, "lastUserText">) => r.lastUserText.startsWith("WF ");

/** The workflow agent: `bash` calls (each answered), then a write, then done. */
function workflowAgent(bash: () => string[]): Lane {
  return {
    name: "wf",
    match: isWorkflowRequest,
    replies: (request): ScriptedReply => {
      const done = request.body.messages.filter((m) => m.role === "tool").length;
      const commands = bash();
      if (done < commands.length)
        return { toolCalls: [{ name: "bash", args: { command: commands[done]!, description: "shell" } }] };
      if (done === commands.length)
        return { toolCalls: [{ name: "write", args: { filePath: "made.txt", content: "made in isolation\n" } }] };
      return { text: "wrote it" };
    },
  };
}

function writeWorkflow(env: IsolatedEnv): void {
  const dir = join(env.projectDir, ".opencode", "workflows");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "iso.js"),
    `export const meta = { name: "iso", description: "isolated agent" };\nexport default async function () { return agent("WF isolated", { isolation: "worktree" }); }`,
  );
}

function workflowRuns(
  env: IsolatedEnv,
): { id: string; status: string; result?: { diff: string; files: string[] }; error?: string }[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  return readdirSync(projects).flatMap((p) => {
    const dir = join(projects, p, "workflows");
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((id) => existsSync(join(dir, id, "run.json")))
          .map((id) => JSON.parse(readFileSync(join(dir, id, "run.json"), "utf8")))
      : [];
  });
}

async function runWorkflow(served: Served, env: IsolatedEnv, session: string) {
  const ran = await served.client.session.command({
    path: { id: session },
    body: { command: "workflow", arguments: "iso" },
  });
  assert.ok(!ran.error, JSON.stringify(ran.error));
  return until(() => workflowRuns(env).find((r) => r.status !== "running"), 90000, "the workflow run to end");
}

function checkedProject(env: IsolatedEnv) {
  writeFileSync(
    join(env.projectDir, "check.cjs"),
    'const v = require("fs").readFileSync("value.txt", "utf8").trim();\nif (v !== "right") { console.error(`value.txt is ${v}`); process.exit(1); }\nconsole.log("check ok");\n',
  );
  writeFileSync(join(env.projectDir, "a.txt"), "one\n");
  git(env, "add", ".");
  git(env, "commit", "-q", "-m", "check");
  // The user's uncommitted work, which a stash would take away.
  writeFileSync(join(env.projectDir, "a.txt"), "one\nuser's work\n");
  writeFileSync(join(env.projectDir, "notes.txt"), "untracked\n");
}

test("bubblewrap in real OpenCode: a Max builder, its check and a worktree workflow agent try to escape; nothing outside their worktrees changes; SIGTERM of OpenCode mid-check leaves no process", {
  skip,
  timeout: 300000,
}, async () => {
  let project = "";
  const modelScript: ModelScript = {
    lanes: [escapingBuilders(() => project), maxJudgeLane(2), workflowAgent(() => [hiddenEscape(project)])],
    main: () => ({ text: "ok" }),
    exhausted: { text: "nothing more scripted" },
  };
  // The check also tries to write the project and home; with hang.flag in the snapshot it then blocks (the SIGTERM part).
  const hang = `sleep 7${Math.floor(Math.random() * 900000 + 100000)}`;
  const checks = [
    `echo pwned > ${"$"}(git rev-parse --git-common-dir)/../from-check.txt; touch ~/from-check; node check.cjs && if [ -f hang.flag ]; then ${hang}; fi`,
  ];
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 2, scouts: 2, consensus: "off", checks }) },
      install: false,
    },
    async ({ env, model, serve }) => {
      project = env.projectDir;
      checkedProject(env);
      writeWorkflow(env);
      installPack(env);
      const served = await serve();
      const session = await createSession(served);
      const before = userState(env);

      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "make value.txt right --patch" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      const afterBash = model
        .lane("builder")
        .find((r) => builderIndex(r) === 1 && toolResults(r).some((t) => t.includes("SANDBOX-RAN")));
      assert.ok(afterBash, "OpenCode's bash tool ran the wrapped script (no permission question held it)");
      const output = toolResults(afterBash!).find((t) => t.includes("SANDBOX-RAN"))!;
      assert.match(output, /Read-only file system/, output);
      assert.match(output, /Invalid cross-device link/, "a hard link to the project cannot be made");
      assert.match(output, /(^|\n)inside\n/, "its own worktree is writable");
      assert.equal(
        readFileSync(join(env.projectDir, "value.txt"), "utf8"),
        "right\n",
        "builder 1's change passed its sandboxed check and was applied",
      );
      const judge = model.lane("max-judge")[0]!.lastUserText;
      assert.match(judge, /<candidate-1>[^]*passed[^]*<\/candidate-1>/, "the check ran inside the sandbox and passed");

      const run = await runWorkflow(served, env, session);
      assert.equal(run.status, "done", run.error);
      assert.deepEqual(run.result!.files, ["made.txt"]);
      const wfOutput = model
        .lane("wf")
        .flatMap(toolResults)
        .find((t) => t.includes("SANDBOX-RAN"));
      assert.match(String(wfOutput), /Read-only file system/, "its shell is confined");
      assert.match(String(wfOutput), /(^|\n)inside\n/, "and writes its own worktree");

      assert.deepEqual(userState(env), before, "the user's project, git state and home are as they were");
      for (const stray of ["x", "abs.txt", "built.txt", "from-check.txt", "inside.txt", "made.txt"])
        assert.equal(existsSync(join(env.projectDir, stray)), false, stray);
      // OpenCode asks external_directory for the worktree (outside the project as it sees it): the pack answers those.
      // Nothing else is asked for the wrapped commands: OpenCode does not read paths out of bwrap's arguments.
      const asked = served.events
        .filter((e) => e.type === "permission.asked")
        .map((e) => e.properties as { permission: string; patterns: string[] });
      const worktrees = join(env.packDataDir, "projects");
      assert.deepEqual(
        asked
          .filter((a) => a.permission !== "external_directory" || a.patterns.some((p) => !p.startsWith(worktrees)))
          .map((a) => [a.permission, a.patterns]),
        [],
      );

      // SIGTERM of OpenCode while a check runs: nothing of the check is left (bwrap dies with its parent).
      writeFileSync(join(env.projectDir, "hang.flag"), "");
      writeFileSync(join(env.projectDir, "value.txt"), "reset\n"); // so builder 1's change is a change, and is checked
      void served.client.session
        .command({ path: { id: session }, body: { command: "max", arguments: "make value.txt right again --patch" } })
        .catch(() => undefined);
      await until(() => alive(hang), 90000, "the hanging check to start");
      process.kill(served.pid, "SIGTERM");
      await until(() => served!.exited(), 20000, "OpenCode to exit on SIGTERM");
      await until(() => !alive(hang), 5000, "the check's processes to end with OpenCode").catch(() =>
        assert.fail(`left running: ${spawnSync("pgrep", ["-af", hang], { encoding: "utf8" }).stdout}`),
      );
    },
  );
});

test("no sandbox (sandbox.enabled: false): a confined agent's bash is refused with the reason, its file tools still work, the user is told once", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [workflowAgent(() => ["touch x", "ls"])],
    main: () => ({ text: "ok" }),
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { gate: false }, checkpoint: { enabled: false }, sandbox: { enabled: false } } },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeWorkflow(env);
      installPack(env);
      let served = await serve();
      const session = await createSession(served);
      const before = userState(env);
      const run = await runWorkflow(served, env, session);
      assert.equal(run.status, "done", run.error);
      assert.deepEqual(run.result!.files, ["made.txt"], "the write tool still works in the worktree");
      const results = model
        .lane("wf")
        .at(-1)!
        .body.messages.filter((m) => m.role === "tool")
        .map((m) => String(m.content));
      assert.equal(
        results.filter((t) =>
          /bash is not available to an agent working in an isolated worktree on this machine: no OS sandbox can confine it \(turned off in continuum\.jsonc/.test(
            t,
          ),
        ).length,
        2,
        results.join("\n"),
      );
      const toast = await served.waitForEvent(
        (e) => e.type === "tui.toast.show" && String(e.properties.message).includes("get no shell"),
        10000,
        "the no-sandbox toast",
      );
      assert.match(
        String(toast.properties.message),
        /helpers working in git worktrees .* get no shell: no OS sandbox can confine it here/,
      );
      assert.equal(
        served.events.filter(
          (e) => e.type === "tui.toast.show" && String(e.properties.message).includes("get no shell"),
        ).length,
        1,
        "told once",
      );
      assert.deepEqual(userState(env), before);
    },
  );
});
