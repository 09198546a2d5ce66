// Checkpoint faults and commands in real OpenCode: a writer that never calls its tool fails after 3 retries
// and /context shows it while the previous checkpoint stays in use; a hand-broken checkpoint.md is reported;
// /rebuild rebuilds now; OpenCode's own compaction gets the checkpoint and is followed by a rebuild; a new
// session in the project gets a pointer to the previous session's checkpoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  contentText,
  type RecordedRequest,
  type ScriptedReply,
  isCheckpointWriterRequest,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { createSession, send, sleep, until, storedMessage } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { findCheckpoint } from "./checkpoint-support.ts";
import { DUMP_MARKER } from "../../plugins/checkpoint/rebuild.ts";
import { REPORT_TITLE } from "../../plugins/checkpoint/index.ts";

const FIRST = "Remember: never edit db/schema.sql. The DSN is postgres://app@db.internal:5432/importer.";
let writerMode: "valid" | "garbage" = "valid";

function writerReply(request: RecordedRequest): ScriptedReply {
  if (request.body.messages.at(-1)?.role === "tool") return { text: "stored", usage: "auto" };
  if (writerMode === "garbage") return { text: "Here is a nice summary instead of a tool call.", usage: "auto" };
  const args = {
    active_intent: `> ${FIRST}`,
    next_action: "Wait for the user.",
    directives: "- never edit db/schema.sql",
    current_work: "Talking.",
    knowledge: "none",
    decisions: "none",
    open_notes: "none",
  };
  return { toolCalls: [{ name: "checkpoint_write", args }], usage: "auto" };
}

const firstUser = (r: RecordedRequest) =>
  contentText(r.body.messages.find((m) => m.role === "user") ?? { role: "user" });

test("writer failures visible in /context, /rebuild, compaction coexistence, pointer for a new session", {
  timeout: 150000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [{ name: "writer", match: isCheckpointWriterRequest, replies: (r) => writerReply(r) }],
    // Answers long enough that a rebuild has a head to cut (reports no longer sit in the history to pad it).
    main: (request) => ({
      text: `answer to: ${request.lastUserText.slice(0, 40)}. ${"More detail on that point. ".repeat(12)}`,
      usage: "auto",
    }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        context: 40000,
        output: 4000,
        continuumConfig: {
          tasks: { gate: false },
          checkpoint: { tailMinTokens: 200, tailMinTextMessages: 2 },
          // The new session at the end must see the pointer, not start an automatic learning dream (dream-learn.test.ts).
          dream: { learn: false },
        },
      },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      const turns = [
        FIRST,
        "Next, sketch the importer's modules in detail.",
        "Now list the tests we need, one per line.",
        "Good. Summarise the risks.",
      ];
      for (let i = 0; i < turns.length; i++) {
        await send(served, session, turns[i]!);
        await served.waitForIdle(session, i + 1, 30000);
      }
      const command = async (name: string) => {
        const r = await served!.client.session.command({
          path: { id: session },
          body: { command: name, arguments: "" },
        });
        if (r.error) throw new Error(`/${name} failed: ${JSON.stringify(r.error)}`);
      };
      const mainCalls = model.lane("main").length;

      await command("checkpoint");
      const file = await until(() => findCheckpoint(env.packDataDir, session), 20000, "checkpoint #1");
      assert.equal(model.lane("main").length, mainCalls, "/checkpoint answers without a model call");

      writerMode = "garbage";
      const writerCalls = model.lane("writer").length;
      await command("checkpoint");
      await until(() => model.lane("writer").length >= writerCalls + 4, 30000, "the first attempt and three retries");
      await sleep(1500);
      writeFileSync(file, "# Checkpoint\nsomeone edited this by hand\n");
      await command("context");
      assert.equal(model.lane("main").length, mainCalls, "/context answers without a model call");
      const report = (await storedMessage(served, session, REPORT_TITLE)) ?? "";
      assert.match(report, /failures 1/);
      assert.match(report, /no valid checkpoint after 4 attempts \(checkpoint_write was not called\)/);
      assert.match(report, /Last checkpoint: #1/);
      assert.match(report, /edited into an invalid shape/);
      assert.match(report, /Writer tokens: [1-9]/);
      const ratio = Number(report.match(/provider reported [\d,]+ \(×(\d+\.\d+)\)/)?.[1]);
      assert.ok(ratio >= 0.85 && ratio <= 1.2, `the pack's size prediction matches the provider's count (×${ratio})`);

      await command("rebuild");
      // The rebuild's own prompt follows the command's report, on the session's model.
      const rebuilt = await until(() => model.lane("main")[mainCalls], 20000, "the /rebuild turn");
      assert.ok(rebuilt.lastUserText.startsWith("[continuum /rebuild]"));
      assert.ok(firstUser(rebuilt).startsWith(DUMP_MARKER), "the /rebuild turn already gets the rebuilt input");
      assert.ok(firstUser(rebuilt).includes("postgres://app@db.internal:5432/importer"));
      assert.ok(
        firstUser(rebuilt).includes("## 1. Active intent"),
        "the stored checkpoint #1 is used, not the broken file",
      );

      // Project rules in MEMORY.md go into OpenCode's own compaction prompt too.
      const memoryDir = join(dirname(dirname(dirname(file))), "memory");
      mkdirSync(memoryDir, { recursive: true });
      writeFileSync(
        join(memoryDir, "MEMORY.md"),
        "# Project memory\n\n## Rules\n- always run pnpm test before committing\n",
      );
      const summarized = await served.client.session.summarize({
        path: { id: session },
        body: { providerID: "fake", modelID: "fake-model" },
      });
      assert.ok(!summarized.error, JSON.stringify(summarized.error));
      const compaction = await until(() => model.lane("compaction").at(-1), 20000, "compaction request");
      assert.ok(
        compaction.raw.includes("The latest structured checkpoint of this session"),
        "the compaction prompt holds our checkpoint",
      );
      assert.ok(compaction.raw.includes("always run pnpm test before committing"), "and the project rules");
      const count = model.lane("main").length;
      await send(served, session, "After the compaction: what next?");
      const after = await until(
        () =>
          model
            .lane("main")
            .slice(count)
            .find((r) => r.lastUserText.includes("After the compaction")),
        20000,
        "request after compaction",
      );
      assert.ok(firstUser(after).startsWith(DUMP_MARKER), "the next request after OpenCode's compaction is rebuilt");

      const other = await createSession(served);
      await send(served, other, "Hello again.");
      const fresh = await until(
        () => model.lane("main").find((r) => r.lastUserText === "Hello again."),
        20000,
        "new session request",
      );
      assert.ok(
        fresh.system.some((s) => s.includes(`the previous session (${session}) left a checkpoint`)),
        "pointer to the previous checkpoint",
      );
      assert.ok(!firstUser(fresh).startsWith(DUMP_MARKER), "no resume framing in a new session");
    },
  );
});

test("one huge tool output: the next request is rebuilt before it reaches OpenCode's compaction point", {
  timeout: 90000,
}, async () => {
  const usable = 36000;
  const modelScript: ModelScript = {
    main: [
      { text: "Noted.", usage: { prompt_tokens: Math.round(usable * 0.3), completion_tokens: 100 } },
      { text: "Sure.", usage: { prompt_tokens: Math.round(usable * 0.4), completion_tokens: 100 } },
      {
        toolCalls: [{ name: "read", args: { filePath: "big.txt" } }],
        usage: { prompt_tokens: Math.round(usable * 0.6), completion_tokens: 100 },
      },
      { text: "Read it.", usage: "auto" },
    ],
    exhausted: { text: "ok", usage: "auto" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        context: 40000,
        output: 4000,
        continuumConfig: {
          tasks: { gate: false },
          checkpoint: { thresholds: [], tailMinTokens: 200, tailMinTextMessages: 1 },
        },
      },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeFileSync(
        `${env.projectDir}/big.txt`,
        Array.from({ length: 700 }, (_, i) => `line ${i}: ${"payload ".repeat(8)}`).join("\n"),
      );
      installPack(env);
      const served = await serve();
      const session = await createSession(served);
      const turns = [FIRST, "Then plan the work.", "Read big.txt now."];
      for (let i = 0; i < turns.length; i++) {
        await send(served, session, turns[i]!);
        await served.waitForIdle(session, i + 1, 30000);
      }
      const afterRead = model.lane("main").find((r) => r.reply !== "unscripted" && r.reply.text === "Read it.")!;
      assert.ok(firstUser(afterRead).startsWith(DUMP_MARKER), "the request after the huge output is rebuilt");
      assert.ok(firstUser(afterRead).includes("never edit db/schema.sql"));
      assert.ok(
        afterRead.raw.includes("line 0: payload") && afterRead.raw.includes("line 400: payload"),
        `the huge output itself is in the kept tail (${afterRead.raw.match(/line \d+: payload/g)?.slice(-1)})`,
      );
      assert.equal(served.events.filter((e) => e.type === "session.compacted").length, 0);
    },
  );
});
