// What checkpoints cost, by the pack's own ledger (`continuum stats --json`), in one OpenCode process: a long
// scripted session (32K window; 14 large tool outputs, then 14 turns with long replies) with a writer that answers
// correctly costs at most 10 % of the worker's input tokens; in a second session a writer that fails validation
// every time makes at most 2 requests per checkpoint run (the retry is sent only what to fix). §1 quotes the
// person's latest message, put there by code.
// Wall time: ~2.5 min per session on a 2-core machine shared with other jobs (29 worker calls each).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, type ScriptedReply, isCheckpointWriterRequest } from "../harness/scripted-model.ts";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { withOpencode } from "../harness/fixture.ts";
import type { Served } from "../harness/opencode.ts";
import { createSession, send } from "../harness/session.ts";
import { findCheckpoint } from "./checkpoint-support.ts";

const CONTEXT = 32000;
const OUTPUT = 4000;
const FILES = 14;
const TURNS = 14;
const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

/** Sessions whose writer fails validation every time (its §7 is always empty). */
const failing = new Set<string>();

function writerReply(request: RecordedRequest): ScriptedReply {
  if (request.body.messages.at(-1)?.role === "tool") return { text: "stored", usage: "auto" };
  const broken = [...failing].some((id) => request.raw.includes(id));
  const args = {
    active_intent: "Port the importer module by module, keeping the notes current.",
    next_action: "Answer the next question about the importer.",
    directives: "- Never edit db/schema.sql.",
    current_work: "Files read; discussing the design turn by turn.",
    knowledge: broken ? "" : "data/f*.txt hold the sample rows.",
    decisions: "none",
    open_notes: "none",
  };
  return { toolCalls: [{ name: "checkpoint_write", args }], usage: "auto" };
}

/** The worker: reads the 14 files when asked, then answers each turn at length. */
function worker() {
  let readsLeft = 0;
  let next = 1;
  const reply = (): ScriptedReply => {
    if (readsLeft > 0) {
      readsLeft--;
      return { toolCalls: [{ name: "read", args: { filePath: `data/f${next++}.txt` } }], usage: "auto" };
    }
    return {
      text: `${"The importer streams rows, validates each one and batches the inserts. ".repeat(30)}`,
      usage: "auto",
    };
  };
  return { reply, startReading: () => ((readsLeft = FILES), (next = 1)) };
}

async function longSession(served: Served, script: ReturnType<typeof worker>, writerFails = false): Promise<string> {
  const session = await createSession(served);
  if (writerFails) failing.add(session);
  script.startReading();
  await send(served, session, "Read data/f1.txt to data/f14.txt in order. Never edit db/schema.sql.");
  await served.waitForIdle(session, 1, 90000);
  for (let turn = 1; turn <= TURNS; turn++) {
    await send(served, session, `Question ${turn}: how should the importer handle batch ${turn}? Explain in detail.`);
    await served.waitForIdle(session, turn + 1, 60000);
  }
  return session;
}

test("checkpoint cost by the ledger: ≤ 10 % of the worker's input with a good writer, ≤ 2 requests per run with a failing one", {
  timeout: 600000,
}, async () => {
  const script = worker();
  const options = {
    model: {
      lanes: [{ name: "writer", match: isCheckpointWriterRequest, replies: (r: RecordedRequest) => writerReply(r) }],
      main: () => script.reply(),
    },
    env: { context: CONTEXT, output: OUTPUT, continuumConfig: { tasks: { gate: false } } },
    serve: true,
  };
  await withOpencode(options, async ({ env, model, served }) => {
    mkdirSync(join(env.projectDir, "data"), { recursive: true });
    for (let i = 1; i <= FILES; i++) {
      const rows = Array.from({ length: 90 }, (_, r) => `f${i} row ${r}: id=${i * 1000 + r}, ${"value ".repeat(8)}`);
      writeFileSync(join(env.projectDir, "data", `f${i}.txt`), rows.join("\n"));
    }
    const good = await longSession(served, script);
    const goodWriter = model.lane("writer").filter((r) => r.raw.includes(good));
    const stats = JSON.parse(cli(env, ["stats", "--json", "--session", good]).stdout) as {
      worker: { calls: number; inputTokens: number };
      features: Record<string, { runs: number; inputTokens: number; outputTokens: number }>;
    };
    const checkpoint = stats.features.checkpoint!;
    const share = checkpoint.inputTokens / stats.worker.inputTokens;
    const goodFigures = `worker ${stats.worker.calls} calls, ${stats.worker.inputTokens} input tokens; checkpoint ${checkpoint.runs} runs, ${goodWriter.length} requests, ${checkpoint.inputTokens} input tokens (${(share * 100).toFixed(1)} %)`;
    console.log(`good writer: ${goodFigures}`);
    assert.ok(checkpoint.runs >= 2, `writers ran on the way: ${goodFigures}`);
    assert.equal(goodWriter.length, checkpoint.runs, "one request per run: no retry, no call after the result");
    assert.ok(share <= 0.1, `helper overhead ≤ 10 % of the worker's input tokens: ${goodFigures}`);
    const markdown = readFileSync(findCheckpoint(env.packDataDir, good)!, "utf8");
    const intent = markdown.slice(markdown.indexOf("## 1. Active intent"), markdown.indexOf("## 2."));
    assert.match(
      intent,
      /^> Question \d+: how should the importer handle batch \d+\? Explain in detail\.$/m,
      "§1 quotes the person's own latest message",
    );

    const bad = await longSession(served, script, true);
    const badStats = JSON.parse(cli(env, ["stats", "--json", "--session", bad]).stdout) as typeof stats;
    const badWriter = model.lane("writer").filter((r) => r.raw.includes(bad));
    const jobs = badWriter.filter((r) => r.lastUserText.startsWith("Update the checkpoint of session")).length;
    const badFigures = `${jobs} checkpoint runs, ${badWriter.length} writer requests, ledger: ${badStats.features.checkpoint?.runs} helper runs, ${badStats.features.checkpoint?.inputTokens} input tokens of ${badStats.worker.inputTokens} (${(((badStats.features.checkpoint?.inputTokens ?? 0) / badStats.worker.inputTokens) * 100).toFixed(1)} %)`;
    console.log(`failing writer: ${badFigures}`);
    assert.ok(jobs >= 2, badFigures);
    assert.ok(badWriter.length <= 2 * jobs, `at most 2 requests per checkpoint run: ${badFigures}`);
    const retries = badWriter.filter((r) => r.lastUserText.includes("was not stored. Fix only this"));
    assert.equal(retries.length, jobs, "each run retried once, asking only for the fix");
    assert.ok(
      retries.every((r) => !r.raw.includes("New messages since the previous checkpoint")),
      "the retry is not sent the input again",
    );
  });
});
