// The harness itself, against real OpenCode: streaming text and tool calls, chosen token usage, hidden helper
// requests answered apart, multi-turn through `opencode serve` + SDK, and teardown that leaves nothing running.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { ModelScript } from "../harness/scripted-model.ts";
import { opencodeRun, killAll, isRunning } from "../harness/opencode.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

test("serve + SDK: tool calls run, usage is recorded as chosen, title and compaction requests go to their own lanes", async () => {
  const modelScript: ModelScript = {
    main: [
      {
        toolCalls: [{ name: "bash", args: { command: "echo harness-ok", description: "echo" } }],
        usage: { prompt_tokens: 1200, completion_tokens: 30 },
      },
      { text: "The command printed harness-ok.", usage: { prompt_tokens: 1500, completion_tokens: 10 } },
      { text: "Second turn answered.", usage: { prompt_tokens: 1600, completion_tokens: 5 } },
    ],
  };
  const setup = { model: modelScript, env: { continuumConfig: { enabled: false } }, serve: true };
  await withOpencode(setup, async ({ model, served }) => {
    const session = (await served.client.session.create({ body: {} })).data!;
    await served.client.session.prompt({
      path: { id: session.id },
      body: { parts: [{ type: "text", text: "run the echo" }] },
    });
    const toolResult = model.lane("main")[1]!.body.messages.find((m) => m.role === "tool");
    assert.match(
      String(toolResult?.content),
      /harness-ok/,
      "the bash tool really ran and its output went back to the model",
    );
    const finished = served.events.filter(
      (e) => e.type === "message.updated" && e.properties.info.role === "assistant" && e.properties.info.finish,
    );
    assert.ok(
      finished.some((e) => e.properties.info.tokens.input === 1500),
      "OpenCode recorded the scripted usage",
    );

    await served.client.session.prompt({
      path: { id: session.id },
      body: { parts: [{ type: "text", text: "second turn" }] },
    });
    assert.equal(model.lane("main").length, 3, "multi-turn through serve");
    assert.equal(model.lane("main")[2]!.lastUserText, "second turn");
    assert.ok(model.lane("title").length >= 1, "the title request was answered apart");

    const before = model.lane("main").length;
    await served.client.session.summarize({
      path: { id: session.id },
      body: { providerID: "fake", modelID: "fake-model" },
    });
    assert.ok(
      model.lane("compaction").length >= 1,
      `compaction went to its lane (lanes: ${model.requests.map((r) => r.lane).join(",")})`,
    );
    assert.equal(model.lane("main").length, before, "compaction did not consume a scripted main turn");
  });
});

test("opencode run streams a scripted answer and every process is gone after teardown", async () => {
  const setup = {
    model: { main: [{ text: "one-shot answer" }] },
    env: { continuumConfig: { enabled: false } },
    install: false,
  };
  await withOpencode(setup, async ({ env, serve }) => {
    const run = await opencodeRun(env, "hi", { json: true });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.events.some((e) => JSON.stringify(e).includes("one-shot answer")));
    const served = await serve();
    assert.ok(isRunning(served.pid));
    await served.stop();
    assert.equal(isRunning(served.pid), false, "opencode serve is gone after stop()");
    const group = execFileSync("ps", ["-eo", "pgid="], { encoding: "utf8" })
      .split("\n")
      .map((l) => Number(l.trim()));
    assert.ok(!group.includes(served.pid), "nothing of its process group is left either");
  });
});
