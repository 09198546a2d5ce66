// What code does with a dream's result once the agent has ended: a failed or refused run writes nothing; otherwise
// stale mentions are marked, the limits are checked again on what would really be written, and the draft is either
// only diffed (--dry-run) or written in one replacement, keeping the bytes before as the undo journal.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { MemoryServices } from "../core/feature.ts";
import type { HelperOutcome } from "../core/helpers.ts";
import { errorText } from "../core/report.ts";
import { unifiedDiff } from "./diff.ts";
import type { MemoryDraft } from "./draft.ts";
import { deletions, limitProblems, type DreamLimits } from "./limits.ts";
import { saveUndo, type DreamRecord } from "./records.ts";
import type { DreamReport } from "./report.ts";
import { markMissingMentions, UNVERIFIED } from "./verify.ts";

export interface DreamResult {
  record: DreamRecord;
  outcome: HelperOutcome<DreamReport>;
  draft: MemoryDraft;
  limits: DreamLimits;
  /** MEMORY.md as the dream started from it: its text, and its bytes (undefined when it did not exist). */
  original: { file: string; text: string; bytes: Uint8Array | undefined };
  dryRun: boolean;
  /** The dream's folder in the pack's data dir (the undo journal). */
  dir: string;
  projectRoot: string;
  now: () => Date;
  replaceFile: MemoryServices["replaceFile"];
}

/** Fills in the record's status, message and diff; the caller stamps and saves it. */
export async function settleDream(result: DreamResult): Promise<DreamRecord> {
  const { record, outcome, draft, limits } = result;
  if (!outcome.ok) {
    const refused = outcome.failure === "invalid-result";
    record.status = refused ? "refused" : "failed";
    record.problems = refused ? limitProblems(draft, limits) : [];
    record.message = refused
      ? "Dream refused: its result broke a limit; nothing was written."
      : `Dream failed (${outcome.failure}): ${outcome.message}. Nothing was written.`;
    return record;
  }
  record.report = outcome.value;
  record.unverified.push(...markMissingMentions(draft, result.projectRoot, result.now().toISOString().slice(0, 10)));
  // Marking adds text: the limits are checked again on what would really be written.
  const problems = limitProblems(draft, limits);
  if (problems.length) {
    record.status = "refused";
    record.problems = problems;
    record.message = "Dream refused: the result breaks a limit; nothing was written.";
    return record;
  }
  if (!draft.changed()) {
    record.status = "unchanged";
    record.message = "Dream finished: MEMORY.md needs no change.";
    return record;
  }
  if (result.dryRun) {
    record.diff = unifiedDiff("MEMORY.md", result.original.text, draft.text);
    record.status = "dry-run";
    record.message = `Dry run: this is what the dream would change (${summary(draft, record.unverified.length)}); nothing was written.`;
    return record;
  }
  return write(result);
}

async function write(result: DreamResult): Promise<DreamRecord> {
  const { record, draft, original } = result;
  const written = await result.replaceFile(original.file, draft.text, original.text);
  if (!written.ok) {
    record.status = "conflict";
    record.message = `Dream not written: ${written.reason}.`;
    return record;
  }
  // The diff is computed from what is on disk now against the kept previous version.
  const before = written.versionFile ? (readText(written.versionFile) ?? original.text) : "";
  record.diff = unifiedDiff("MEMORY.md", before, written.content);
  record.versionFile = written.versionFile;
  record.status = "written";
  record.message = `Dream written to MEMORY.md (${summary(draft, record.unverified.length)}).`;
  try {
    saveUndo(result.dir, {
      at: result.now().toISOString(),
      file: original.file,
      existed: original.bytes !== undefined,
      before: Buffer.from(original.bytes ?? new Uint8Array()).toString("base64"),
      afterSha256: createHash("sha256").update(Buffer.from(written.content, "utf8")).digest("hex"),
      runId: record.runId,
    });
  } catch (error) {
    record.message += ` The undo journal could not be saved (${errorText(error)}); the previous version is still in ${written.versionFile ?? "the versions folder"}.`;
  }
  return record;
}

function summary(draft: MemoryDraft, marked: number): string {
  const c = draft.changes;
  return `${c.added.length} added, ${c.rewritten.length} rewritten, ${deletions(draft).removed} removed, ${marked} marked ${UNVERIFIED}`;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
