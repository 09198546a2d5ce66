// What Max Mode did in a session, turn by turn: kept in the session's folder (max.json) so `/max` reports it after
// a restart. Tokens and cost come from the helper runs' usage (the same figures the ledger records under `max`).
// A damaged file is moved aside (nothing lost) and the record starts again.
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile } from "../core/json-file.ts";
import { writeStoredFile } from "../core/storage/stored-text.ts";

export const turnRecordSchema = z.object({
  at: z.string(),
  mode: z.enum(["plan", "patch"]),
  requested: z.number().int(),
  started: z.number().int(),
  valid: z.number().int(),
  consensus: z.boolean(),
  judged: z.boolean(),
  winner: z.number().int().nullable(),
  how: z.string(),
  tokens: z.number(),
  cost: z.number(),
  /** Mean tokens of one candidate that ran: the unit of the multiplier. */
  perCandidate: z.number(),
  estimated: z.boolean(),
});

export type TurnRecord = z.infer<typeof turnRecordSchema>;
const fileSchema = z.object({ version: z.literal(1), turns: z.array(turnRecordSchema) });
const KEPT = 500;

export interface MaxStatsStore {
  turns(sessionId: string): TurnRecord[];
  add(sessionId: string, turn: TurnRecord): void;
}

export function openStatsStore(
  sessionDir: (sessionId: string) => string,
  log: (message: string) => void,
): MaxStatsStore {
  const file = (sessionId: string) => join(sessionDir(sessionId), "max.json");
  const read = (sessionId: string): TurnRecord[] =>
    readJsonFile(
      file(sessionId),
      fileSchema,
      (message) => log(`${message}, a new record starts`),
      `max.json of ${sessionId}`,
    )?.turns ?? [];
  return {
    turns: read,
    add(sessionId, turn) {
      const turns = [...read(sessionId), turn].slice(-KEPT);
      writeStoredFile(file(sessionId), JSON.stringify({ version: 1, turns }, null, 1));
    },
  };
}

/** Overhead of a turn against one candidate: all Max tokens / one candidate's tokens. */
export const multiplier = (turn: Pick<TurnRecord, "tokens" | "perCandidate">): number =>
  turn.perCandidate > 0 ? turn.tokens / turn.perCandidate : 0;

const n = (value: number) => Math.round(value).toLocaleString("en-US");

export function turnSummary(turn: TurnRecord): string {
  const path = turn.consensus
    ? "consensus of the scouts"
    : turn.judged
      ? "judged"
      : turn.valid === 0
        ? "no valid candidate"
        : "one valid candidate";
  const cost = turn.cost ? ` · $${turn.cost.toFixed(4)}` : "";
  return `Max ${turn.mode}: ${turn.winner ? `candidate ${turn.winner} of ${turn.requested} won` : "no winner"} (${path}) · ${turn.started} candidates run${turn.judged ? " + judge" : ""} · ${n(turn.tokens)} tokens${turn.estimated ? " (some estimated)" : ""}${cost} · ${multiplier(turn).toFixed(1)}× one candidate`;
}

export function sessionReport(turns: readonly TurnRecord[], ledgerLine?: string): string {
  const lines = ["opencode-continuum · Max Mode in this session"];
  if (turns.length === 0) {
    lines.push(
      "No Max turn yet. /max <task> runs one (--patch for patch mode); the max agent (Tab) runs every turn through Max Mode.",
    );
    return lines.join("\n");
  }
  const sum = (pick: (t: TurnRecord) => number) => turns.reduce((s, t) => s + pick(t), 0);
  const tokens = sum((t) => t.tokens);
  const unit = sum((t) => t.perCandidate) / turns.filter((t) => t.perCandidate > 0).length || 0;
  const cost = sum((t) => t.cost);
  lines.push(
    `Turns: ${turns.length} (${turns.filter((t) => t.mode === "plan").length} plan, ${turns.filter((t) => t.mode === "patch").length} patch) · candidates run: ${sum((t) => t.started)} (${sum((t) => t.valid)} valid) · consensus exits: ${turns.filter((t) => t.consensus).length} · judge runs: ${turns.filter((t) => t.judged).length}`,
  );
  lines.push(
    `Tokens: ${n(tokens)}${cost ? ` · cost $${cost.toFixed(4)}` : ""} · overhead ${unit > 0 ? (tokens / turns.length / unit).toFixed(1) : "?"}× one candidate per turn on average`,
  );
  if (ledgerLine) lines.push(ledgerLine);
  lines.push("Latest:", ...turns.slice(-5).map((t) => `- ${turnSummary(t)}`));
  return lines.join("\n");
}
