// What a dream reads, assembled by code and bounded: for every session active in the window, its checkpoint,
// notes and task progress logs (files under the session's folder) and what the user wrote (the history index),
// newest session first, each piece capped, the whole capped. Redacted again on the way out.
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "../core/storage/database.ts";
import type { CheckpointServices } from "../core/feature.ts";

export interface SessionMaterial {
  sessionId: string;
  lastActivity: number;
  checkpoint?: string;
  notes?: string;
  progress: { task: string; text: string }[];
  userMessages: string[];
  /** Facts code harvested from the session's checkpoint (automatic learning): "(directive) …", "(decision) …". */
  learned?: string[];
}

export interface GatherOptions {
  sessionsDir: string;
  db: Database | undefined;
  projectId: string;
  windowDays: number;
  now: number;
  redact(text: string): string;
  /** Only sessions active after this time (a schedule asks: anything new since the last run?). */
  since?: number;
  /** The sessions' checkpoints (context.services.checkpoint); none when the checkpoint feature is off. */
  checkpoints: CheckpointServices | undefined;
}

const CAPS = { checkpoint: 6000, notes: 4000, progress: 1500, progressFiles: 4, userMessage: 600, userMessages: 12 };

/** Every session with material in the window, newest first. */
export function gatherSessions(options: GatherOptions): SessionMaterial[] {
  const cutoff = Math.max(options.now - options.windowDays * 86_400_000, options.since ?? 0);
  const byId = new Map<string, SessionMaterial>();
  const material = (id: string) => {
    let found = byId.get(id);
    if (!found) byId.set(id, (found = { sessionId: id, lastActivity: 0, progress: [], userMessages: [] }));
    return found;
  };
  const checkpoints = options.checkpoints;
  for (const id of listDirs(options.sessionsDir)) {
    const dir = join(options.sessionsDir, id);
    const checkpoint = recentCheckpoint(checkpoints, id, cutoff);
    const notes = recentFile(join(dir, "notes.md"), cutoff);
    const progress = listDirs(join(dir, "tasks"))
      .map((task) => ({ task, file: recentFile(join(dir, "tasks", task, "progress.md"), cutoff) }))
      .filter((p) => p.file)
      .sort((a, b) => b.file!.mtime - a.file!.mtime)
      .slice(0, CAPS.progressFiles);
    if (!checkpoint && !notes && progress.length === 0) continue;
    const entry = material(id);
    if (checkpoint) entry.checkpoint = cap(options.redact(checkpoint.text), CAPS.checkpoint);
    if (notes) entry.notes = cap(options.redact(notes.text), CAPS.notes);
    entry.progress = progress.map((p) => ({ task: p.task, text: cap(options.redact(p.file!.text), CAPS.progress) }));
    entry.lastActivity = Math.max(checkpoint?.mtime ?? 0, notes?.mtime ?? 0, ...progress.map((p) => p.file!.mtime));
  }
  for (const row of userTexts(options.db, options.projectId, cutoff)) {
    const entry = material(row.sessionId);
    entry.lastActivity = Math.max(entry.lastActivity, row.createdAt);
    if (entry.userMessages.length < CAPS.userMessages)
      entry.userMessages.push(cap(options.redact(row.text), CAPS.userMessage));
  }
  return [...byId.values()]
    .filter(hasMaterial)
    .sort((a, b) => b.lastActivity - a.lastActivity || a.sessionId.localeCompare(b.sessionId));
}

export function hasMaterial(s: SessionMaterial): boolean {
  return Boolean(
    s.checkpoint?.trim() || s.notes?.trim() || s.progress.length || s.userMessages.length || s.learned?.length,
  );
}

/** The sessions as the prompt shows them, within `budgetChars` (older sessions are dropped first, and said so). */
export function renderSessions(
  sessions: SessionMaterial[],
  budgetChars: number,
): { text: string; shown: string[]; dropped: number } {
  const blocks: string[] = [];
  const shown: string[] = [];
  let used = 0;
  for (const s of sessions) {
    const parts = [
      `<session id="${s.sessionId}" last-active="${new Date(s.lastActivity).toISOString().slice(0, 16)}Z">`,
    ];
    if (s.userMessages.length)
      parts.push("## What the user wrote", ...s.userMessages.map((m) => `> ${m.replace(/\n/g, "\n> ")}`));
    if (s.learned?.length)
      parts.push(
        "## Kept verbatim in the session's checkpoint (candidates found by code)",
        ...s.learned.map((l) => `- ${l}`),
      );
    if (s.checkpoint) parts.push("## Checkpoint", s.checkpoint);
    if (s.notes) parts.push("## Notes", s.notes);
    for (const p of s.progress) parts.push(`## Progress of task ${p.task}`, p.text);
    parts.push("</session>");
    const block = parts.join("\n");
    if (used + block.length > budgetChars && shown.length > 0) break;
    blocks.push(used + block.length > budgetChars ? cap(block, budgetChars) : block);
    shown.push(s.sessionId);
    used += block.length;
  }
  return { text: blocks.join("\n\n"), shown, dropped: sessions.length - shown.length };
}

function userTexts(
  db: Database | undefined,
  projectId: string,
  cutoff: number,
): { sessionId: string; text: string; createdAt: number }[] {
  if (!db) return [];
  try {
    return db
      .prepare(
        `SELECT session_id AS sessionId, text, created_at AS createdAt FROM history_parts
         WHERE project_id = ? AND created_at >= ? AND role = 'user' AND kind = 'text' ORDER BY created_at, rowid LIMIT 2000`,
      )
      .all<{ sessionId: string; text: string; createdAt: number }>(projectId, cutoff);
  } catch {
    return []; // no history table (history off, or memory never started)
  }
}

export function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function recentFile(path: string, cutoff: number): { text: string; mtime: number } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    // lstat: a symlinked checkpoint or notes file is not read (it could point anywhere, out of the project too).
    const stats = lstatSync(path);
    if (!stats.isFile() || stats.mtimeMs < cutoff) return undefined;
    const text = readFileSync(path, "utf8").replace(/\u0000/g, "");
    return text.trim() ? { text, mtime: stats.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

/** The session's checkpoint if written inside the window and not blank (stray NUL bytes dropped, as for notes). */
function recentCheckpoint(
  checkpoints: CheckpointServices | undefined,
  sessionId: string,
  cutoff: number,
): { text: string; mtime: number } | undefined {
  const latest = checkpoints?.latest(sessionId);
  if (!latest || latest.writtenAt < cutoff) return undefined;
  const text = latest.text.replace(/\u0000/g, "");
  return text.trim() ? { text, mtime: latest.writtenAt } : undefined;
}

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[… ${text.length - max} more characters not shown]`;
}
