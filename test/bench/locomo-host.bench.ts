// The LoCoMo retrieval check in the real host (`npm run bench -- locomo-host`; slow: minutes per conversation). The
// first conversation (CONTINUUM_LOCOMO_HOST_CONVERSATIONS=n for more) becomes real OpenCode sessions, one per LoCoMo
// session, each turn stored as a user message without a model call (noReply), so the pack's history recorder indexes
// them from OpenCode's live events; then the scripted model asks every question of categories 1-4 through the
// `history` tool in one main session, ten calls per step as a model may batch them. Recall is printed next to the
// driven bench (recall.bench.ts) on the same conversations, to show the two agree.
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import { createIsolatedEnv } from "../harness/env.ts";
import { installPack } from "../harness/install.ts";
import { opencodeServe, type Served } from "../harness/opencode.ts";
import {
  startScriptedModel,
  isCheckpointWriterRequest,
  isGoalJudgeRequest,
  type ScriptedReply,
} from "../harness/scripted-model.ts";
import { emptyScores, loadConversations, locomoDir, score, type Conversation, type Scores } from "./locomo.ts";
import type { BenchRow } from "./memory.bench.ts";
import { measure, turnText } from "./recall.bench.ts";

const BATCH = 10;

async function waitUntil(fn: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function hostConversation(conversation: Conversation, into: Scores): Promise<void> {
  const model = await startScriptedModel({
    lanes: [
      {
        name: "helpers",
        match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
        replies: () => ({ text: "ok" }),
      },
    ],
    exhausted: { text: "ok" },
  });
  const env = createIsolatedEnv({ baseURL: model.baseURL });
  let served: Served | undefined;
  const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  const rows = () => {
    try {
      const db = new Driver(join(env.packDataDir, "continuum.db"), { readonly: true });
      try {
        return db.prepare("SELECT part_id AS id, text FROM history_parts").all() as { id: string; text: string }[];
      } finally {
        db.close();
      }
    } catch {
      return [];
    }
  };
  try {
    installPack(env, { scope: "project" });
    served = await opencodeServe(env);
    const client = served.client;
    for (const session of [...new Set(conversation.turns.map((t) => t.session))]) {
      const created = await client.session.create({
        body: { title: `locomo ${conversation.name} session ${session}` },
      });
      for (const t of conversation.turns.filter((x) => x.session === session)) {
        const stored = await client.session.prompt({
          path: { id: created.data!.id },
          body: { noReply: true, parts: [{ type: "text", text: turnText(t.speaker, t.text) }] },
        });
        if (stored.error) throw new Error(JSON.stringify(stored.error));
      }
    }
    await waitUntil(() => rows().length >= conversation.turns.length, 120000, "every turn in the history index");
    const diaOf = new Map<string, string>();
    const byText = new Map(conversation.turns.map((t) => [turnText(t.speaker, t.text), t.diaId]));
    for (const row of rows()) if (byText.has(row.text)) diaOf.set(row.id, byText.get(row.text)!);

    const questions = conversation.questions;
    const steps: ScriptedReply[] = [];
    for (let i = 0; i < questions.length; i += BATCH) {
      steps.push({
        toolCalls: questions
          .slice(i, i + BATCH)
          .map((q) => ({ name: "history", args: { action: "search", query: q.text } })),
      });
    }
    model.push("main", ...steps, { text: "done" });
    const before = model.lane("main").length;
    const session = await client.session.create({ body: { title: "questions" } });
    await client.session.promptAsync({
      path: { id: session.data!.id },
      body: { parts: [{ type: "text", text: "Answer the questions about our past conversations." }] },
    });
    await served.waitForIdle(session.data!.id, 1, 600000);
    const requests = model.lane("main").slice(before);
    if (requests.length !== steps.length + 1)
      throw new Error(`expected ${steps.length + 1} model calls, saw ${requests.length}`);
    // The tool results as OpenCode stored them (the requests carry older ones shortened by the pack's own context
    // trimming, which is about the model's context, not about what the search found).
    const outputByQuery = new Map<string, string>();
    const stored = await client.session.messages({ path: { id: session.data!.id } });
    for (const message of stored.data ?? []) {
      for (const part of message.parts) {
        if (part.type !== "tool" || part.tool !== "history" || part.state.status !== "completed") continue;
        outputByQuery.set(String((part.state.input as { query?: string }).query ?? ""), part.state.output);
      }
    }
    for (const q of questions) {
      const output = outputByQuery.get(q.text) ?? "";
      const ranked = [...output.matchAll(/^- part (\S+) ·/gm)].map((m) => diaOf.get(m[1]!) ?? "?");
      score(into, ranked, q.evidence);
    }
  } finally {
    await served?.stop();
    await model.close();
    env.cleanup();
  }
}

export async function run(): Promise<BenchRow[]> {
  const all = loadConversations();
  if (!all) {
    console.error(`locomo-host bench skipped: no LoCoMo data at ${locomoDir()} (set CONTINUUM_LOCOMO_DIR)`);
    return [];
  }
  const chosen = all.slice(0, Number(process.env.CONTINUUM_LOCOMO_HOST_CONVERSATIONS ?? 1));
  const host = emptyScores();
  const started = Date.now();
  for (const c of chosen) await hostConversation(c, host);
  const driven = (await measure(chosen))!.run.scores.pack[0]!;
  const f = (s: Scores) =>
    `${(s.at5 / s.questions).toFixed(3)} / ${(s.at10 / s.questions).toFixed(3)} / ${(s.all10 / s.questions).toFixed(3)}`;
  return [
    {
      measure: `LoCoMo ${chosen.map((c) => c.name).join(", ")} in real OpenCode (${host.questions} questions through the model's history calls): recall@5 / @10 / all-evidence@10, next to the driven bench on the same conversation`,
      target: "-",
      result: `real host ${f(host)}; driven ${f(driven)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      ok: true,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const row of await run()) console.log(`| ${row.measure} | ${row.result} |`);
}
