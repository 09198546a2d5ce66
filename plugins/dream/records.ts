// What a dream leaves behind in the pack's data dir (never in the project): the record of the last run (its report,
// shown by /dream status and `continuum dream`) and the undo journal (the exact bytes MEMORY.md had before the last
// dream wrote it). Both are replaced atomically.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import {
  costLine,
  readJsonLoose,
  readRunRecord,
  runRecordShape,
  saveJson,
  saveRunRecord,
  type RunTokens,
} from "../core/run-records.ts";

export type DreamTokens = RunTokens;

/** Validated when read: the file is in the user's data dir and may have been edited by hand. */
export const dreamRecordSchema = z.object({
  ...runRecordShape,
  status: z.enum(["running", "empty", "busy", "refused", "failed", "conflict", "unchanged", "dry-run", "written"]),
  sessions: z.array(z.string()),
  report: z.object({
    consolidated: z.array(z.string()),
    updated: z.array(z.string()),
    deleted: z.array(z.string()),
    skipped: z.array(z.string()),
  }),
  unverified: z.array(z.object({ id: z.string(), text: z.string(), missing: z.array(z.string()) })),
  problems: z.array(z.string()),
  /** Ids that more than one entry of MEMORY.md carries, and how each of those entries is addressed. */
  duplicates: z.array(z.string()).optional(),
  diff: z.string(),
  file: z.string(),
  versionFile: z.string().optional(),
});
export type DreamRecord = z.infer<typeof dreamRecordSchema>;
export type DreamStatus = DreamRecord["status"];

const undoSchema = z.object({
  at: z.string(),
  file: z.string(),
  existed: z.boolean(),
  before: z.string(),
  afterSha256: z.string(),
  runId: z.string().optional(),
});
export type UndoJournal = z.infer<typeof undoSchema>;

/** Said by a dream that was not started because another one runs (the CLI reads it: that run is not its own). */
export const DREAM_NOT_STARTED = "this one was not started";

export function dreamDir(projectRoot: string): string {
  return join(projectRoot, "dream");
}

export function saveRecord(dir: string, record: DreamRecord): void {
  saveRunRecord(dir, record);
}

export function readRecord(dir: string, log: (message: string) => void): DreamRecord | undefined {
  return readRunRecord(dir, dreamRecordSchema, log);
}

export function saveUndo(dir: string, journal: UndoJournal): void {
  saveJson(dir, "undo.json", journal);
}

/** The journal, or why there is none usable (missing, damaged). */
export function readUndo(dir: string): { ok: true; journal: UndoJournal } | { ok: false; reason: string } {
  const file = join(dir, "undo.json");
  if (!existsSync(file))
    return { ok: false, reason: "no dream has written memory here yet (or its undo was already applied)" };
  const parsed = undoSchema.safeParse(readJsonLoose(file));
  return parsed.success
    ? { ok: true, journal: parsed.data }
    : {
        ok: false,
        reason: `the undo journal ${file} is damaged; restore from the kept versions (continuum memory path shows the folder)`,
      };
}

/** After a successful undo the journal is marked used, so a second undo cannot put back an even older state. */
export function markUndone(dir: string, journal: UndoJournal): void {
  saveJson(dir, "undo.json.done", { ...journal, undoneAt: new Date().toISOString() });
  rmSync(join(dir, "undo.json"), { force: true });
}

export function formatRecord(record: DreamRecord): string {
  const title = `[continuum /dream${record.dryRun ? " --dry-run" : ""}]`;
  const lines = [`${title} ${record.message}`];
  if (record.status === "running") return lines.join("\n");
  if (record.sessions.length) lines.push(`Sessions read (${record.sessions.length}): ${record.sessions.join(", ")}`);
  const list = (label: string, items: string[]) => {
    if (items.length) lines.push(`${label}:`, ...items.map((i) => `  - ${i}`));
  };
  list("Consolidated", record.report.consolidated);
  list("Updated", record.report.updated);
  list("Deleted", record.report.deleted);
  list("Skipped", record.report.skipped);
  if (record.unverified.length) {
    lines.push("Marked [unverified] (what they mention no longer exists in the project):");
    for (const u of record.unverified) lines.push(`  - ${u.id}: ${u.missing.join(", ")}`);
  }
  list("Refused because", record.problems);
  list(
    "Duplicate ids in MEMORY.md (each entry is addressed on its own; merge or forget the copies)",
    record.duplicates ?? [],
  );
  if (record.diff)
    lines.push(
      `Diff of ${record.file}${record.dryRun ? " (dry run: nothing written)" : ""}:`,
      "```diff",
      record.diff.trimEnd(),
      "```",
    );
  if (record.versionFile) lines.push(`Previous version kept: ${record.versionFile} (continuum dream undo restores it)`);
  lines.push(costLine(record));
  return lines.join("\n");
}
