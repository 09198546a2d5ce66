// Every feature's glue with the host, on the small fake host (the real entry and adapter, a recording SDK client,
// events played by the test): what each feature does on user turns, model calls, idles, compaction and commands.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";

const modelCall = (host: FakeHost, sessionID: string, context = 200000) =>
  host.hooks["chat.params"]!(
    {
      sessionID,
      agent: "build",
      model: { id: "fake-model", providerID: "fake", limit: { context, output: 4000 } },
    } as never,
    {} as never,
  );

async function systemPrompt(host: FakeHost, sessionID: string, base = "You are OpenCode.") {
  const output = { system: [base] };
  await host.hooks["experimental.chat.system.transform"]!({ sessionID, model: {} } as never, output as never);
  return output.system;
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

test("memory adapter: a person's message gets recall; the pack's own pushes do not; the block is injected and counted", async () => {
  await withFakeHost({}, async (host) => {
    const session = await host.createSession();
    await host.callTool(
      "memory",
      {
        action: "remember",
        section: "Discovered durable knowledge",
        text: "The zebrafish fixture seeds the staging table",
      },
      session,
    );
    const other = await host.createSession();
    const parts = await host.userMessage(other, "how is the zebrafish fixture seeded?");
    assert.ok(
      parts.some((p) => p.synthetic && /zebrafish/.test(p.text)) ||
        (await systemPrompt(host, other)).join("\n").includes("zebrafish"),
      "recall or block carries the entry",
    );
    const pushed = await host.userMessage(other, "[continuum goal] The goal is not met yet. zebrafish");
    assert.equal(pushed.filter((p) => p.synthetic).length, 0, "no recall on the pack's own push");
    const system = await systemPrompt(host, other);
    assert.equal(system[0], "You are OpenCode.", "OpenCode's own system prompt stays first and untouched");
    assert.deepEqual(await systemPrompt(host, other), system, "the block is byte-stable between calls");
    assert.equal(
      (await systemPrompt(host, other, "You are a title generator.")).length,
      1,
      "OpenCode's title helper gets nothing",
    );
    const stats = host.context.ledger!.stats({ sessionId: other });
    assert.ok((stats.features.memory?.injectedTokens ?? 0) > 0, "the injected block is counted in the ledger");
  });
});

test("tasks adapter: the gate pushes a session that stops with open tasks, not after a failed turn, and a person's message resets it", async () => {
  await withFakeHost({}, async (host) => {
    const session = await host.createSession();
    await host.userMessage(session, "build it");
    await host.callTool("tasks", { action: "create", title: "write the parser" }, session);
    await host.finishCall(session, { input: 100, output: 10 });
    await host.idle(session);
    await until(() => host.calls.some((c) => c.method === "promptAsync" && c.sessionId === session));
    const push = host.calls.find((c) => c.method === "promptAsync" && c.sessionId === session)!;
    assert.match(push.body!.parts[0].text, /^\[continuum task gate\] \(1\/3\)[\s\S]*T1 write the parser/);
    assert.equal(push.body!.agent, "build", "the push continues with the user's agent");

    const failed = await host.createSession();
    await host.userMessage(failed, "go");
    await host.callTool("tasks", { action: "create", title: "other" }, failed);
    await host.emit("session.error", { sessionID: failed, error: { name: "APIError", data: { message: "boom" } } });
    await host.idle(failed);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(
      host.calls.filter((c) => c.method === "promptAsync" && c.sessionId === failed).length,
      0,
      "no push after a failed turn",
    );
  });
});

test("checkpoint adapter: crossing a threshold starts the writer through the runner; its failure is on record in /context", async () => {
  const writerPrompts: string[] = [];
  await withFakeHost(
    {
      continuum: { checkpoint: { thresholds: [0.2], rebuildAt: 0.9 } },
      onPrompt: async (host, sessionId, body) => {
        if (body.agent !== "checkpoint-writer") return;
        writerPrompts.push(body.parts[0].text);
        await host.finishCall(sessionId, { input: 2000, output: 30 }, { agent: "checkpoint-writer" });
        await host.idle(sessionId);
      },
    },
    async (host) => {
      const session = await host.createSession();
      await host.userMessage(
        session,
        "Write the importer for the CSV files in data/. " + "Each file has columns id, name, amount. ".repeat(800),
      );
      await modelCall(host, session, 100000);
      const messages = [...host.messages.get(session)!];
      await host.hooks["experimental.chat.messages.transform"]!({}, { messages } as never);
      await host.finishCall(session, { input: 40000, output: 500 });
      await until(() => writerPrompts.length > 0);
      assert.match(writerPrompts[0]!, /importer/);
      await until(() =>
        host.context
          .ledger!.runs({ sessionId: session })
          .some((r) => r.feature === "checkpoint" && r.state !== "running"),
      );
      const [run] = host.context.ledger!.runs({ sessionId: session });
      assert.deepEqual(
        [run!.agent, run!.outcome],
        ["checkpoint-writer", "no-result"],
        "no checkpoint_write: four attempts, then a failure on record",
      );
      await host.command(session, "context");
      assert.match(host.reports.at(-1)!, /no valid checkpoint after 4 attempts \(checkpoint_write was not called\)/);
    },
  );
});

test("goal adapter: /goal runs on the session's model, the judge runs at idle, a not-met verdict sends a continuation", async () => {
  let judged = 0;
  await withFakeHost(
    {
      onPrompt: async (host, sessionId, body) => {
        if (body.agent !== "goal-judge") return;
        judged++;
        await host.callTool(
          "goal_verdict",
          { met: false, impossible: false, reason: "REASON-X", evidence: [], missing: ["write result.txt"] },
          sessionId,
        );
        await host.finishCall(sessionId, { input: 1500, output: 40 }, { agent: "goal-judge", finish: "tool-calls" });
        await host.hooks["experimental.chat.messages.transform"]!({}, {
          messages: [...host.messages.get(sessionId)!],
        } as never);
      },
    },
    async (host) => {
      const session = await host.createSession();
      await host.userMessage(session, "hello");
      await host.command(session, "goal", "result.txt exists");
      const condition = host.messages.get(session)!.at(-1)!;
      assert.equal(condition.info.model.providerID, "fake", "the /goal turn runs on the session's own model");
      assert.equal(condition.parts[0]!.text, "result.txt exists");
      await host.finishCall(session, { input: 500, output: 10 });
      await host.idle(session);
      await until(() =>
        host.calls.some(
          (c) => c.method === "promptAsync" && c.sessionId === session && /REASON-X/.test(c.body!.parts[0].text),
        ),
      );
      assert.equal(judged, 1);
      await host.command(session, "goal");
      assert.match(host.reports.at(-1)!, /Goal \(active; 1 of 12 continuations used\)/);
      // A person's message pauses nothing by itself here, but an abort pauses the goal at once.
      await host.emit("session.error", { sessionID: session, error: { name: "MessageAbortedError" } });
      await host.command(session, "goal");
      await until(() => /paused/.test(host.reports.at(-1)!));
    },
  );
});

test("stats and agents: /stats shows the session's figures and /agents the runs, with no model call", async () => {
  await withFakeHost({}, async (host) => {
    const session = await host.createSession();
    await host.userMessage(session, "hi");
    await host.finishCall(session, { input: 1234, output: 56 });
    await host.idle(session);
    await host.command(session, "stats");
    assert.match(host.reports.at(-1)!, /Worker \(your agent\): 1 calls · 1,234 in · 56 out/);
    await host.command(session, "agents");
    assert.match(host.reports.at(-1)!, /No helper agents have run yet/);
    await host.command(session, "agents", "cancel nope");
    assert.match(host.reports.at(-1)!, /No running helper nope/);
    await host.command(session, "agents", "frobnicate");
    assert.match(host.reports.at(-1)!, /Unknown argument "frobnicate"/);
    assert.equal(host.calls.filter((c) => c.method === "promptAsync").length, 0);
  });
});

test("a user's own command of the same name is theirs: the pack does not answer it; a user's own `continuum` provider is kept", async () => {
  await withFakeHost({}, async (host) => {
    const mine = { npm: "my-provider", models: {} };
    const cfg: Record<string, any> = {
      command: { stats: { template: "my own stats", description: "mine" } },
      agent: {},
      provider: { continuum: mine },
    };
    await host.hooks.config!(cfg as never);
    assert.equal(cfg.provider.continuum, mine, "never replaced");
    const parts: Record<string, any>[] = [{ type: "text", text: "my own stats" }];
    await host.hooks["command.execute.before"]!(
      { command: "stats", sessionID: "ses_x", arguments: "" } as never,
      { parts } as never,
    );
    assert.deepEqual(parts, [{ type: "text", text: "my own stats" }]);
  });
});

test("without a configured default model the report model is not added (OpenCode could fall back to it); reports take a short model call", async () => {
  await withFakeHost({ model: null }, async (host) => {
    const session = await host.createSession();
    const parts = await host.command(session, "stats");
    assert.equal(host.reports.length, 0, "no report-model turn");
    const stored = host.calls.find((c) => c.method === "prompt" && c.sessionId === session)!;
    assert.equal(stored.body!.noReply, true);
    assert.match(stored.body!.parts[0].text, /what the pack spent/);
    assert.match(parts[0]!.text, /^\[continuum \/stats\] The report is in the previous message/);
  });
});
