// The adapter's side of worktree confinement against the fake host: a helper run with a worktree gets its tool
// arguments moved into the worktree before OpenCode executes them, is refused paths outside it, and has OpenCode's
// external_directory question answered only for paths inside its own worktree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";
import { sandboxFor } from "../../plugins/core/sandbox.ts";
import { confineToolArgs } from "../../plugins/core/confinement.ts";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function confinedRun(host: FakeHost) {
  const channel = host.context.helpers.resultChannel("wt_result", {
    description: "test",
    args: { done: z.boolean() },
    reserved: "only for test runs",
    accept: () => ({ ok: true, value: true, reply: "ok" }),
  });
  const parent = await host.createSession();
  const worktree = { dir: "/data/wt/wt-1", projectDir: host.projectDir };
  const run = host.context.helpers.run({
    feature: "test",
    agent: "builder",
    parentSessionId: parent,
    title: "t",
    prompt: "build",
    channel,
    context: undefined,
    timeoutMs: 5000,
    retries: 0,
    worktree,
  });
  const child = await new Promise<string>((resolve) => {
    const poll = () => {
      const view = host.context.helpers.list().find((v) => v.childSessionId);
      if (view?.childSessionId) resolve(view.childSessionId);
      else setTimeout(poll, 5);
    };
    poll();
  });
  return { run, child, worktree };
}

test("a confined helper's tool arguments are moved into its worktree in place; outside paths and sub-agents are refused", async () => {
  await withFakeHost({ onPrompt: (host, sessionId) => void host.busy.add(sessionId) }, async (host) => {
    const { run, child } = await confinedRun(host);
    const before = host.hooks["tool.execute.before"]!;
    const args: Record<string, unknown> = { filePath: `${host.projectDir}/src/a.ts`, content: "x" };
    await before({ tool: "write", sessionID: child, callID: "c1" }, { args });
    assert.equal(args.filePath, "/data/wt/wt-1/src/a.ts", "the host's own args object was edited");
    const bash: Record<string, unknown> = { command: `ls ${host.projectDir}`, description: "list" };
    await before({ tool: "bash", sessionID: child, callID: "c2" }, { args: bash });
    assert.equal(bash.workdir, "/data/wt/wt-1");
    const sandbox = sandboxFor({ enabled: true, network: false });
    if (sandbox.kind === "none") assert.fail(`this test needs a sandbox: ${sandbox.reason}`);
    // The project's path moved into the worktree, then the whole command wrapped so the OS keeps it there.
    assert.equal(
      bash.command,
      sandbox.commandLine("ls /data/wt/wt-1", {
        writable: "/data/wt/wt-1",
        cwd: "/data/wt/wt-1",
        readOnly: [],
        protect: ["/data/wt/wt-1/.git"],
      }),
    );
    await assert.rejects(
      before({ tool: "read", sessionID: child, callID: "c3" }, { args: { filePath: "/etc/passwd" } }),
      /outside your worktree/,
    );
    await assert.rejects(
      before({ tool: "task", sessionID: child, callID: "c4" }, { args: { prompt: "x" } }),
      /not available/,
    );
    const mainArgs: Record<string, unknown> = { filePath: "/etc/passwd" };
    const parent = await host.createSession();
    await before({ tool: "read", sessionID: parent, callID: "c5" }, { args: mainArgs });
    assert.equal(mainArgs.filePath, "/etc/passwd", "sessions that are not confined are left alone");
    host.context.helpers.cancelFor(host.context.helpers.list()[0]!.parentSessionId, "test over");
    await run;
  });
});

test("external_directory is granted once for the worktree's own paths only", async () => {
  await withFakeHost({ onPrompt: (host, sessionId) => void host.busy.add(sessionId) }, async (host) => {
    const { run, child } = await confinedRun(host);
    await host.emit("permission.asked", {
      id: "per_1",
      sessionID: child,
      permission: "external_directory",
      patterns: ["/data/wt/wt-1/src/*"],
      metadata: { filepath: "/data/wt/wt-1/src/a.ts", parentDir: "/data/wt/wt-1/src" },
    });
    await host.emit("permission.asked", {
      id: "per_2",
      sessionID: child,
      permission: "external_directory",
      patterns: ["/etc/*"],
      metadata: { filepath: "/etc/passwd" },
    });
    await host.emit("permission.asked", { id: "per_3", sessionID: child, permission: "bash", patterns: ["rm -rf /"] });
    const other = await host.createSession();
    await host.emit("permission.asked", {
      id: "per_4",
      sessionID: other,
      permission: "external_directory",
      patterns: ["/data/wt/wt-1/*"],
    });
    const replies = host.calls.filter((c) => c.method === "permission.reply");
    assert.deepEqual(
      replies.map((c) => [c.sessionId, c.body!.permissionID, c.body!.response]),
      [[child, "per_1", "once"]],
    );
    host.context.helpers.cancelFor(host.context.helpers.list()[0]!.parentSessionId, "test over");
    await run;
  });
});

test("without a sandbox a confined helper gets no shell: bash is refused with the reason, the user is told once; file tools still work", async () => {
  await withFakeHost(
    { onPrompt: (host, sessionId) => void host.busy.add(sessionId), continuum: { sandbox: { enabled: false } } },
    async (host) => {
      const { run, child } = await confinedRun(host);
      const before = host.hooks["tool.execute.before"]!;
      for (const callID of ["c1", "c2"]) {
        await assert.rejects(
          before({ tool: "bash", sessionID: child, callID }, { args: { command: "ls", description: "list" } }),
          /bash is not available to an agent working in an isolated worktree on this machine: no OS sandbox can confine it \(turned off in continuum\.jsonc/,
        );
      }
      assert.equal(host.toasts.filter((t) => t.includes("get no shell")).length, 1, "told once");
      const args: Record<string, unknown> = { filePath: "src/a.ts", content: "x" };
      await before({ tool: "write", sessionID: child, callID: "c3" }, { args });
      assert.equal(args.filePath, "/data/wt/wt-1/src/a.ts");
      const parent = await host.createSession();
      const mainBash: Record<string, unknown> = { command: "ls" };
      await before({ tool: "bash", sessionID: parent, callID: "c4" }, { args: mainBash });
      assert.deepEqual(mainBash, { command: "ls" }, "the user's own sessions are not confined");
      host.context.helpers.cancelFor(host.context.helpers.list()[0]!.parentSessionId, "test over");
      await run;
    },
  );
});

test("a write through a symlink made in the worktree is refused (the link leads into the project); reads and real files are not", () => {
  const base = mkdtempSync(join(tmpdir(), "confine-links-"));
  try {
    const project = join(base, "project");
    const dir = join(base, "wt");
    mkdirSync(join(project, "node_modules", "dep"), { recursive: true });
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(project, "a.txt"), "user\n");
    symlinkSync(join(project, "a.txt"), join(dir, "a.txt"));
    symlinkSync(project, join(dir, "up"));
    symlinkSync(join(project, "node_modules"), join(dir, "node_modules"));
    const confinement = { dir, projectDir: project };
    for (const [tool, args] of [
      ["write", { filePath: "a.txt", content: "x" }],
      ["edit", { filePath: join(dir, "up", "new.txt"), oldString: "", newString: "x" }],
      ["write", { filePath: join(project, "node_modules", "dep", "index.js"), content: "x" }],
      ["apply_patch", { patchText: "*** Begin Patch\n*** Add File: up/b.txt\n+x\n*** End Patch" }],
    ] as const) {
      const result = confineToolArgs(tool, args, confinement);
      assert.equal(result.ok, false, `${tool} ${JSON.stringify(args)}`);
      assert.match((result as { message: string }).message, /through a symlink/);
    }
    assert.equal(confineToolArgs("write", { filePath: "src/new.ts", content: "x" }, confinement).ok, true);
    assert.equal(confineToolArgs("read", { filePath: "a.txt" }, confinement).ok, true, "reading is not writing");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
