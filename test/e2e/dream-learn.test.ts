// Memory that learns by default, in real OpenCode (one `opencode serve`, scripted model): a constraint the user
// states in session 1 is kept verbatim in that session's checkpoint (the scripted writer), harvested by code when
// session 2 starts, consolidated by one automatic dream (the scripted dream agent copies the candidate it is shown)
// and is in session 5's memory block with no memory remember call. A second checkpoint's decision waits: at most one
// automatic dream a day. The notice is shown once; the spend is in `continuum stats --json`; `continuum dream undo`
// restores MEMORY.md byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  contentText,
  isCheckpointWriterRequest,
  type ModelScript,
  type RecordedRequest,
  type ScriptedReply,
} from "../harness/scripted-model.ts";
import type { Served } from "../harness/opencode.ts";
import { createSession, send, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { continuumCli, readJsonFile } from "../harness/cli.ts";
import { findCheckpoint } from "./checkpoint-support.ts";
import { call, isDreamRequest, projectData, stepLane, waitForRecord } from "./dream-support.ts";
import type { DreamRecord } from "../../plugins/dream/records.ts";
import { LEARN_REASON } from "../../plugins/dream/learn.ts";
import { LEARN_FILE, type LearnState } from "../../plugins/dream/learn-store.ts";

const CONSTRAINT = "never edit db/schema.sql";
const DECISION = "Parse the CSV files with the streaming reader.";
const ORIGINAL = [
  "# Project memory",
  "",
  "## Rules",
  "",
  "- Use pnpm for installs, never npm install. <!-- id:m-keep0001 · 2026-11-20 · ses_old1 -->",
  "",
].join("\n");

/** The writer keeps what the session's user said: session 1's constraint, session 3's decision. */
function writerReply(request: RecordedRequest): ScriptedReply {
  if (request.body.messages.at(-1)?.role === "tool") return { text: "stored", usage: "auto" };
  const input = request.body.messages.map(contentText).join("\n");
  const decisionSession = input.includes("streaming reader");
  return call("checkpoint_write", {
    active_intent: decisionSession ? "Choose the CSV parser." : "Build the CSV importer.",
    next_action: "Go on with the importer.",
    directives: decisionSession ? "none" : `- "${CONSTRAINT}" (user)`,
    current_work: "Talking about the importer.",
    knowledge: "none",
    decisions: decisionSession ? `- ${DECISION}` : "none",
    open_notes: "none",
  });
}

/** The dream agent remembers each candidate line it is shown, with the session it came from, then reports. */
function dreamStep(request: RecordedRequest): ScriptedReply | undefined {
  if (request.body.messages.some((m) => m.role === "assistant")) return undefined;
  const prompt = contentText(request.body.messages.find((m) => m.role === "user")!);
  const session = /<session id="([^"]+)"/.exec(prompt)?.[1];
  const fact = /^- \(directive\) (.+)$/m.exec(prompt)?.[1];
  if (!session || !fact) return { text: "no candidate in the prompt" };
  return call("dream_memory", { action: "remember", section: "Rules", text: fact, sessions: [session] });
}

test("a constraint from session 1's checkpoint is in session 5's memory block with no remember call; one automatic dream a day; its cost is in the ledger; undo restores MEMORY.md byte for byte", {
  timeout: 150000,
}, async () => {
  const dreamLane = stepLane("dream", isDreamRequest, [
    { text: "unused" },
    call("dream_report", {
      consolidated: ["the schema constraint of session 1"],
      updated: [],
      deleted: [],
      skipped: [],
    }),
  ]);
  const modelScript: ModelScript = {
    lanes: [
      { name: "writer", match: isCheckpointWriterRequest, replies: writerReply },
      { ...dreamLane, replies: (r) => dreamStep(r) ?? (dreamLane.replies as (r: RecordedRequest) => ScriptedReply)(r) },
    ],
    main: [],
    exhausted: { text: "Noted.", usage: "auto" },
  };
  await withOpencode(
    { model: modelScript, env: { continuumConfig: { tasks: { gate: false } }, opencodeConfig: { snapshot: false } } },
    async ({ env, model, serve }) => {
      const data = projectData(env);
      mkdirSync(join(data.memoryFile, ".."), { recursive: true });
      writeFileSync(data.memoryFile, ORIGINAL);
      mkdirSync(join(env.projectDir, "db"), { recursive: true });
      writeFileSync(join(env.projectDir, "db", "schema.sql"), "create table rows (id int);\n");
      const served = await serve();
      const started = new Date().toISOString();

      // Session 1: the user states the constraint; the checkpoint keeps it verbatim.
      const s1 = await turn(served, `Build the CSV importer. Constraint: ${CONSTRAINT}.`);
      await checkpoint(served, s1);
      const cp1 = await until(() => findCheckpoint(env.packDataDir, s1), 30000, "session 1's checkpoint");
      assert.match(readFileSync(cp1, "utf8"), /never edit db\/schema\.sql/);

      // Session 2 starts: the harvest finds the constraint, the automatic dream consolidates it in the background.
      await turn(served, "Session 2: show me the importer plan.");
      const dream = await waitForRecord<DreamRecord>(join(data.dreamDir, "last.json"), started, 60000);
      assert.equal(dream.reason, LEARN_REASON);
      assert.equal(dream.status, "written", dream.message);
      assert.deepEqual(dream.sessions, [s1]);
      assert.match(
        dream.diff,
        /^\+- "never edit db\/schema\.sql" \(user\) <!-- id:m-/m,
        "the automatic change is in the dream's diff",
      );
      const learned = readFileSync(data.memoryFile, "utf8");
      assert.ok(learned.includes(`- "${CONSTRAINT}" (user) <!-- id:m-`) && learned.includes(s1), learned);
      const notice = (m: string) => m.includes("Memory now learns on its own");
      await served.waitForEvent(
        (e) => e.type === "tui.toast.show" && notice(String(e.properties.message)),
        10000,
        "the one-time notice",
      );

      // Session 3 decides something; session 4 starts: harvested, but today's automatic dream already ran.
      const s3 = await turn(served, `Session 3: decided. ${DECISION}`);
      await checkpoint(served, s3);
      await until(() => findCheckpoint(env.packDataDir, s3), 30000, "session 3's checkpoint");
      const dreamRequests = model.lane("dream").length;
      await turn(served, "Session 4: anything left?");
      const state = readJsonFile<LearnState>(join(data.dreamDir, LEARN_FILE));
      assert.deepEqual(
        state?.candidates.map((c) => [c.kind, c.text, c.sessionId]),
        [["decision", DECISION, s3]],
        "the decision waits for tomorrow's dream",
      );
      assert.equal(model.lane("dream").length, dreamRequests, "no second automatic dream the same day");

      // Session 5: the constraint is in the memory block, and no one called memory remember.
      await turn(served, "Session 5: what must I not touch?");
      const first = model.lane("main").find((r) => r.lastUserText.includes("Session 5:"));
      assert.ok(first, "session 5 made a request");
      assert.ok(
        first.system.some((s) => s.includes("Memory of this project") && s.includes(CONSTRAINT)),
        "session 5's memory block holds the constraint",
      );
      const remembers = model.requests.flatMap((r) =>
        r.body.messages.flatMap((m) => (m.tool_calls ?? []).filter((t) => t.function.name === "memory")),
      );
      assert.deepEqual(remembers, [], "no memory tool call at all");
      assert.equal(
        served.events.filter((e) => e.type === "tui.toast.show" && notice(String(e.properties.message))).length,
        1,
        "the notice is shown once",
      );

      // The cost, by the ledger; then undo puts the file back byte for byte.
      const stats = continuumCli(env, ["stats", "--json", "--project", env.projectDir, "--all"]);
      const spent = (
        JSON.parse(stats.stdout) as {
          features: Record<string, { runs: number; inputTokens: number; outputTokens: number }>;
        }
      ).features.dream;
      assert.equal(spent?.runs, 1, stats.stdout.slice(0, 600));
      assert.ok(spent.inputTokens > 0);
      console.log(
        `automatic learning cost: ${spent.inputTokens} input + ${spent.outputTokens} output tokens in ${spent.runs} dream run (dream record: ${dream.tokens.total})`,
      );
      const undone = continuumCli(env, ["dream", "undo", "--project", env.projectDir]);
      assert.equal(undone.status, 0, undone.stderr);
      assert.ok(readFileSync(data.memoryFile).equals(Buffer.from(ORIGINAL)), "MEMORY.md is byte for byte as before");
    },
  );
});

/** A new main session with one user turn, waited until idle. */
async function turn(served: Served, text: string): Promise<string> {
  const session = await createSession(served);
  await send(served, session, text);
  await served.waitForIdle(session, 1, 30000);
  return session;
}

async function checkpoint(served: Served, session: string): Promise<void> {
  const ran = await served.client.session.command({
    path: { id: session },
    body: { command: "checkpoint", arguments: "" },
  });
  assert.ok(!ran.error, JSON.stringify(ran.error));
}
