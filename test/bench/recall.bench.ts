// Retrieval benchmark on LoCoMo (`npm run bench -- recall`; data from $CONTINUUM_LOCOMO_DIR or
// ../shared/data/locomo-dev, skipped with a message when absent). Each conversation's sessions are fed, turn by turn,
// through the pack's HistoryRecorder (the code that indexes OpenCode's live part events); every question of
// categories 1-4 is then asked through the `history` tool's search as a model calls it, with the running call
// streamed into the recorder before the search and its output after, in one main session. Two baselines run over the
// same turns in the same process: a bare FTS5 query (unicode61, the question's words OR-joined) and a porter +
// English stop-word FTS5 query. Prints recall@5, recall@10 and all-evidence@10 by category.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase, type Database } from "../../plugins/core/storage/database.ts";
import { backfillHistory } from "../../plugins/memory/history-backfill.ts";
import { HistoryRecorder } from "../../plugins/memory/history-recorder.ts";
import { migrateMemory } from "../../plugins/memory/index-store.ts";
import { MemoryService } from "../../plugins/memory/memory-service.ts";
import { memoryLocations } from "../../plugins/memory/locations.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { memoryTools } from "../../plugins/memory/tools.ts";
import {
  CATEGORY_NAMES,
  emptyScores,
  loadConversations,
  locomoDir,
  score,
  type Conversation,
  type Scores,
} from "./locomo.ts";
import type { BenchRow } from "./memory.bench.ts";

/** A common English stop-word list (the baseline's, independent of the pack's own). */
const ENGLISH_STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both but by can " +
    "could did do does doing down during each few for from further had has have having he her here hers herself him himself his how " +
    "i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours ourselves out over " +
    "own same she should so some such than that the their theirs them themselves then there these they this those through to too under " +
    "until up very was we were what when where which while who whom why will with would you your yours yourself yourselves"
  ).split(" "),
);

type Method = "pack" | "bare" | "porter";
const METHODS: Method[] = ["pack", "bare", "porter"];
const LABELS: Record<Method, string> = {
  pack: "pack history search",
  bare: "bare FTS5",
  porter: "FTS5 porter + stop words",
};

/** The baselines' own tables over the same turns. */
function baselineTables(db: Database, conversation: Conversation): void {
  db.exec(`CREATE VIRTUAL TABLE base_bare USING fts5(dia, body, tokenize='unicode61 remove_diacritics 2');
           CREATE VIRTUAL TABLE base_porter USING fts5(dia, body, tokenize='porter unicode61 remove_diacritics 2');`);
  const bare = db.prepare("INSERT INTO base_bare (dia, body) VALUES (?, ?)");
  const porter = db.prepare("INSERT INTO base_porter (dia, body) VALUES (?, ?)");
  db.transaction(() => {
    for (const t of conversation.turns) {
      bare.run(t.diaId, turnText(t.speaker, t.text));
      porter.run(t.diaId, turnText(t.speaker, t.text));
    }
  });
}

export const turnText = (speaker: string, text: string) => `${speaker}: ${text}`;

function baselineSearch(db: Database, table: "base_bare" | "base_porter", question: string): string[] {
  let words: string[] = question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  if (table === "base_porter") {
    const kept = words.filter((w) => !ENGLISH_STOPWORDS.has(w));
    if (kept.length) words = kept;
  }
  if (words.length === 0) return [];
  const match = [...new Set(words)].map((w) => `"${w}"`).join(" OR ");
  return db
    .prepare(`SELECT dia FROM ${table} WHERE ${table} MATCH ? ORDER BY bm25(${table}, 0, 1) LIMIT 10`)
    .all<{ dia: string }>(`body : (${match})`)
    .map((r) => r.dia);
}

export interface Run {
  scores: Record<Method, Record<number, Scores>>;
  searches: number;
  lookupHits: number;
  packMs: number[];
}

async function runConversation(conversation: Conversation, run: Run): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "continuum-recall-"));
  const db = await openDatabase(join(root, "continuum.db"));
  const paths = packPaths(root);
  const service = new MemoryService({
    db,
    locations: memoryLocations(paths, "locomo", root, "data"),
    projectId: "locomo",
    sessionsDir: paths.project("locomo").sessions,
    versionsKept: 1,
    sectionBudgetTokens: 2000,
    redact: (t) => t,
  });
  try {
    migrateMemory(db);
    const recorder = new HistoryRecorder({
      db,
      projectId: "locomo",
      redact: (t) => t,
      isMain: async () => true,
      retentionDays: 100_000,
      debounceMs: 5,
    });
    const partToDia = new Map<string, string>();
    for (const t of conversation.turns) {
      const messageId = `msg_${t.diaId.replace(":", "_")}`;
      // The first speaker types, the second answers: as in a session of a person with an assistant.
      recorder.onMessageUpdated({ id: messageId, role: t.speaker === conversation.speakers[0] ? "user" : "assistant" });
      recorder.onPartUpdated({
        id: `prt_${messageId}`,
        sessionID: `ses_${conversation.name}_${t.session}`,
        messageID: messageId,
        type: "text",
        text: turnText(t.speaker, t.text),
        time: { start: t.at, end: t.at },
      });
      partToDia.set(`prt_${messageId}`, t.diaId);
    }
    await recorder.flush();
    baselineTables(db, conversation);
    const tools = memoryTools({
      service,
      history: recorder,
      db,
      projectId: "locomo",
      turnOf: () => 1,
      notify: () => {},
    });
    const session = `ses_${conversation.name}_questions`;
    for (const [n, q] of conversation.questions.entries()) {
      const args = { action: "search", query: q.text };
      const call = { id: `prt_q${n}`, sessionID: session, messageID: `msg_q${n}`, type: "tool", tool: "history" };
      recorder.onPartUpdated({ ...call, state: { status: "running", input: args, time: { start: Date.now() } } });
      const started = performance.now();
      const output = await tools.history!.execute(args, {
        sessionID: session,
        messageID: `msg_q${n}`,
        agent: "build",
        abort: new AbortController().signal,
      });
      run.packMs.push(performance.now() - started);
      recorder.onPartUpdated({
        ...call,
        state: { status: "completed", input: args, output, time: { start: Date.now(), end: Date.now() } },
      });
      const parts = [...output.matchAll(/^- part (\S+) ·/gm)].map((m) => m[1]!);
      run.searches++;
      run.lookupHits += parts.filter((p) => !partToDia.has(p)).length;
      const ranked = {
        pack: parts.map((p) => partToDia.get(p) ?? "?"),
        bare: baselineSearch(db, "base_bare", q.text),
        porter: baselineSearch(db, "base_porter", q.text),
      };
      for (const method of METHODS) {
        score(run.scores[method][q.category]!, ranked[method], q.evidence);
        score(run.scores[method][0]!, ranked[method], q.evidence);
      }
    }
    await recorder.dispose();
  } finally {
    service.close();
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

/** 1,000 stored sessions of 40 parts each read in through the backfill, as at the first start after install. */
async function backfillThousand(): Promise<BenchRow> {
  const root = mkdtempSync(join(tmpdir(), "continuum-backfill-"));
  const db = await openDatabase(join(root, "continuum.db"));
  try {
    migrateMemory(db);
    const now = Date.now();
    const words =
      "deploy staging cluster migration flag rollback database index query cache token session review branch merge".split(
        " ",
      );
    const sessions = Array.from({ length: 1000 }, (_, i) => ({ id: `ses_${i}`, updatedAt: now - i * 60_000 }));
    const messages = (id: string) =>
      Array.from({ length: 20 }, (_, m) => ({
        info: {
          id: `${id}_m${m}`,
          sessionID: id,
          role: m % 2 ? "assistant" : "user",
          time: { created: now - 3_600_000 + m },
        },
        parts: [
          {
            id: `${id}_p${m}`,
            type: "text",
            text: Array.from({ length: 40 }, (_, w) => words[(m * 7 + w * 3) % words.length]).join(" "),
          },
          {
            id: `${id}_t${m}`,
            type: "tool",
            tool: "bash",
            state: { status: "completed", input: { command: "ls" }, output: "a\nb\nc" },
          },
        ],
      }));
    const heap = process.memoryUsage().rss;
    const started = performance.now();
    const result = await backfillHistory({
      db,
      host: { listSessions: async () => sessions, messages: async (id) => messages(id) },
      projectId: "p",
      retentionDays: 30,
      redact: (t) => t,
    });
    const elapsed = performance.now() - started;
    const grown = (process.memoryUsage().rss - heap) / 1e6;
    return {
      measure: `indexing 1,000 stored sessions (20 messages, 40 parts each) through the backfill, in the background`,
      target: "-",
      result: `${(elapsed / 1000).toFixed(1)} s for ${result.parts.toLocaleString("en")} parts; RSS +${grown.toFixed(0)} MB`,
      ok: true,
    };
  } finally {
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const fmt = (n: number, d: number) => (d ? (n / d).toFixed(3) : "-");

export async function measure(only?: Conversation[]): Promise<{ run: Run; conversations: number } | undefined> {
  const conversations = only ?? loadConversations();
  if (!conversations) return undefined;
  const perCategory = () =>
    Object.fromEntries([0, 1, 2, 3, 4].map((c) => [c, emptyScores()])) as Record<number, Scores>;
  const run: Run = {
    scores: { pack: perCategory(), bare: perCategory(), porter: perCategory() },
    searches: 0,
    lookupHits: 0,
    packMs: [],
  };
  for (const c of conversations) await runConversation(c, run);
  return { run, conversations: conversations.length };
}

export async function run(): Promise<BenchRow[]> {
  const measured = await measure();
  if (!measured) {
    console.error(`recall bench skipped: no LoCoMo data at ${locomoDir()} (set CONTINUUM_LOCOMO_DIR)`);
    return [];
  }
  const { run: r, conversations } = measured;
  const rows: BenchRow[] = [];
  for (const category of [0, 1, 2, 3, 4]) {
    const name = category === 0 ? "all" : `${category} ${CATEGORY_NAMES[category]}`;
    const cell = (m: Method) =>
      `${fmt(r.scores[m][category]!.at5, r.scores[m][category]!.questions)} / ${fmt(r.scores[m][category]!.at10, r.scores[m][category]!.questions)} / ${fmt(r.scores[m][category]!.all10, r.scores[m][category]!.questions)}`;
    const pack = r.scores.pack[category]!;
    const porter = r.scores.porter[category]!;
    const ok =
      category !== 0 || (pack.at10 / pack.questions >= porter.at10 / porter.questions + 0.05 && pack.at5 >= porter.at5);
    rows.push({
      measure: `LoCoMo (${conversations} conversations) ${name}, ${pack.questions} questions: recall@5 / recall@10 / all-evidence@10`,
      target: category === 0 ? "pack @10 ≥ porter @10 + 0.05, pack @5 ≥ porter @5" : "-",
      result: METHODS.map((m) => `${LABELS[m]} ${cell(m)}`).join("; "),
      ok,
    });
  }
  const sorted = [...r.packMs].sort((a, b) => a - b);
  rows.push({
    measure: `history searches through the tool: hits that were lookups (searches), and tool time p50 / p99`,
    target: "0 lookups",
    result: `${r.lookupHits} of ${r.searches} searches' hits; ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} / ${sorted[Math.floor(sorted.length * 0.99)]!.toFixed(2)} ms`,
    ok: r.lookupHits === 0,
  });
  rows.push(await backfillThousand());
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const row of await run())
    console.log(
      `| ${row.measure} | ${row.target} | ${row.result} | ${row.target === "-" ? "" : row.ok ? "yes" : "NO"} |`,
    );
}
