// Checkpoints and rebuild with honest token counts: every call reports the size of the request it received
// ("auto"), files are read until the real context passes the rebuild point, and the rebuilt requests stay under
// the cap by the provider's own count, with writers started on the way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  contentText,
  countPromptTokens,
  tokenCounter,
  type RecordedRequest,
  type ScriptedReply,
  isCheckpointWriterRequest,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { createSession, send } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { DUMP_MARKER } from "../../plugins/checkpoint/rebuild.ts";

const CONTEXT = 40000;
const OUTPUT = 4000;
const CAP = Math.round((CONTEXT - OUTPUT) * 0.6);
const FILES = 18;

function writerReply(request: RecordedRequest): ScriptedReply {
  if (request.body.messages.at(-1)?.role === "tool") return { text: "stored", usage: "auto" };
  const args = {
    active_intent: "> Read every file in data/ in order and keep notes. Never edit db/schema.sql.",
    next_action: "Read the next file.",
    directives: "- Never edit db/schema.sql.",
    current_work: "Reading files.",
    knowledge: "none",
    decisions: "none",
    open_notes: "none",
  };
  return { toolCalls: [{ name: "checkpoint_write", args }], usage: "auto" };
}

test("honest counts: writers on the way, rebuilt requests under the cap by the provider's count", {
  timeout: 150000,
}, async () => {
  const main: ScriptedReply[] = [];
  for (let i = 1; i <= FILES; i++)
    main.push({ toolCalls: [{ name: "read", args: { filePath: `data/f${i}.txt` } }], usage: "auto" });
  main.push({ text: "All files read.", usage: "auto" });
  const modelScript: ModelScript = {
    lanes: [{ name: "writer", match: isCheckpointWriterRequest, replies: (r) => writerReply(r) }],
    main,
    exhausted: { text: "ok", usage: "auto" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        context: CONTEXT,
        output: OUTPUT,
        // The test counts every request the model gets; an automatic learning dream (dream-learn.test.ts) is not one.
        continuumConfig: { tasks: { gate: false }, dream: { learn: false } },
      },
      install: false,
    },
    async ({ env, model, serve }) => {
      mkdirSync(join(env.projectDir, "data"), { recursive: true });
      for (let i = 1; i <= FILES; i++) {
        writeFileSync(
          join(env.projectDir, "data", `f${i}.txt`),
          Array.from({ length: 90 }, (_, r) => `f${i} row ${r}: ${"value ".repeat(10)}`).join("\n"),
        );
      }
      installPack(env);
      const served = await serve();
      const session = await createSession(served);
      await send(served, session, "Read every file in data/ in order and keep notes. Never edit db/schema.sql.");
      await served.waitForIdle(session, 1, 90000);
      const calls = model.lane("main");
      // What the scripted provider counted and reported for each request (a real tokenizer).
      const counter = await tokenCounter();
      const tokens = calls.map((r) => countPromptTokens(r.body, counter));
      // Reduced at the rebuild point: cut with the dump in front, or (when that is enough) old tool outputs shortened.
      const rebuilt = calls.filter(
        (r) =>
          contentText(r.body.messages.find((m) => m.role === "user")!).startsWith(DUMP_MARKER) ||
          r.raw.includes("older tool output shortened by continuum"),
      );
      if (process.env.CONTINUUM_E2E_DEBUG)
        console.log(
          tokens.join(" "),
          "writers",
          model.lane("writer").length,
          "rebuilt",
          rebuilt.length,
          served
            .output()
            .split("\n")
            .filter((l) => /\[checkpoint\]/.test(l))
            .map((l) => l.slice(60, 330))
            .join("\n"),
        );
      assert.ok(
        rebuilt.length > 0,
        "the real context reached the rebuild point and the next requests were rebuilt or shortened",
      );
      assert.ok(
        calls.slice(calls.indexOf(rebuilt[0]!)).every((r) => rebuilt.includes(r)),
        "every request after the first reduced one stays reduced",
      );
      const first = countPromptTokens(rebuilt[0]!.body, counter);
      assert.ok(
        first <= CAP,
        `the rebuilt request holds ${first} tokens by the provider's count, under the cap ${CAP}`,
      );
      assert.ok(Math.max(...tokens) < CONTEXT - OUTPUT, "never at OpenCode's compaction point");
      assert.ok(model.lane("writer").length >= 2, "writers ran on the way");
      assert.equal(served.events.filter((e) => e.type === "session.compacted").length, 0);
      assert.ok(rebuilt.every((r) => r.raw.includes("Never edit db/schema.sql.")));
    },
  );
});
