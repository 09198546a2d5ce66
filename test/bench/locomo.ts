// LoCoMo (Maharana et al., ACL 2024) read from outside the repository: the conversations' turns and the questions of
// categories 1-4 with the turns that hold their answers. The data is never copied here; see recall.bench.ts.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface Turn {
  diaId: string;
  session: number;
  speaker: string;
  text: string;
  at: number;
}

export interface Question {
  text: string;
  category: 1 | 2 | 3 | 4;
  evidence: string[];
}

export interface Conversation {
  name: string;
  speakers: [string, string];
  turns: Turn[];
  questions: Question[];
}

export const CATEGORY_NAMES: Record<number, string> = {
  1: "multi-hop",
  2: "temporal",
  3: "open-domain",
  4: "single-hop",
};

/** The data folder: $CONTINUUM_LOCOMO_DIR, else ../shared/data/locomo-dev next to the repository. */
export function locomoDir(): string {
  const repo = resolve(fileURLToPath(new URL("../..", import.meta.url)));
  return process.env.CONTINUUM_LOCOMO_DIR ?? join(repo, "..", "shared", "data", "locomo-dev");
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];

/** "1:56 pm on 8 May, 2023" -> epoch ms (UTC); turns of a session follow a second apart. */
function sessionTime(text: string | undefined, fallback: number): number {
  const m = /(\d+):(\d+)\s*(am|pm)\s+on\s+(\d+)\s+(\w+),?\s+(\d{4})/i.exec(text ?? "");
  if (!m) return fallback;
  const hour = (Number(m[1]) % 12) + (m[3]!.toLowerCase() === "pm" ? 12 : 0);
  const month = MONTHS.indexOf(m[5]!.toLowerCase());
  return Date.UTC(Number(m[6]), Math.max(0, month), Number(m[4]), hour, Number(m[2]));
}

export function loadConversations(dir = locomoDir()): Conversation[] | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort();
  return files.map((file) => {
    const raw = JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>;
    const turns: Turn[] = [];
    for (let s = 1; Array.isArray(raw[`session_${s}`]); s++) {
      const at = sessionTime(raw[`session_${s}_date_time`] as string | undefined, Date.UTC(2023, 0, s));
      (raw[`session_${s}`] as { speaker: string; dia_id: string; text: string }[]).forEach((t, i) =>
        turns.push({ diaId: t.dia_id, session: s, speaker: t.speaker, text: t.text, at: at + i * 1000 }),
      );
    }
    const questions = (raw.qa as { question: string; category: number; evidence?: string[] }[])
      .filter((q) => q.category >= 1 && q.category <= 4)
      .map((q) => ({
        text: q.question,
        category: q.category as Question["category"],
        // A few evidence lists hold "D8:6; D9:17" in one string.
        evidence: (q.evidence ?? []).flatMap((e) => e.match(/D\d+:\d+/g) ?? []),
      }))
      .filter((q) => q.evidence.length > 0);
    return {
      name: file.replace(/\.json$/, ""),
      speakers: [raw.speaker_a as string, raw.speaker_b as string],
      turns,
      questions,
    };
  });
}

export interface Scores {
  questions: number;
  at5: number;
  at10: number;
  all10: number;
}

export function emptyScores(): Scores {
  return { questions: 0, at5: 0, at10: 0, all10: 0 };
}

/** Adds one question's ranked dia ids to the tallies. */
export function score(into: Scores, ranked: string[], evidence: string[]): void {
  const top5 = new Set(ranked.slice(0, 5));
  const top10 = new Set(ranked.slice(0, 10));
  into.questions++;
  if (evidence.some((e) => top5.has(e))) into.at5++;
  if (evidence.some((e) => top10.has(e))) into.at10++;
  if (evidence.every((e) => top10.has(e))) into.all10++;
}
