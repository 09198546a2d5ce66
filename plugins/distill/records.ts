// What /distill leaves in the pack's data dir: the last run's record (its report, for /distill status and
// `continuum distill`) and the candidates already distilled, so the next run does not propose them again.
import { join } from "node:path";
import { z } from "zod";
import {
  costLine,
  readJsonLoose,
  readRunRecord,
  runRecordShape,
  saveJson,
  saveRunRecord,
} from "../core/run-records.ts";

const candidateSchema = z.object({
  id: z.string().optional(),
  name: z.string(),
  evidence: z.string(),
  sessions: z.array(z.string()),
  form: z.enum(["skill", "command", "agent", "none"]),
  action: z.enum(["created", "extended", "skipped", "none", "would-create", "would-extend"]),
});
export type ReportedCandidate = z.infer<typeof candidateSchema>;

/** Validated when read: the file is in the user's data dir and may have been edited by hand. */
export const distillRecordSchema = z.object({
  ...runRecordShape,
  status: z.enum(["running", "empty", "nothing-new", "busy", "failed", "dry-run", "done"]),
  mined: z.array(
    z.object({
      id: z.string(),
      key: z.string(),
      sessions: z.array(z.string()),
      occurrences: z.number(),
      covered: z.string().optional(),
    }),
  ),
  candidates: z.array(candidateSchema),
  assets: z.array(z.object({ path: z.string(), action: z.string(), backup: z.string().optional() })),
});
export type DistillRecord = z.infer<typeof distillRecordSchema>;
export type DistillStatus = DistillRecord["status"];

/** Mined key → the asset it went into. */
export type Covered = Record<string, { path: string; at: string }>;

export function distillDir(projectRoot: string): string {
  return join(projectRoot, "distill");
}

export function saveDistillRecord(dir: string, record: DistillRecord): void {
  saveRunRecord(dir, record);
}

export function readDistillRecord(dir: string, log: (message: string) => void): DistillRecord | undefined {
  return readRunRecord(dir, distillRecordSchema, log);
}

export function readCovered(dir: string): Covered {
  const value = readJsonLoose(join(dir, "covered.json"));
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Covered = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const entry = v as { path?: unknown; at?: unknown };
    if (typeof entry?.path === "string")
      out[key] = { path: entry.path, at: typeof entry.at === "string" ? entry.at : "" };
  }
  return out;
}

export function saveCovered(dir: string, covered: Covered): void {
  saveJson(dir, "covered.json", covered);
}

/** The assets /distill created (absolute paths): the only files it may ever extend. */
export function readCreated(dir: string): Set<string> {
  const value = readJsonLoose(join(dir, "created.json")) as { paths?: unknown } | undefined;
  return new Set(Array.isArray(value?.paths) ? value.paths.filter((p): p is string => typeof p === "string") : []);
}

export function addCreated(dir: string, path: string): void {
  const paths = readCreated(dir);
  paths.add(path);
  saveJson(dir, "created.json", { paths: [...paths].sort() });
}

export function formatDistillRecord(record: DistillRecord): string {
  const lines = [`[continuum /distill${record.dryRun ? " --dry-run" : ""}] ${record.message}`];
  if (record.status === "running") return lines.join("\n");
  if (record.mined.length) {
    lines.push("Recurring workflows found (mined from the history index):");
    for (const m of record.mined)
      lines.push(
        `  - ${m.id}: ${m.key} (${m.sessions.length} sessions, ${m.occurrences} runs)${m.covered ? ` — already distilled into ${m.covered}` : ""}`,
      );
  }
  if (record.candidates.length) {
    lines.push("Candidates:");
    for (const c of record.candidates)
      lines.push(
        `  - ${c.name} [${c.form}, ${c.action}]: ${c.evidence} (sessions: ${c.sessions.join(", ") || "none named"})`,
      );
  }
  if (record.assets.length) {
    lines.push(record.dryRun ? "Would write:" : "Written:");
    for (const a of record.assets) lines.push(`  - ${a.action} ${a.path}${a.backup ? ` (backup: ${a.backup})` : ""}`);
  }
  lines.push(costLine(record));
  return lines.join("\n");
}
