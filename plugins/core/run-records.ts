// The record a helper-agent run (dream, distill) leaves in the pack's data dir: the fields every such record carries,
// how it is written (atomically, as `last.json`) and read back (validated: a person may have edited it), and the cost
// line every report ends with. A feature adds its own statuses and report fields to the shape.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile } from "./json-file.ts";
import { writeStoredFile } from "./storage/stored-text.ts";

export const runTokensSchema = z.object({ input: z.number(), output: z.number(), total: z.number() });
export type RunTokens = z.infer<typeof runTokensSchema>;

/** The fields of every run record; a feature spreads them into its schema and narrows `status`. */
export const runRecordShape = {
  runId: z.string().optional(),
  childSessionId: z.string().optional(),
  status: z.string(),
  dryRun: z.boolean(),
  focus: z.string(),
  reason: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  message: z.string(),
  tokens: runTokensSchema,
  cost: z.number(),
  estimated: z.boolean(),
  /** The OpenCode process running it (while running): a record of a process that is gone reads as interrupted. */
  pid: z.number().optional(),
};
export type RunRecord = z.infer<z.ZodObject<typeof runRecordShape>>;

const RECORD_FILE = "last.json";

/** Writes `value` as indented JSON to `dir/name`, replacing the file in one step. */
export function saveJson(dir: string, name: string, value: unknown): void {
  writeStoredFile(join(dir, name), JSON.stringify(value, null, 2) + "\n");
}

/** A side file's JSON value, or undefined when missing, empty or not JSON (its reader checks the shape itself). */
export function readJsonLoose(file: string): unknown {
  try {
    const text = readFileSync(file, "utf8");
    return text.trim() ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export function saveRunRecord(dir: string, record: RunRecord): void {
  saveJson(dir, RECORD_FILE, record);
}

export function readRunRecord<R>(dir: string, schema: z.ZodType<R>, log: (message: string) => void): R | undefined {
  return readJsonFile(join(dir, RECORD_FILE), schema, log);
}

export function formatTokens(tokens: RunTokens, cost: number, estimated: boolean): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const est = estimated ? ", estimated" : "";
  return `${n(tokens.total)} tokens (${n(tokens.input)} in, ${n(tokens.output)} out)${est}, cost $${cost.toFixed(4)}`;
}

/** The report's last line: what the run cost, or why that is not known (a run cut off before it reported). */
export function costLine(record: RunRecord): string {
  if (record.runId && record.status === "failed" && record.tokens.total === 0) {
    return `Cost: not read back (the run ended before it reported); its model calls are in the ledger as run ${record.runId} (continuum agents, continuum stats).`;
  }
  if (record.runId) return `Cost: ${formatTokens(record.tokens, record.cost, record.estimated)}; run ${record.runId}.`;
  return "Cost: no model call.";
}

/** " (N tokens, $C)" for a toast, or nothing when no model was called. */
export function costSuffix(record: RunRecord): string {
  return record.runId ? ` (${record.tokens.total.toLocaleString("en-US")} tokens, $${record.cost.toFixed(4)})` : "";
}
