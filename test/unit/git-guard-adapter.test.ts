// The git guard's adapter against the fake host: one tool.execute.before for every session. A compose (or max)
// session gets its dangerous command put behind the marker its ask rule catches, in the host's own args object; a
// hidden helper is refused before its worktree rewrite; a subagent a guarded agent started is refused; the user's
// build agent and every non-bash tool are untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";
import { CONFIRM_MARKER } from "../../plugins/core/shell-guard.ts";

async function helperSession(host: FakeHost, worktree?: { dir: string; projectDir: string }) {
  const channel = host.context.helpers.resultChannel("gg_result", {
    description: "test",
    args: { done: z.boolean() },
    reserved: "only for test runs",
    accept: () => ({ ok: true, value: true, reply: "ok" }),
  });
  const parent = await host.createSession();
  const run = host.context.helpers.run({
    feature: "test",
    agent: "max-builder",
    parentSessionId: parent,
    title: "t",
    prompt: "build",
    channel,
    context: undefined,
    timeoutMs: 5000,
    retries: 0,
    ...(worktree ? { worktree } : {}),
  });
  const child = await new Promise<string>((resolve) => {
    const poll = () => {
      const view = host.context.helpers.list().find((v) => v.childSessionId);
      if (view?.childSessionId) resolve(view.childSessionId);
      else setTimeout(poll, 5);
    };
    poll();
  });
  const stop = async () => {
    host.context.helpers.cancelFor(parent, "test over");
    await run;
  };
  return { child, stop };
}

test("compose asks through its marker, in place; build and other tools are untouched; writes run in compose", async () => {
  await withFakeHost({}, async (host) => {
    const before = host.hooks["tool.execute.before"]!;
    const compose = await host.createSession();
    await host.userMessage(compose, "clean up", { agent: "compose" });
    const args: Record<string, unknown> = { command: "git --no-pager reset --hard", description: "reset" };
    await before({ tool: "bash", sessionID: compose, callID: "c1" }, { args });
    assert.match(
      String(args.command),
      new RegExp(`^${CONFIRM_MARKER} '.*discards uncommitted changes'\\ngit --no-pager reset --hard$`),
    );
    assert.equal(args.description, "reset");
    const commit: Record<string, unknown> = { command: "git commit -m x" };
    await before({ tool: "bash", sessionID: compose, callID: "c2" }, { args: commit });
    assert.equal(commit.command, "git commit -m x", "a commit in the user's own session is the user's agent's work");

    const build = await host.createSession();
    await host.userMessage(build, "clean up", { agent: "build" });
    const mine: Record<string, unknown> = { command: "git -C . stash" };
    await before({ tool: "bash", sessionID: build, callID: "c3" }, { args: mine });
    assert.equal(mine.command, "git -C . stash", "the user's own agent is not guarded");

    // The same session switched to build for the next turn: the guard follows the turn's agent.
    await host.userMessage(compose, "now as build", { agent: "build" });
    const switched: Record<string, unknown> = { command: "git stash" };
    await before({ tool: "bash", sessionID: compose, callID: "c4" }, { args: switched });
    assert.equal(switched.command, "git stash");

    const max = await host.createSession();
    // (A real max turn would start its planners first; the session layer's record of the turn's agent is what counts.)
    const turn = {
      type: "turn.started",
      sessionId: max,
      origin: "pack",
      text: "",
      agent: "max",
      addContext() {},
    } as const;
    await host.context.sessions.dispatch(turn);
    const maxArgs: Record<string, unknown> = { command: "env git stash" };
    await before({ tool: "bash", sessionID: max, callID: "c5" }, { args: maxArgs });
    assert.ok(String(maxArgs.command).startsWith(CONFIRM_MARKER), "max asks too");

    // A subagent compose started through the task tool cannot ask (no marker rule): refused.
    const again = await host.createSession();
    await host.userMessage(again, "x", { agent: "compose" });
    const sub = await host.createSession(again);
    await host.userMessage(sub, "do it", { agent: "general" });
    await assert.rejects(
      before({ tool: "bash", sessionID: sub, callID: "c6" }, { args: { command: "git checkout -- a" } }),
      /Refused by the pack's git guard/,
    );

    const read: Record<string, unknown> = { filePath: "git stash" };
    await before({ tool: "read", sessionID: again, callID: "c7" }, { args: read });
    assert.deepEqual(read, { filePath: "git stash" });
  });
});

test("a hidden helper is refused, before its worktree rewrite, with the command named; read-only git still runs", async () => {
  await withFakeHost({ onPrompt: (host, sessionId) => void host.busy.add(sessionId) }, async (host) => {
    const before = host.hooks["tool.execute.before"]!;
    const { child, stop } = await helperSession(host, { dir: "/data/wt/wt-9", projectDir: host.projectDir });
    for (const command of [
      `git -C ${host.projectDir} stash`,
      "env git stash",
      "git --no-pager tag t",
      "git --no-pager branch y",
      "$GIT status",
    ]) {
      await assert.rejects(
        before({ tool: "bash", sessionID: child, callID: "h" }, { args: { command } }),
        /Refused by the pack's git guard \(nothing ran\)/,
        command,
      );
    }
    await assert.rejects(
      before({ tool: "bash", sessionID: child, callID: "h" }, { args: { command: "git --no-pager tag t" } }),
      /`git --no-pager tag t`: writes the repository's shared git state/,
    );
    const status: Record<string, unknown> = { command: "git status && npm test" };
    await before({ tool: "bash", sessionID: child, callID: "h2" }, { args: status });
    // Passed by the guard, then wrapped by the OS sandbox (core/sandbox.ts) around the very same command.
    assert.match(String(status.command), /-- bash -c 'git status && npm test'$/);
    assert.equal(status.workdir, "/data/wt/wt-9", "then confined as before");
    await stop();
  });
});
