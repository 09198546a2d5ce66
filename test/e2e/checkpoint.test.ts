// Checkpoints and rebuild in real OpenCode: reported usage climbs from 10 % to 95 % of a 40K window; writers
// start at the 20/45/70 % crossings, checkpoint.md has 11 sections, the request after the rebuild point holds
// the dump (early constraint and DSN verbatim, task tree) under the cap, OpenCode never compacts, and a
// restarted `opencode serve` sends the same rebuilt input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  contentText,
  type RecordedRequest,
  type ScriptedReply,
  isCheckpointWriterRequest,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { REPO_ROOT } from "../harness/env.ts";
import { spawnSync } from "node:child_process";
import type { BusEvent } from "../harness/opencode.ts";
import { createSession, persistentDb, send, until, storedMessage } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { findCheckpoint } from "./checkpoint-support.ts";
import { DUMP_MARKER } from "../../plugins/checkpoint/rebuild.ts";
import { SECTIONS } from "../../plugins/checkpoint/sections.ts";
import { REPORT_TITLE } from "../../plugins/checkpoint/index.ts";

const CONTEXT = 40000;
const OUTPUT = 4000;
const USABLE = CONTEXT - OUTPUT;
const CAP = Math.round(USABLE * 0.6);
const FIRST =
  "Build the CSV importer. Constraint: never edit db/schema.sql. Use the DSN postgres://app@db.internal:5432/importer for every connection.";
const usage = (fraction: number) => ({ prompt_tokens: Math.round(fraction * USABLE) - 200, completion_tokens: 200 });
const read = (file: string, fraction: number): ScriptedReply => ({
  toolCalls: [{ name: "read", args: { filePath: file } }],
  usage: usage(fraction),
});

function writerReply(request: RecordedRequest): ScriptedReply {
  const last = request.body.messages.at(-1);
  if (last?.role === "tool") return { text: "stored", usage: "auto" };
  return {
    toolCalls: [
      {
        name: "checkpoint_write",
        args: {
          active_intent: "Build the CSV importer.\n> Build the CSV importer.",
          next_action: "Read the next data file and map its columns.",
          directives: "- never edit db/schema.sql\n- DSN: postgres://app@db.internal:5432/importer",
          current_work: "Reading the sample files part by part.",
          knowledge: "Files data/part*.txt hold the sample rows.",
          decisions: "none",
          open_notes: "none",
        },
      },
    ],
    usage: "auto",
  };
}

test("checkpoints at 20/45/70 %, rebuild at 85 % under the cap, same rebuilt input after a restart", {
  timeout: 150000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [{ name: "writer", match: isCheckpointWriterRequest, replies: (r) => writerReply(r) }],
    main: [
      { toolCalls: [{ name: "tasks", args: { action: "create", title: "Write the importer" } }], usage: usage(0.1) },
      { toolCalls: [{ name: "tasks", args: { action: "start", id: "T1" } }], usage: usage(0.15) },
      read("data/part1.txt", 0.22),
      { text: "Read part 1.", usage: usage(0.25) },
      read("data/part2.txt", 0.35),
      read("data/part3.txt", 0.47),
      { text: "Read parts 2 and 3.", usage: usage(0.5) },
      read("data/part4.txt", 0.6),
      read("data/part5.txt", 0.72),
      { text: "Read parts 4 and 5.", usage: usage(0.8) },
      read("data/part6.txt", 0.95),
      { text: "Continuing after the rebuild.", usage: "auto" },
      { text: "Context report shown.", usage: "auto" },
    ],
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
      for (let i = 1; i <= 6; i++) {
        const rows = Array.from(
          { length: 160 },
          (_, r) =>
            `row ${i}-${r}: id=${i * 1000 + r}, name=item-${r}, price=${(r * 1.25).toFixed(2)}, tags=alpha beta gamma`,
        );
        writeFileSync(join(env.projectDir, "data", `part${i}.txt`), rows.join("\n") + "\n");
      }
      installPack(env);
      let served = await serve({ extraEnv: persistentDb(env) });
      const session = await createSession(served);
      const turns = [FIRST, "Now read the next two parts.", "Continue with parts 4 and 5.", "Keep going with part 6."];
      for (let i = 0; i < turns.length; i++) {
        await send(served, session, turns[i]!);
        await served.waitForIdle(session, i + 1, 60000);
      }

      // Writers: one child session per crossing, each created between its crossing and the next one.
      const events = served.events;
      const writerCreated = events
        .map((e, i) => [e, i] as const)
        .filter(([e]) => e.type === "session.created" && e.properties.info?.parentID === session);
      assert.equal(writerCreated.length, 3, "exactly three writer child sessions (20, 45, 70 %)");
      const crossing = (fraction: number) =>
        events.findIndex(
          (e) => isFinishedCall(e, session) && e.properties.info.tokens.input === usage(fraction).prompt_tokens,
        );
      const crossings = [crossing(0.22), crossing(0.47), crossing(0.72), crossing(0.95)];
      assert.ok(
        crossings.every((i) => i >= 0),
        `crossing readings seen: ${crossings}`,
      );
      writerCreated.forEach(([, index], k) => {
        assert.ok(
          index > crossings[k]! && index < crossings[k + 1]!,
          `writer ${k + 1} starts after its crossing (${crossings[k]} < ${index} < ${crossings[k + 1]})`,
        );
      });
      assert.deepEqual(
        model
          .lane("writer")
          .filter((r) => r.body.messages.at(-1)?.role !== "tool")
          .map((r) => r.tools),
        [["checkpoint_write"], ["checkpoint_write"], ["checkpoint_write"]],
        "the writer sees only its own tool",
      );

      // checkpoint.md: all 11 sections, code-filled ones from the session.
      const file = await until(() => findCheckpoint(env.packDataDir, session), 20000, "checkpoint.md");
      const markdown = await until(
        () => (readFileSync(file, "utf8").includes("checkpoint 3 ·") ? readFileSync(file, "utf8") : undefined),
        20000,
        "checkpoint #3",
      );
      for (const spec of SECTIONS)
        assert.ok(markdown.includes(`## ${spec.n}. ${spec.title}`), `section ${spec.n} present`);
      assert.match(markdown, /T1 Write the importer \(in_progress\)/);
      assert.match(
        markdown,
        /`data\/part4\.txt` \(read ×1\)/,
        "checkpoint #3 covers the reads before the 70 % crossing",
      );
      assert.ok(markdown.includes("postgres://app@db.internal:5432/importer"));

      // The request after the rebuild point.
      const rebuilt = model
        .lane("main")
        .find((r) => contentText(r.body.messages.find((m) => m.role === "user")!).startsWith(DUMP_MARKER));
      assert.ok(rebuilt, "a request starts with the rebuild dump");
      assert.equal(
        rebuilt.reply !== "unscripted" && rebuilt.reply.text,
        "Continuing after the rebuild.",
        "the call right after the 95 % reading is rebuilt",
      );
      const dump = contentText(rebuilt.body.messages.find((m) => m.role === "user")!);
      assert.ok(dump.includes("never edit db/schema.sql"), "early constraint verbatim");
      assert.ok(dump.includes("postgres://app@db.internal:5432/importer"), "DSN verbatim");
      assert.match(dump, /T1 Write the importer \(in_progress\)/);
      const reported = reportedPromptTokens(events, session, "Continuing after the rebuild.");
      if (process.env.CONTINUUM_E2E_DEBUG) {
        const size = (r: RecordedRequest) =>
          `system ${r.system.join("").length}, tools ${JSON.stringify(r.body.tools ?? []).length}, messages ${JSON.stringify(r.body.messages.filter((m) => m.role !== "system")).length} (${r.body.messages.length})`;
        console.log(
          `dump:\n${dump}\n---\nreported ${reported}, raw ${rebuilt.raw.length}: ${size(rebuilt)}\nbefore: ${size(
            model
              .lane("main")
              .filter((r) => r.index < rebuilt.index)
              .at(-1)!,
          )}`,
        );
      }
      assert.ok(reported > 0 && reported <= CAP, `rebuilt request ${reported} tokens (provider count) ≤ cap ${CAP}`);
      const before = model
        .lane("main")
        .filter((r) => r.index < rebuilt.index)
        .at(-1)!;
      const messagesSize = (r: RecordedRequest) =>
        JSON.stringify(r.body.messages.filter((m) => m.role !== "system")).length;
      assert.ok(
        messagesSize(before) > messagesSize(rebuilt) * 1.3,
        `the rebuild shrank the messages (${messagesSize(before)} → ${messagesSize(rebuilt)} chars)`,
      );
      assert.ok(rebuilt.body.messages.length < before.body.messages.length, "the head became one message");
      assert.equal(
        events.filter((e) => e.type === "session.compacted").length,
        0,
        "OpenCode's own compaction never ran",
      );
      assert.equal(model.lane("compaction").length, 0);

      // /context answers from the pack's own state, with no model call.
      const mainCalls = model.lane("main").length;
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "context", arguments: "" },
      });
      assert.ok(!ran.error, JSON.stringify(ran.error));
      assert.equal(model.lane("main").length, mainCalls, "/context made no model call");
      const report = (await storedMessage(served, session, REPORT_TITLE)) ?? "";
      assert.match(report, /Last checkpoint: #3/);
      assert.match(report, /Rebuilds: 1/);
      assert.match(report, /Writer tokens: [1-9][\d,]* in/);
      await served.waitForIdle(session, 5, 30000);
      await served.stop();

      // A new process keeps the same cut: the first user message of the next request is the same dump.
      served = await serve({ extraEnv: persistentDb(env) });
      const count = model.lane("main").length;
      await send(served, session, "Continue.");
      const after = await until(
        () =>
          model
            .lane("main")
            .slice(count)
            .find((r) => r.lastUserText === "Continue."),
        30000,
        "request after restart",
      );
      assert.equal(
        contentText(after.body.messages.find((m) => m.role === "user")!),
        dump,
        "same rebuilt input after the restart",
      );

      // The CLI reads the same state outside OpenCode.
      const cli = (...args: string[]) =>
        spawnSync(
          process.execPath,
          [join(REPO_ROOT, "plugins", "cli", "continuum.mjs"), "checkpoint", ...args, "--project", env.projectDir],
          { env: { ...process.env, ...env.env }, encoding: "utf8" },
        );
      const listed = cli("list");
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(
        listed.stdout,
        new RegExp(`${session}  3 checkpoint\\(s\\).*rebuilds 1 · writer runs 3, failures 0`),
      );
      const shown = cli("show", session);
      assert.match(shown.stdout, /T1 Write the importer \(in_progress\)/);
      assert.match(shown.stdout, /## 11\. Open notes/);
    },
  );
});

function isFinishedCall(event: BusEvent, session: string): boolean {
  const info = event.properties.info;
  return (
    event.type === "message.updated" &&
    info?.sessionID === session &&
    info.role === "assistant" &&
    Boolean(info.finish) &&
    Boolean(info.tokens)
  );
}

function reportedPromptTokens(events: BusEvent[], session: string, text: string): number {
  void text;
  const finished = events.filter((e) => isFinishedCall(e, session));
  const tokens = finished.map((e) => e.properties.info.tokens.input as number);
  // The call answered with "auto" usage right after the 95 % reading.
  const index = tokens.findIndex((t) => t === usage(0.95).prompt_tokens);
  return tokens.slice(index + 1).find((t) => t !== usage(0.95).prompt_tokens) ?? 0;
}
