// The runtime core through the real entry on a small fake host: the helper runner (results, retries, timeouts,
// cancellation, the concurrency limit, no "done" call), the ledger, the session layer's lifecycle, and the rule that
// features never reach into each other's internals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";
import { REPO_ROOT } from "../harness/env.ts";
import { createSessionLayer, slot } from "../../plugins/core/sessions.ts";
import { classifyMessage } from "../../plugins/core/pack-text.ts";

type Reply = (host: FakeHost, sessionId: string, body: Record<string, any>) => Promise<void> | void;

/** What a helper session's "model" does next, per host (each prompt takes the next reply). */
const replyQueue = new WeakMap<FakeHost, Reply[]>();
const answerFromQueue: Reply = async (host, sessionId, body) => {
  if (!host.parents.has(sessionId)) return;
  await replyQueue.get(host)?.shift()?.(host, sessionId, body);
};

/** Runs fn while the fake host answers helper prompts with the given replies. */
async function runWith<T>(host: FakeHost, replies: Reply[], fn: () => Promise<T>): Promise<T> {
  replyQueue.set(host, replies);
  return fn();
}

/** The model calls a tool in one call, then OpenCode would start its next call: the transform hook runs first. */
const callsTool =
  (tool: string, args: unknown): Reply =>
  async (host, sessionId) => {
    await host.callTool(tool, args, sessionId).catch(() => undefined);
    await host.finishCall(sessionId, { input: 800, output: 40 }, { finish: "tool-calls" });
    await host.hooks["experimental.chat.messages.transform"]!({}, {
      messages: [...(host.messages.get(sessionId) ?? [])],
    } as never);
    if (host.busy.has(sessionId)) {
      await host.finishCall(sessionId, { input: 900, output: 5 });
      await host.idle(sessionId);
    }
  };
const saysDone: Reply = async (host, sessionId) => {
  await host.finishCall(sessionId, { input: 500, output: 10 });
  await host.idle(sessionId);
};
const hangs: Reply = async (host, sessionId) => void host.busy.add(sessionId);

function testChannel(host: FakeHost) {
  return host.context.helpers.resultChannel("test_result", {
    description: "test",
    args: { answer: z.number().int() },
    reserved: "only for test runs",
    accept: (args) =>
      args.answer === 42
        ? { ok: true, value: args.answer, reply: "ok" }
        : { ok: false, problems: ["answer must be 42"] },
  });
}

test("runner: a valid result ends the run at once; the child's next call is stopped, and the run is in the ledger", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const channel = testChannel(host);
    (host.hooks.tool as Record<string, unknown>).test_result = channel.tool;
    const parent = await host.createSession();
    const replies = [callsTool("test_result", { answer: 42 })];
    const outcome = await runWith(host, replies, () =>
      host.context.helpers.run({
        feature: "test",
        agent: "tester",
        parentSessionId: parent,
        title: "t",
        prompt: "answer",
        channel,
        context: undefined,
        timeoutMs: 5000,
        retries: 0,
      }),
    );
    assert.equal(outcome.ok, true);
    assert.equal(outcome.ok && outcome.value, 42);
    const child = outcome.childSessionId!;
    assert.ok(
      host.calls.some((c) => c.method === "abort" && c.sessionId === child),
      "the child's follow-up call was stopped",
    );
    assert.equal(
      host.messages.get(child)!.filter((m) => m.info.role === "assistant").length,
      1,
      "no 'done' call after the result",
    );
    assert.equal(outcome.usage.tokens.input, 800);
    const [row] = host.context.ledger!.runs({ sessionId: parent });
    assert.deepEqual(
      [row!.feature, row!.agent, row!.state, row!.outcome, row!.tokens],
      ["test", "tester", "done", "ok", 840],
    );
    assert.equal(host.context.helpers.activeCount(), 0);
  });
});

test("runner: an invalid result is refused with the problem and retried; after the retries the failure names it", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const channel = testChannel(host);
    (host.hooks.tool as Record<string, unknown>).test_result = channel.tool;
    const parent = await host.createSession();
    const bad = callsTool("test_result", { answer: 7 });
    const outcome = await runWith(host, [bad, bad, bad], () =>
      host.context.helpers.run({
        feature: "test",
        agent: "tester",
        parentSessionId: parent,
        title: "t",
        prompt: "answer",
        channel,
        context: undefined,
        timeoutMs: 5000,
        retries: 2,
        retryPrompt: (problem) => `again: ${problem}`,
      }),
    );
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.failure, "invalid-result");
    assert.match(!outcome.ok ? outcome.message : "", /answer must be 42/);
    assert.equal(outcome.attempts, 3);
    const prompts = host.calls
      .filter((c) => c.method === "promptAsync" && c.sessionId === outcome.childSessionId)
      .map((c) => c.body!.parts[0].text);
    assert.deepEqual(prompts.slice(1), ["again: answer must be 42", "again: answer must be 42"]);
  });
});

test("runner: wrong argument types never reach accept; no result at all is a no-result failure", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const channel = testChannel(host);
    await assert.rejects(
      host.callTool.call(host, "goal_verdict", { met: "yes" }, "ses_nobody"),
      /reserved for the goal judge|Invalid arguments/,
    );
    await assert.rejects(
      channel.tool.execute({ answer: "many" }, { sessionID: "x" } as never),
      /answer: expected int|answer: expected number/,
    );
    const parent = await host.createSession();
    const outcome = await runWith(host, [saysDone], () =>
      host.context.helpers.run({
        feature: "test",
        agent: "tester",
        parentSessionId: parent,
        title: "t",
        prompt: "p",
        channel,
        context: undefined,
        timeoutMs: 5000,
        retries: 0,
      }),
    );
    assert.equal(!outcome.ok && outcome.failure, "no-result");
  });
});

test("runner: a timeout aborts the child and counts what was sent when the host reported nothing", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const channel = testChannel(host);
    const parent = await host.createSession();
    const outcome = await runWith(host, [hangs], () =>
      host.context.helpers.run({
        feature: "test",
        agent: "tester",
        parentSessionId: parent,
        title: "t",
        prompt: "x".repeat(4000),
        channel,
        context: undefined,
        timeoutMs: 50,
        retries: 0,
      }),
    );
    assert.equal(!outcome.ok && outcome.failure, "timeout");
    assert.ok(host.calls.some((c) => c.method === "abort" && c.sessionId === outcome.childSessionId));
    assert.equal(host.busy.has(outcome.childSessionId!), false, "no child left busy");
    assert.equal(outcome.usage.estimated, true);
    assert.ok(outcome.usage.tokens.input >= 1000);
  });
});

test("runner: aborting the parent stops its helpers; the concurrency limit queues the rest; /agents cancels by id", async () => {
  await withFakeHost({ onPrompt: answerFromQueue, continuum: { agents: { maxConcurrent: 1 } } }, async (host) => {
    const channel = testChannel(host);
    const parent = await host.createSession();
    replyQueue.set(host, [hangs, hangs]);
    const request = {
      feature: "test",
      agent: "tester",
      parentSessionId: parent,
      title: "t",
      prompt: "p",
      channel,
      context: undefined,
      timeoutMs: 60000,
      retries: 0,
    };
    const first = host.context.helpers.run(request);
    const second = host.context.helpers.run({ ...request, agent: "second" });
    await until(() => host.context.helpers.list().some((r) => r.state === "running"));
    assert.deepEqual(
      host.context.helpers
        .list()
        .map((r) => r.state)
        .sort(),
      ["queued", "running"],
      "one runs, one waits for the slot",
    );
    const queued = host.context.helpers.list().find((r) => r.state === "queued")!;
    // /agents counts what really runs: one in its slot, one waiting (a workflow with 419 calls queued showed 419 running).
    await host.command(parent, "agents", "");
    assert.ok(
      host.reports.some((text) => /helper agents: 1 running \(at most 1 at once\), 1 waiting for a slot/.test(text)),
      JSON.stringify(host.reports),
    );
    const reply = await host.command(parent, "agents", `cancel ${queued.runId}`);
    assert.ok(
      host.reports.some((text) => /Cancelled/.test(text)),
      JSON.stringify(reply),
    );
    assert.equal(((await second) as { failure?: string }).failure, "aborted");
    // The user aborts the parent's turn: every helper of that session stops, and its child is not left busy.
    await host.emit("session.error", { sessionID: parent, error: { name: "MessageAbortedError" } });
    const stopped = await first;
    assert.equal(!stopped.ok && stopped.failure, "aborted");
    assert.equal(host.busy.has(stopped.childSessionId!), false);
  });
});

test("runner: `continuum agents cancel` from another process (a ledger flag) stops the run at the next model event", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const channel = testChannel(host);
    const parent = await host.createSession();
    replyQueue.set(host, [hangs]);
    const running = host.context.helpers.run({
      feature: "test",
      agent: "tester",
      parentSessionId: parent,
      title: "t",
      prompt: "p",
      channel,
      context: undefined,
      timeoutMs: 60000,
      retries: 0,
    });
    await until(() => host.context.helpers.list().some((r) => r.state === "running"));
    const runId = host.context.helpers.list()[0]!.runId;
    assert.equal(host.context.ledger!.requestCancel(runId), true, "the CLI's request is stored for a running run");
    assert.equal(host.context.ledger!.requestCancel("run_nope"), false);
    await host.finishCall(parent, { input: 10, output: 1 });
    const outcome = await running;
    assert.equal(!outcome.ok && outcome.failure, "aborted");
    assert.match(!outcome.ok ? outcome.message : "", /continuum agents cancel/);
  });
});

test("session layer: 10,000 sessions created, used and deleted leave no per-session state behind", async () => {
  await withFakeHost({}, async (host) => {
    for (let i = 0; i < 10_000; i++) {
      const id = await host.createSession();
      await host.userMessage(id, `hello ${i}`);
      await host.emit("session.deleted", { info: { id } });
    }
    assert.equal(host.context.sessions.size(), 0);
    assert.equal(host.context.helpers.activeCount(), 0);
  });
});

test("session layer: records are bounded (LRU) and slots are per session", () => {
  const layer = createSessionLayer({ isolate: async (_f, _l, run) => void (await run()), maxSessions: 3 });
  const counter = slot("count", () => ({ n: 0 }));
  for (const id of ["a", "b", "c", "d"]) layer.session(id).get(counter).n++;
  assert.equal(layer.size(), 3);
  assert.equal(layer.peek("a"), undefined, "the least recently used session was dropped");
  assert.equal(layer.session("d").get(counter).n, 1);
});

test("classifier: typed text is a person's; the pack's markers, synthetic and ignored parts are not", () => {
  assert.equal(classifyMessage([{ type: "text", text: "please continue" }]).origin, "person");
  assert.equal(classifyMessage([{ type: "text", text: "[continuum goal] not met yet" }]).origin, "pack");
  assert.equal(classifyMessage([{ type: "text", text: "## Memory (opencode-continuum)\n…" }]).origin, "pack");
  assert.equal(classifyMessage([{ type: "text", text: "x", synthetic: true }]).origin, "empty");
  assert.equal(classifyMessage([{ type: "text", text: "x", ignored: true }, { type: "file" }]).origin, "person");
});

test("ledger: the goal judge and the checkpoint writer both record runs through the one runner", async () => {
  await withFakeHost({ onPrompt: answerFromQueue }, async (host) => {
    const parent = await host.createSession();
    await host.command(parent, "goal", "tests pass");
    replyQueue.set(host, [
      callsTool("goal_verdict", {
        met: true,
        impossible: false,
        reason: "done",
        evidence: ["npm test: 3 passed"],
        missing: [],
      }),
    ]);
    await host.finishCall(parent, { input: 3000, output: 100 });
    await host.idle(parent);
    await until(() => host.context.ledger!.runs({ sessionId: parent }).some((r) => r.state !== "running"));
    replyQueue.set(host, [saysDone, saysDone, saysDone, saysDone]);
    await host.command(parent, "checkpoint");
    await until(
      () => host.context.ledger!.runs({ sessionId: parent }).filter((r) => r.state !== "running").length === 2,
    );
    const stats = host.context.ledger!.stats({ sessionId: parent });
    assert.equal(stats.features.goal!.runs, 1);
    assert.equal(stats.features.checkpoint!.runs, 1);
    assert.equal(stats.worker.calls, 1);
    assert.equal(stats.worker.inputTokens, 3000);
    assert.ok(stats.overheadRatio > 0);
  });
});

test("features talk through interfaces: no feature folder imports another feature's files", () => {
  const notFeatures = new Set(["core", "opencode", "cli"]);
  const features = readdirSync(join(REPO_ROOT, "plugins"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !notFeatures.has(d.name))
    .map((d) => d.name);
  assert.ok(features.length >= 7, `feature folders found: ${features.join(", ")}`);
  const offenders: string[] = [];
  for (const feature of features) {
    const dir = join(REPO_ROOT, "plugins", feature);
    for (const name of readdirSync(dir, { recursive: true })
      .map(String)
      .filter((n) => n.endsWith(".ts"))) {
      const source = readFileSync(join(dir, name), "utf8");
      for (const match of source.matchAll(/from\s+"\.\.\/([a-z-]+)\//g)) {
        // A feature's command-line file (cli.ts, cli-*.ts) may use the CLI's shared kit, never another feature.
        const cliKit = match[1] === "cli" && /(^|\/)cli(-[a-z-]+)?\.ts$/.test(name);
        if (match[1] !== "core" && match[1] !== feature && !cliKit)
          offenders.push(`${feature}/${name} imports ../${match[1]}/`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test("no file in plugins/ imports from test/", () => {
  const offenders = readdirSync(join(REPO_ROOT, "plugins"), { recursive: true })
    .map(String)
    .filter((n) => /\.(ts|mjs|js)$/.test(n))
    .filter((n) => /from\s+"[^"]*\/test\//.test(readFileSync(join(REPO_ROOT, "plugins", n), "utf8")));
  assert.deepEqual(offenders, []);
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setImmediate(r));
  }
}
