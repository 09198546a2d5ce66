// The runner's additive modes for workflows (final text without a result channel, per-run tool switches) and the
// workflow feature through the real entry on the fake host: workflow_result's per-call schema and its refusal
// outside a run, the permission rule, the tool and the command, the ledger under "workflow".
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";
import { finalAssistantText } from "../../plugins/core/helpers.ts";

type Reply = (host: FakeHost, sessionId: string, body: Record<string, any>) => Promise<void> | void;

/** The "model" of a child session: each prompt takes the next reply. */
function scripted(replies: Reply[]) {
  return async (host: FakeHost, sessionId: string, body: Record<string, any>) => {
    if (!host.parents.has(sessionId)) return;
    await replies.shift()?.(host, sessionId, body);
  };
}

const saysText =
  (text: string): Reply =>
  async (host, sessionId) => {
    await host.finishCall(sessionId, { input: 300, output: 20 });
    host.messages.get(sessionId)!.at(-1)!.parts.push({ type: "text", text });
    await host.idle(sessionId);
  };

const callsResult =
  (args: unknown): Reply =>
  async (host, sessionId) => {
    await host.callTool("workflow_result", args, sessionId).catch(() => undefined);
    await host.finishCall(sessionId, { input: 400, output: 30 }, { finish: "tool-calls" });
    await host.idle(sessionId);
  };

test("runner final-text mode: no channel, the value is the child's last assistant text; none at all is no-result after a retry", async () => {
  const replies: Reply[] = [saysText("the answer is 4"), saysText(""), saysText("")];
  await withFakeHost({ onPrompt: scripted(replies) }, async (host) => {
    const parent = await host.createSession();
    const request = {
      feature: "workflow",
      agent: "general",
      parentSessionId: parent,
      title: "t",
      prompt: "2+2?",
      context: undefined,
      timeoutMs: 5000,
      retries: 1,
    };
    const outcome = await host.context.helpers.run<string, undefined>(request);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.ok && outcome.value, "the answer is 4");
    const failed = await host.context.helpers.run<string, undefined>(request);
    assert.equal(!failed.ok && failed.failure, "no-result");
    assert.match(!failed.ok ? failed.message : "", /without a final text answer/);
    const retry = host.calls
      .filter((c) => c.method === "promptAsync" && c.sessionId === failed.childSessionId)
      .map((c) => c.body!.parts[0].text);
    assert.deepEqual(retry, ["2+2?", "You ended without an answer. Reply with your final answer as text."]);
  });
});

test("finalAssistantText skips synthetic and ignored parts, summaries and user messages", () => {
  const msg = (role: string, parts: Record<string, unknown>[], extra = {}) => ({
    info: { id: "m", sessionID: "s", role, ...extra },
    parts: parts as never,
  });
  assert.equal(
    finalAssistantText([
      msg("assistant", [{ type: "text", text: "old" }]),
      msg("assistant", [{ type: "tool" }]),
      msg("user", [{ type: "text", text: "u" }]),
    ]),
    "old",
  );
  assert.equal(finalAssistantText([msg("assistant", [{ type: "text", text: "x", synthetic: true }])]), undefined);
  assert.equal(finalAssistantText([msg("assistant", [{ type: "text", text: "s" }], { summary: true })]), undefined);
  assert.equal(
    finalAssistantText([
      msg("assistant", [
        { type: "text", text: "a" },
        { type: "text", text: "b" },
      ]),
    ]),
    "a\nb",
  );
});

test("workflow_result: denied to every agent by config, switched on per run; refused outside a run; validated against the call's schema", async () => {
  const replies: Reply[] = [callsResult({ result: { n: "seven" } }), callsResult({ result: '{"n": 7}' })];
  await withFakeHost({ onPrompt: scripted(replies) }, async (host) => {
    const cfg: Record<string, any> = { agent: {}, command: {} };
    await host.hooks.config?.(cfg as never);
    assert.equal(cfg.permission.workflow_result, "deny");
    await assert.rejects(
      host.callTool("workflow_result", { result: 1 }, "ses_outsider"),
      /only records the result of an agent started by a workflow script/,
    );

    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "one.js"),
      `export const meta = { name: "one", description: "one schema call" };
export default async function (args) {
  return agent("count " + args.what, { schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] }, label: "counter" });
}`,
    );
    const parent = await host.createSession();
    const output = await host.callTool("workflow", { action: "run", name: "one", args: { what: "apples" } }, parent);
    assert.match(output, /· done/);
    assert.match(output, /"n": 7/);
    const prompts = host.calls.filter((c) => c.method === "promptAsync" && host.parents.get(c.sessionId!) === parent);
    assert.deepEqual(prompts[0]!.body!.tools, { workflow_result: true, workflow: false });
    assert.equal(prompts[0]!.body!.agent, "general");
    assert.match(prompts[0]!.body!.parts[0].text, /^count apples\n\nWhen you are done, call the workflow_result tool/);
    assert.match(prompts[1]!.body!.parts[0].text, /Your result was not recorded: \/n must be integer/);
    const [row] = host.context.ledger!.runs({ sessionId: parent });
    assert.equal(row!.feature, "workflow");
    assert.match(String(row!.reason), /workflow one wf_.*: counter/);
  });
});

test("a workflow agent is not offered the workflow tool and cannot start one (nor can its sub-sessions); helpers never start helpers, so one slot cannot deadlock", async () => {
  const seen: string[] = [];
  const triesToNest: Reply = async (host, sessionId) => {
    await host.callTool("workflow", { action: "run", name: "nest" }, sessionId).then(
      (out) => seen.push(`ran: ${out}`),
      (error) => seen.push(String(error.message)),
    );
    const sub = await host.createSession(sessionId);
    await host.callTool("workflow", { action: "run", name: "nest", background: true }, sub).then(
      (out) => seen.push(`ran: ${out}`),
      (error) => seen.push(String(error.message)),
    );
    const started = Date.now();
    const helper = await host.context.helpers.run<string, undefined>({
      feature: "workflow",
      agent: "general",
      parentSessionId: sub,
      title: "t",
      prompt: "p",
      context: undefined,
      timeoutMs: 60_000,
      retries: 0,
    });
    seen.push(`${!helper.ok && helper.message} in ${Date.now() - started} ms`);
    await saysText("gave up")(host, sessionId, {});
  };
  // One helper slot: before, the nested run's agent waited for the slot its own caller held, until the agent timeout.
  await withFakeHost(
    { onPrompt: scripted([triesToNest]), continuum: { agents: { maxConcurrent: 1 } } },
    async (host) => {
      const dir = join(host.projectDir, ".opencode", "workflows");
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "nest.js"),
        `export const meta = { name: "nest", description: "tries to nest" };\nexport default async function () { return agent("start the nest workflow"); }`,
      );
      const parent = await host.createSession();
      const output = await host.callTool("workflow", { action: "run", name: "nest" }, parent);
      assert.match(output, /· done/);
      assert.match(output, /Result:\ngave up/);
      const prompt = host.calls.find((c) => c.method === "promptAsync" && host.parents.get(c.sessionId!) === parent)!;
      assert.deepEqual(prompt.body!.tools, { workflow: false });
      assert.equal(seen.length, 3, seen.join("\n"));
      assert.match(seen[0]!, /Refused: agents started by the pack .* do not start workflows/);
      assert.match(seen[1]!, /Refused: agents started by the pack .* do not start workflows/);
      assert.match(seen[2]!, /helpers do not start helpers/);
      assert.ok(Number(/in (\d+) ms/.exec(seen[2]!)![1]) < 1000, seen[2]);
      assert.equal(host.context.helpers.list().filter((v) => v.state === "running" || v.state === "queued").length, 0);
    },
  );
});

test("/workflow runs in the background and posts its result in the session; list, status, unknown names and bad args", async () => {
  await withFakeHost({ onPrompt: scripted([saysText("hello from the agent")]) }, async (host) => {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "greet.js"),
      `export const meta = { name: "greet", description: "says hello" };\nexport default async function (args) { phase("ask"); log("asking", args); return { said: await agent("say hello to " + args) }; }`,
    );
    const session = await host.createSession();
    await host.command(session, "workflow", "greet world");
    const started = host.reports.at(-1)!;
    assert.match(started, /Started run (wf_\S+) of greet/);
    const runId = /run (wf_\S+)/.exec(started)![1]!;
    // The notice waits for the report of /workflow to settle (its turn over, the session back on its own model).
    for (
      let i = 0;
      i < 1000 &&
      !host.calls.some((c) => c.method === "prompt" && String(c.body?.parts?.[0]?.text).includes(`Run ${runId}`));
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    const notice = host.calls.find(
      (c) => c.method === "prompt" && String(c.body?.parts?.[0]?.text).includes(`Run ${runId}`),
    )!;
    assert.match(notice.body!.parts[0].text, /"said": "hello from the agent"/);
    assert.match(notice.body!.parts[0].text, /\[phase\] ask/);
    assert.match(notice.body!.parts[0].text, /\[log\] asking world/);
    assert.ok(host.toasts.some((t) => /Workflow greet done/.test(t)));
    await host.command(session, "workflow", "list");
    assert.match(host.reports.at(-1)!, /greet \(project\): says hello/);
    await host.command(session, "workflow", `status ${runId}`);
    assert.match(host.reports.at(-1)!, /run wf_\S+ · done/);
    await host.command(session, "workflow", "nope");
    assert.match(host.reports.at(-1)!, /unknown workflow "nope"/);
    await assert.rejects(host.callTool("workflow", { action: "run" }, session), /run needs name/);
    await assert.rejects(host.callTool("workflow", { action: "explode" }, session), /action/);
    await assert.rejects(
      host.callTool("workflow", { action: "resume", runId: "wf_missing" }, session),
      /no workflow run wf_missing/,
    );
  });
});

test('isolation: "worktree": the agent works in a worktree; its value comes back with the diff and files, the project is untouched', async () => {
  const editsWorktree: Reply = async (host, sessionId) => {
    const root = host.context.worktrees.root;
    const [dir] = readdirSync(root).filter(
      (name) => name.startsWith("wt-") && statSync(join(root, name)).isDirectory(),
    );
    writeFileSync(join(root, dir!, "new.txt"), "made in the worktree\n");
    await saysText("edited")(host, sessionId, {});
  };
  await withFakeHost({ onPrompt: scripted([editsWorktree]) }, async (host) => {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "iso.js"),
      `export const meta = { name: "iso", description: "isolated" };\nexport default async function () { return agent("edit", { isolation: "worktree" }); }`,
    );
    const parent = await host.createSession();
    const notRepo = await host.callTool("workflow", { action: "run", name: "iso" }, parent);
    assert.match(notRepo, /needs the project to be a git repository/);
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: host.projectDir,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@t",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@t",
        },
      });
    git("init", "-q");
    writeFileSync(join(host.projectDir, "README.md"), "# p\n");
    git("add", "README.md");
    git("commit", "-q", "-m", "init");
    const output = await host.callTool("workflow", { action: "run", name: "iso" }, parent);
    assert.match(output, /· done/);
    assert.match(output, /"value": "edited"/);
    assert.match(output, /new\.txt/);
    assert.match(output, /\+made in the worktree/);
    assert.equal(existsSync(join(host.projectDir, "new.txt")), false);
    assert.deepEqual(
      readdirSync(host.context.worktrees.root).filter((n) => n.startsWith("wt-")),
      [],
    );
  });
});

test("the workflow tool: a background run returns at once; wait gives its end; status and cancel name unknown runs", async () => {
  await withFakeHost({ onPrompt: scripted([saysText("slow answer")]) }, async (host) => {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "bg.js"),
      `export const meta = { name: "bg", description: "background" };\nexport default async function () { return agent("go"); }`,
    );
    const parent = await host.createSession();
    const started = await host.callTool("workflow", { action: "run", name: "bg", background: true }, parent);
    const runId = /Started run (wf_\S+) of bg in the background/.exec(started)?.[1];
    assert.ok(runId, started);
    const waited = await host.callTool("workflow", { action: "wait", runId }, parent);
    assert.match(waited, /· done/);
    assert.match(waited, /Result:\nslow answer/);
    assert.match(await host.callTool("workflow", { action: "status" }, parent), new RegExp(`${runId}  bg  done`));
    assert.match(
      await host.callTool("workflow", { action: "status", runId: "wf_nope" }, parent),
      /No workflow run wf_nope/,
    );
    assert.match(await host.callTool("workflow", { action: "cancel", runId }, parent), /No running workflow run/);
    assert.match(await host.callTool("workflow", { action: "list" }, parent), /bg \(project\): background/);
  });
});

test("/agents lists a workflow run in progress with its phase, agents and tokens, and /agents cancel stops it", async () => {
  // The agent never answers: the run stays in progress until it is cancelled.
  await withFakeHost({ onPrompt: (host, sessionId) => void host.busy.add(sessionId) }, async (host) => {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "slow.js"),
      `export const meta = { name: "slow", description: "waits" };\nexport default async function () { phase("waiting"); return agent("wait for ever"); }`,
    );
    const session = await host.createSession();
    await host.command(session, "workflow", "slow");
    const runId = /run (wf_[A-Za-z0-9_]+)/.exec(host.reports.at(-1)!)![1]!;
    const deadline = Date.now() + 5000;
    while (!host.context.helpers.list().some((r) => r.state === "running") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await host.command(session, "agents");
    const listing = host.reports.at(-1)!;
    assert.match(
      listing,
      new RegExp(
        `Workflow runs in progress[^]*slow · ${runId} · agents 1 running, 0 waiting for a slot, 0 done; 0 tokens; phase: waiting`,
      ),
    );
    await host.command(session, "agents", `cancel ${runId}`);
    assert.match(host.reports.at(-1)!, new RegExp(`Cancelled ${runId}`));
    const until = Date.now() + 5000;
    while (host.context.services.workflow!.running().length > 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(host.context.services.workflow!.running(), [], "the run stopped");
  });
});
