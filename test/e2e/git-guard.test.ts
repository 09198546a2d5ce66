// The git guard in real OpenCode with the scripted model, one server: the compose agent's `git --no-pager reset --hard`
// and `git -C . stash` (which walked past the old prefix rules) reach OpenCode's own permission prompt instead of
// running; rejecting it leaves the user's dirty tree, index and stash list as they were. Hidden helpers (a workflow
// agent in the project and one in a worktree) trying `env git stash`, `git --no-pager tag t`, `git -C <project> stash`
// and `cd <project> && git --no-pager branch y` are refused with a message naming the command; nothing changes.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest, ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import { killAll, type BusEvent, type Served } from "../harness/opencode.ts";
import { createSession, sleep, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { CONFIRM_MARKER } from "../../plugins/core/shell-guard.ts";

after(killAll);

const bash = (command: string): ScriptedReply => ({
  toolCalls: [{ name: "bash", args: { command, description: "git" } }],
});
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
};
const git = (dir: string, ...args: string[]) => execFileSync("git", args, { cwd: dir, env: gitEnv, encoding: "utf8" });

/** The user's work in progress: a stash entry, a staged file, a modified tracked file, an untracked file. */
function dirtyTree(dir: string): void {
  writeFileSync(join(dir, "kept.txt"), "stashed earlier\n");
  git(dir, "add", "kept.txt");
  git(dir, "stash", "push", "-q", "-m", "the user's stash");
  writeFileSync(join(dir, "staged.txt"), "staged work\n");
  git(dir, "add", "staged.txt");
  writeFileSync(join(dir, "README.md"), "# scripted test project\nunsaved edit\n");
  writeFileSync(join(dir, "untracked.txt"), "new file\n");
}

function snapshot(dir: string): Record<string, string> {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir)
    .filter((n) => n !== ".git" && n !== ".opencode")
    .sort()) {
    const path = join(dir, name);
    hash.update(name).update(existsSync(path) ? readFileSync(path) : "");
  }
  return {
    status: git(dir, "status", "--porcelain"),
    stash: git(dir, "stash", "list"),
    refs: git(dir, "for-each-ref"),
    index: git(dir, "diff", "--cached"),
    worktrees: git(dir, "worktree", "list", "--porcelain"),
    files: hash.digest("hex"),
  };
}

let projectDir = "";
/** What each hidden helper tries, one bash call per model call (the project path is known once the env exists). */
const helperTries = () => [
  "env git stash",
  "git --no-pager tag t",
  `git -C ${projectDir} stash`,
  `cd ${projectDir} && git --no-pager branch y`,
];
const isWorkflowRequest = (r: Pick<RecordedRequest, "lastUserText">) => r.lastUserText.startsWith("WF ");
const toolTurns = (r: RecordedRequest) => r.body.messages.filter((m) => m.role === "tool").length;

function runs(env: IsolatedEnv): { id: string; status: string; error?: string }[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  return readdirSync(projects).flatMap((project) => {
    const dir = join(projects, project, "workflows");
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((id) =>
      existsSync(join(dir, id, "run.json")) ? [JSON.parse(readFileSync(join(dir, id, "run.json"), "utf8"))] : [],
    );
  });
}

/** The next permission question of the session; on a timeout the error shows what its tool calls did instead. */
async function askedFor(served: Served, sessionId: string, since: number): Promise<BusEvent> {
  try {
    return await served.waitForEvent(
      (e) => e.type === "permission.asked" && e.properties.sessionID === sessionId && served.events.indexOf(e) >= since,
      30000,
      "a permission question",
    );
  } catch (error) {
    const messages = await served.client.session.messages({ path: { id: sessionId } });
    const tools = (messages.data ?? []).flatMap((m) =>
      m.parts.filter((p) => p.type === "tool").map((p) => (p as { state: unknown }).state),
    );
    throw new Error(`${(error as Error).message}; tool calls: ${JSON.stringify(tools).slice(-1500)}`);
  }
}

const idles = (served: Served, sessionId: string) =>
  served.events.filter((e) => e.type === "session.idle" && e.properties.sessionID === sessionId).length;

async function reply(served: Served, asked: BusEvent, response: "reject" | "once" | "always"): Promise<void> {
  const answered = await served.client.postSessionIdPermissionsPermissionId({
    path: { id: asked.properties.sessionID, permissionID: asked.properties.id },
    body: { response },
  });
  assert.equal(answered.error, undefined, JSON.stringify(answered.error));
}

test("git guard: compose asks through OpenCode's permission prompt; rejected, nothing ran; a hidden helper is refused", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "wf",
        match: isWorkflowRequest,
        replies: (r): ScriptedReply => helperTries().map(bash)[toolTurns(r)] ?? { text: "gave up" },
      },
    ],
    exhausted: { text: "ok" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { tasks: { gate: false } } },
      install: false,
    },
    async ({ env, model, serve }) => {
      projectDir = env.projectDir;
      const workflows = join(env.projectDir, ".opencode", "workflows");
      mkdirSync(workflows, { recursive: true });
      writeFileSync(
        join(workflows, "gitty.js"),
        `export const meta = { name: "gitty", description: "tries git" };\nexport default async function () { return [await agent("WF try git"), await agent("WF try git in a worktree", { isolation: "worktree" })]; }`,
      );
      dirtyTree(env.projectDir);
      installPack(env);
      const served = await serve();
      const before = snapshot(env.projectDir);
      const session = await createSession(served);

      for (const [index, command] of ["git --no-pager reset --hard", "git -C . stash"].entries()) {
        const since = served.events.length;
        const idle = idles(served, session);
        // A rejected question ends the turn: no model call follows it.
        model.push("main", bash(command));
        const sent: { error?: unknown } = await served.client.session.promptAsync({
          path: { id: session },
          body: { agent: "compose", parts: [{ type: "text", text: `clean up ${index}` }] },
        });
        assert.equal(sent.error, undefined);
        const asked = await askedFor(served, session, since);
        assert.equal(asked.properties.permission, "bash");
        const patterns = asked.properties.patterns as string[];
        assert.ok(
          patterns.some((p) => p.startsWith("continuum_confirm=1 : ") && p.includes(command)),
          `the question names the danger: ${JSON.stringify(patterns)}`,
        );
        assert.ok(patterns.includes(command), "and shows the command itself");
        await reply(served, asked, "reject");
        await served.waitForIdle(session, idle + 1, 60000);
        assert.deepEqual(
          snapshot(env.projectDir),
          before,
          `${command}: the user's tree, index, stash and refs are unchanged`,
        );
      }

      // A hidden helper: refused outright, with the command named; nothing asked, nothing changed.
      const since = served.events.length;
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "workflow", arguments: "gitty" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      await until(() => runs(env).find((r) => r.status !== "running"), 90000, "the workflow run to end");
      // Both agents, in the project and in a worktree, got every try back refused, the command named.
      const results = model
        .lane("wf")
        .filter((r) => toolTurns(r) > 0)
        .map((r) => JSON.stringify(r.body.messages.at(-1)));
      assert.equal(results.length, 2 * helperTries().length, "every tool call came back to its helper");
      const named = ["git stash", "git --no-pager tag t", `git -C ${projectDir} stash`, "git --no-pager branch y"];
      for (const [i, result] of results.entries())
        assert.match(
          result,
          new RegExp(
            `Refused by the pack's git guard[\\s\\S]*${named[i % named.length]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
          ),
          result,
        );
      assert.equal(
        served.events.slice(since).filter((e) => e.type === "permission.asked" && e.properties.permission === "bash")
          .length,
        0,
        "nobody was asked for the hidden helper",
      );
      assert.deepEqual(snapshot(env.projectDir), before, "the helper changed nothing");

      // "Always" on a guard question: OpenCode offers and stores `: *` (the marker's words without its assignment),
      // which never matches a marker line, so the next guard question, in a new session too, is asked again.
      const alwaysSince = served.events.length;
      const alwaysIdle = idles(served, session);
      model.push("main", bash("git branch -D no-such-branch-1"), { text: "tried" });
      await served.client.session.promptAsync({
        path: { id: session },
        body: { agent: "compose", parts: [{ type: "text", text: "delete one" }] },
      });
      const first = await askedFor(served, session, alwaysSince);
      assert.deepEqual(first.properties.always, [": *", "git branch *"]);
      await reply(served, first, "always");
      await served.waitForIdle(session, alwaysIdle + 1, 60000);
      for (const target of [session, await createSession(served)]) {
        const since = served.events.length;
        const idle = idles(served, target);
        model.push("main", bash("git branch -D no-such-branch-2"));
        await served.client.session.promptAsync({
          path: { id: target },
          body: { agent: "compose", parts: [{ type: "text", text: "delete two" }] },
        });
        const again = await askedFor(served, target, since);
        assert.ok(
          (again.properties.patterns as string[]).some((p) => p.startsWith(CONFIRM_MARKER)),
          "asked again after Always",
        );
        await reply(served, again, "reject");
        await served.waitForIdle(target, idle + 1, 60000);
      }
      await sleep(200);
    },
  );
});
