// Feeds the history index from the host's event stream. A streaming part is updated many times a second:
// updates are coalesced per part and written in one transaction after a short quiet period.
import type { Database } from "../core/storage/database.ts";
import { dropParts, partText, pruneHistory, upsertParts, type HistoryPart } from "./history-store.ts";

export interface HistoryRecorderOptions {
  db: Database;
  projectId: string;
  redact: (text: string) => string;
  isMain: (sessionId: string) => Promise<boolean>;
  retentionDays: number;
  debounceMs?: number;
  onError?: (error: unknown) => void;
  /** Parts the pack wrote itself (e.g. the /memory report) are not conversation history. */
  isOwnText?: (text: string) => boolean;
}

const PRUNE_EVERY_MS = 3_600_000;
const MAX_ROLES = 5000;

function isFinished(part: Record<string, unknown>): boolean {
  if (part.type === "tool") {
    const status = (part.state as { status?: string } | undefined)?.status;
    return status === "completed" || status === "error";
  }
  const time = part.time as { end?: number } | undefined;
  return typeof time?.end === "number";
}

export class HistoryRecorder {
  private readonly pending = new Map<string, Record<string, unknown>>();
  private readonly roles = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPrune = 0;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: HistoryRecorderOptions) {}

  onMessageUpdated(info: { id?: unknown; role?: unknown }): void {
    if (typeof info.id !== "string" || typeof info.role !== "string") return;
    this.roles.set(info.id, info.role);
    // Roles are needed only until the message's parts are written: keep the newest few thousand, not every message ever.
    if (this.roles.size > MAX_ROLES) this.roles.delete(this.roles.keys().next().value!);
  }

  onPartUpdated(part: Record<string, unknown>): void {
    if (typeof part.id !== "string" || typeof part.sessionID !== "string" || typeof part.messageID !== "string") return;
    if (part.type !== "text" && part.type !== "tool") return;
    this.pending.set(part.id, part);
    // A finished part is written at once (the process may exit right after, as `opencode run` does);
    // only parts still streaming wait for the quiet period.
    if (isFinished(part)) void this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.debounceMs ?? 500);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Writes everything pending; safe to call at any time (session idle, dispose). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow()).catch((error) => this.options.onError?.(error));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = [...this.pending.values()];
    this.pending.clear();
    const rows: HistoryPart[] = [];
    const dropped: string[] = [];
    for (const part of batch) {
      const row = await this.toRow(part);
      if (row) rows.push(row);
      // A tool call streams in before its arguments are known; once they show a lookup, what was written goes.
      else if (part.type === "tool") dropped.push(part.id as string);
    }
    upsertParts(this.options.db, rows);
    dropParts(this.options.db, dropped);
    this.pruneIfDue();
  }

  private async toRow(part: Record<string, unknown>): Promise<HistoryPart | undefined> {
    const sessionId = part.sessionID as string;
    if (!(await this.options.isMain(sessionId))) return undefined;
    const content = partText(part);
    if (!content || (content.kind === "text" && this.options.isOwnText?.(content.text))) return undefined;
    const messageId = part.messageID as string;
    const time = (part.time ?? (part.state as { time?: unknown } | undefined)?.time) as { start?: number } | undefined;
    return {
      partId: part.id as string,
      projectId: this.options.projectId,
      sessionId,
      messageId,
      role: this.roles.get(messageId) ?? (content.kind === "tool" ? "assistant" : "unknown"),
      kind: content.kind,
      tool: content.tool,
      createdAt: typeof time?.start === "number" ? time.start : Date.now(),
      text: this.options.redact(content.text),
    };
  }

  private pruneIfDue(now = Date.now()): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    pruneHistory(this.options.db, this.options.projectId, this.options.retentionDays, now);
  }

  dispose(): Promise<void> {
    return this.flush();
  }
}
