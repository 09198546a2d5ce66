// Rebuild and OpenCode's compaction together keep the user's words: a 64K window, a few user turns, a checkpoint,
// then one `write` call whose argument is 200,000 characters. Whatever happens next (the pack's rebuild, OpenCode's
// automatic compaction, a manual compaction), every later main request carries the user's first prompt verbatim
// and the latest checkpoint, not only a summary and "Continue if you have next steps".
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type RecordedRequest,
  type ScriptedReply,
  isCheckpointWriterRequest,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { createSession, send, until } from "../harness/session.ts";
import { findCheckpoint } from "./checkpoint-support.ts";
import { withOpencode } from "../harness/fixture.ts";
import { DUMP_MARKER } from "../../plugins/checkpoint/rebuild.ts";

const FIRST =
  "Generate the fixture for the loader. Constraint: never touch db/schema.sql. The DSN is postgres://fx@db.internal:5432/loader.";
const CHECKPOINT_NOTE = "Fixture generation for the loader, size check pending";
const BIG = Array.from(
  { length: 3200 },
  (_, i) => `row ${i}: id=${i}, name=item-${i}, price=${(i * 1.25).toFixed(2)}, tags=alpha beta`,
).join("\n");
const debug = (...values: unknown[]) => process.env.CONTINUUM_E2E_DEBUG && console.log(...values);

function writerReply(request: RecordedRequest): ScriptedReply {
  if (request.body.messages.at(-1)?.role === "tool") return { text: "stored", usage: "auto" };
  const args = {
    active_intent: `${CHECKPOINT_NOTE}.\n> Plan the columns of the fixture.`,
    next_action: "Write fixtures/big.txt.",
    directives: "- keep the schema file as it is",
    current_work: "Planning the fixture.",
    knowledge: "none",
    decisions: "none",
    open_notes: "none",
  };
  return { toolCalls: [{ name: "checkpoint_write", args }], usage: "auto" };
}

type WriteUsage = ScriptedReply["usage"];

function mainReply(request: RecordedRequest, writeUsage: WriteUsage): ScriptedReply {
  const last = request.body.messages.at(-1);
  if (last?.role === "tool") return { text: "The fixture is written.", usage: "auto" };
  if (request.lastUserText.includes("Write the fixture to fixtures/big.txt"))
    return { toolCalls: [{ name: "write", args: { filePath: "fixtures/big.txt", content: BIG } }], usage: writeUsage };
  return {
    text: `On it: ${request.lastUserText.slice(0, 40)}. ${"Some detail about the plan. ".repeat(10)}`,
    usage: "auto",
  };
}

const TURNS = [FIRST, "Plan the columns of the fixture.", "Which edge cases should the rows cover?"];
const inRequest = (r: RecordedRequest, words: string) => r.raw.includes(JSON.stringify(words).slice(1, -1));

/**
 * Whether a request carries the user's first prompt verbatim, and the latest checkpoint: a request that was cut
 * (the pack's dump, OpenCode's summary) must hold the checkpoint; one that still holds the whole conversation
 * (every user turn, no dump) needs none.
 */
const keepsWords = (r: RecordedRequest) => {
  const whole =
    !r.raw.includes(DUMP_MARKER) &&
    !r.raw.includes("Scripted compaction summary") &&
    TURNS.every((t) => inRequest(r, t));
  return {
    first: inRequest(r, FIRST),
    checkpoint: r.raw.includes(CHECKPOINT_NOTE) || whole,
    rebuilt: r.raw.includes(DUMP_MARKER),
  };
};

/**
 * `writeUsage` is what the provider reports for the write call: "auto" counts its argument as output, so OpenCode
 * compacts at once; a small report leaves it to the pack's overflow guard, which rebuilds first.
 */
async function scenario(writeUsage: WriteUsage, expect: { compactedByOpenCode: boolean }) {
  assert.ok(BIG.length >= 200000, `the argument is ${BIG.length} characters`);
  const modelScript: ModelScript = {
    lanes: [{ name: "writer", match: isCheckpointWriterRequest, replies: (r) => writerReply(r) }],
    main: (r) => mainReply(r, writeUsage),
  };
  // The tests read every request the model gets; an automatic learning dream (dream-learn.test.ts) is not one of them.
  const setup = { context: 64000, output: 4000, continuumConfig: { tasks: { gate: false }, dream: { learn: false } } };
  await withOpencode({ model: modelScript, env: setup, serve: true }, async ({ env, model, served, defer }) => {
    defer(() => {
      for (const r of model.requests)
        debug(
          `#${r.index} ${r.lane}: ${r.body.messages.length} messages, ${r.raw.length} chars, last user: ${r.lastUserText.slice(0, 50)}, reply: ${r.reply === "unscripted" ? r.reply : (r.reply.text ?? r.reply.toolCalls?.map((c) => c.name).join())?.slice(0, 30)}`,
        );
      debug(
        served?.events
          .filter((e) => /compacted|error|idle/.test(e.type))
          .map((e) => `${e.type} ${JSON.stringify(e.properties).slice(0, 200)}`),
      );
    });
    const session = await createSession(served);
    const turns = TURNS;
    for (let i = 0; i < turns.length; i++) {
      await send(served, session, turns[i]!);
      await served.waitForIdle(session, i + 1, 30000);
    }
    const checkpointed = await served.client.session.command({
      path: { id: session },
      body: { command: "checkpoint", arguments: "" },
    });
    assert.ok(!checkpointed.error, JSON.stringify(checkpointed.error));
    await until(() => findCheckpoint(env.packDataDir, session), 30000, "the checkpoint");

    const before = model.lane("main").length;
    await send(served, session, "Write the fixture to fixtures/big.txt now.");
    // The write turn ends (OpenCode may compact and continue on its own before it does).
    await served.waitForIdle(session, turns.length + 2, 90000);
    assert.ok(
      existsSync(join(env.projectDir, "fixtures/big.txt")) &&
        statSync(join(env.projectDir, "fixtures/big.txt")).size >= 200000,
      "the tool got the whole argument",
    );

    await send(served, session, "What is left to do?");
    await until(
      () => model.lane("main").some((r) => r.lastUserText.includes("What is left to do?")),
      60000,
      "the next request",
    );
    await served.waitForIdle(session, turns.length + 3, 60000).catch(() => undefined);

    const compactions = served.events.filter((e) => e.type === "session.compacted").length;
    const after = model.lane("main").slice(before + 1);
    for (const r of after)
      debug(
        `main #${r.index}: ~${Math.round(r.raw.length / 4)} tokens (chars/4), ${r.body.messages.length} messages, last user: ${r.lastUserText.slice(0, 60)}`,
        keepsWords(r),
      );
    debug(`compactions: ${compactions}`);
    assert.equal(compactions > 0, expect.compactedByOpenCode, `OpenCode compacted ${compactions} times`);
    assert.ok(after.length >= 2, "requests after the write call were made");
    const firstCompaction = model.lane("compaction")[0]?.index ?? Infinity;
    // OpenCode's compaction reads the history through the pack's transform too: its request fits the window.
    for (const r of model.lane("compaction"))
      assert.ok(
        r.raw.length / 4 < 60000,
        `compaction request #${r.index} fits the window (${r.raw.length} characters)`,
      );
    for (const r of after) {
      const kept = keepsWords(r);
      if (r.index > firstCompaction)
        assert.ok(
          r.raw.includes("Scripted compaction summary"),
          `request #${r.index} keeps OpenCode's summary after the dump`,
        );
      assert.ok(r.raw.length / 4 < 60000, `request #${r.index} fits the usable window (${r.raw.length} characters)`);
      assert.ok(
        kept.first,
        `request #${r.index} (last user text: ${r.lastUserText.slice(0, 60)}) holds the user's first prompt verbatim`,
      );
      assert.ok(kept.checkpoint, `request #${r.index} holds the latest checkpoint`);
    }

    // A manual compaction on top of it all: the next request still has the user's words, the checkpoint, and
    // OpenCode's own summary.
    const summarized = await served.client.session.summarize({
      path: { id: session },
      body: { providerID: "fake", modelID: "fake-model" },
    });
    assert.ok(!summarized.error, JSON.stringify(summarized.error));
    const count = model.lane("main").length;
    await send(served, session, "After the compaction: summarise the constraints.");
    const next = await until(
      () =>
        model
          .lane("main")
          .slice(count)
          .find((r) => r.lastUserText.includes("After the compaction")),
      30000,
      "the request after a manual compaction",
    );
    debug(
      `after manual compaction: ~${Math.round(next.raw.length / 4)} tokens, ${next.body.messages.length} messages`,
      keepsWords(next),
    );
    assert.ok(keepsWords(next).first, "the user's first prompt survives a compaction after a rebuild");
    assert.ok(keepsWords(next).checkpoint, "and so does the checkpoint");
    assert.ok(next.raw.includes("Scripted compaction summary"), "OpenCode's summary is kept too");
  });
}

test(
  "a 200,000-character tool argument in a 64K window, OpenCode compacts at once: every later request keeps the user's words, the checkpoint and OpenCode's summary",
  { timeout: 180000 },
  () => scenario("auto", { compactedByOpenCode: true }),
);

test(
  "a 200,000-character tool argument the provider under-reports: the pack shortens it in the next request, and OpenCode never compacts",
  { timeout: 180000 },
  () => scenario({ prompt_tokens: 12000, completion_tokens: 100 }, { compactedByOpenCode: false }),
);
