// A run's record and journal on disk, under the pack's data dir (projects/<id>/workflows/<runId>/):
// run.json (state, args, seed, transcript, result; replaced atomically) and journal.jsonl (one finished agent()
// result per line, appended before the script sees it). A torn last line after kill -9 is skipped on read.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { safeSegment } from "../core/paths.ts";
import { storedText } from "../core/storage/stored-text.ts";

export type RunStatus = "running" | "done" | "failed" | "cancelled";

export interface TranscriptLine {
  at: number;
  kind: "phase" | "log" | "agent" | "notice" | "error";
  text: string;
}

export interface RunRecord {
  id: string;
  name: string;
  /** What was asked for (a name or a file), so resume finds the same script. */
  target: string;
  path: string;
  scriptHash: string;
  args: unknown;
  seed: number;
  parentSessionId?: string;
  status: RunStatus;
  pid: number;
  startedAt: number;
  endedAt?: number;
  phase?: string;
  agents: { started: number; finished: number; failed: number; replayed: number; running: number };
  tokens: number;
  /** check() calls: run by code, not model calls (no tokens). Absent in records made before check() existed. */
  checks?: { run: number; passed: number; failed: number; replayed: number };
  result?: unknown;
  error?: string;
  resumes: number;
  transcript: TranscriptLine[];
}

export const TRANSCRIPT_KEPT = 500;

export interface JournalEntry {
  key: string;
  value: unknown;
  label?: string;
  at: number;
}

export class Journal {
  private readonly entries = new Map<string, JournalEntry>();

  constructor(private readonly file: string) {
    if (!existsSync(file)) return;
    const text = readFileSync(file, "utf8");
    // A line a kill -9 cut short would swallow the next append: start on a fresh line.
    if (text.length > 0 && !text.endsWith("\n")) appendFileSync(file, "\n");
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as JournalEntry;
        if (typeof entry?.key === "string" && "value" in entry) this.entries.set(entry.key, entry);
      } catch {
        // The line a kill -9 cut short: that call did not finish as far as the journal knows, so it runs again.
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): JournalEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * Appended synchronously: when this returns, a process kill no longer loses the result. Redacted like every
   * stored text, so a resumed run replays the redacted value (a secret is never kept for a replay).
   */
  put(entry: JournalEntry): void {
    const line = storedText(JSON.stringify(entry));
    appendFileSync(this.file, line + "\n");
    this.entries.set(entry.key, JSON.parse(line) as JournalEntry);
  }

  reset(): void {
    rmSync(this.file, { force: true });
    this.entries.clear();
  }
}

export class RunStore {
  constructor(readonly root: string) {}

  newId(): string {
    return `wf_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  }

  dir(id: string): string {
    return join(this.root, safeSegment(id));
  }

  create(record: RunRecord): void {
    mkdirSync(this.dir(record.id), { recursive: true });
    this.save(record);
  }

  save(record: RunRecord): void {
    if (record.transcript.length > TRANSCRIPT_KEPT)
      record.transcript.splice(0, record.transcript.length - TRANSCRIPT_KEPT);
    const file = join(this.dir(record.id), "run.json");
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, storedText(JSON.stringify(record, null, 1)));
    renameSync(temp, file);
  }

  /** The run's folder exists (its record may still be unreadable). */
  exists(id: string): boolean {
    try {
      return existsSync(this.dir(id));
    } catch {
      return false;
    }
  }

  load(id: string): RunRecord | undefined {
    let file: string;
    try {
      file = join(this.dir(id), "run.json");
    } catch {
      return undefined; // not an id at all
    }
    if (!existsSync(file)) return undefined;
    try {
      const record = JSON.parse(readFileSync(file, "utf8")) as RunRecord;
      // Hand-edited into something else: treated as damaged rather than half-read.
      if (
        !record ||
        typeof record !== "object" ||
        typeof record.id !== "string" ||
        !Array.isArray(record.transcript) ||
        typeof record.agents !== "object"
      )
        return undefined;
      return record;
    } catch {
      return undefined;
    }
  }

  list(): RunRecord[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .map((id) => this.load(id))
      .filter((r): r is RunRecord => r !== undefined)
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  journal(id: string): Journal {
    return new Journal(join(this.dir(id), "journal.jsonl"));
  }

  /** Another process (the CLI) asks the owner of a run to cancel it. */
  requestCancel(id: string): void {
    writeFileSync(join(this.dir(id), "cancel"), String(Date.now()));
  }

  takeCancelRequest(id: string): boolean {
    const file = join(this.dir(id), "cancel");
    if (!existsSync(file)) return false;
    rmSync(file, { force: true });
    return true;
  }
}
