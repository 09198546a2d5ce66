// OpenCode 1.x bus events → the session layer's typed events. The only place that reads raw event payloads.
import type { CallTokens } from "../core/host-types.ts";
import { turnEnd, type SessionEvent, type SessionLayer } from "../core/sessions.ts";
import { REPORT_PROVIDER } from "./commands.ts";

export interface RawEvent {
  type: string;
  properties?: Record<string, any>;
}

const ABORTED = "MessageAbortedError";

export function translateEvent(raw: RawEvent, layer: SessionLayer): SessionEvent[] {
  const p = raw.properties ?? {};
  switch (raw.type) {
    case "session.created":
    case "session.updated": {
      const info = p.info as { id?: string; parentID?: string } | undefined;
      return info?.id ? [{ type: "session.created", sessionId: info.id, parentId: info.parentID || undefined }] : [];
    }
    case "session.deleted": {
      const id = (p.info as { id?: string } | undefined)?.id ?? p.sessionID;
      return typeof id === "string" ? [{ type: "session.deleted", sessionId: id }] : [];
    }
    case "session.compacted":
      return typeof p.sessionID === "string" ? [{ type: "session.compacted", sessionId: p.sessionID }] : [];
    case "session.status": {
      if (typeof p.sessionID !== "string") return [];
      if (p.status?.type !== "idle") return [{ type: "turn.busy", sessionId: p.sessionID }];
      // Idle without a session.idle (e.g. after a context-only message): not busy any more, but no turn ended.
      layer.markIdle(p.sessionID);
      return [];
    }
    case "session.error": {
      if (typeof p.sessionID !== "string") return [];
      const name = p.error?.name as string | undefined;
      return [{ type: "turn.failed", sessionId: p.sessionID, aborted: name === ABORTED, error: errorMessage(p.error) }];
    }
    case "session.idle": {
      if (typeof p.sessionID !== "string") return [];
      const record = layer.peek(p.sessionID);
      // An idle with no turn running is the user aborting an idle session (OpenCode publishes no error then):
      // what runs for it in the background (helpers) must stop too.
      if (record && !record.turnOpen && !record.failure) {
        return [
          { type: "turn.failed", sessionId: p.sessionID, aborted: true, error: "aborted while idle" },
          { type: "turn.ended", sessionId: p.sessionID, how: "aborted", error: "aborted while idle" },
        ];
      }
      return [
        { type: "turn.ended", sessionId: p.sessionID, how: turnEnd(record?.failure), error: record?.failure?.error },
      ];
    }
    case "session.diff": {
      if (typeof p.sessionID !== "string") return [];
      const files = ((p.diff ?? []) as { file?: string; additions?: number; deletions?: number }[]).map((d) => [
        d.file,
        d.additions,
        d.deletions,
      ]);
      return [{ type: "diff.updated", sessionId: p.sessionID, fingerprint: JSON.stringify(files) }];
    }
    case "message.updated":
      return messageUpdated(p.info, layer);
    case "message.part.updated": {
      const part = p.part as Record<string, unknown> | undefined;
      return part && typeof part.sessionID === "string"
        ? [{ type: "part.updated", sessionId: part.sessionID, part }]
        : [];
    }
    default:
      return [];
  }
}

function messageUpdated(info: Record<string, any> | undefined, layer: SessionLayer): SessionEvent[] {
  if (!info || typeof info.id !== "string" || typeof info.sessionID !== "string") return [];
  const seen: SessionEvent = {
    type: "message.seen",
    sessionId: info.sessionID,
    messageId: info.id,
    role: String(info.role),
  };
  // A failed call marks the turn as failed even when no session.error follows; turn.ended then says how.
  if (info.role === "assistant" && info.error && !layer.peek(info.sessionID)?.failure) {
    layer.markFailure(info.sessionID, { aborted: info.error.name === ABORTED, error: errorMessage(info.error) });
  }
  // The pack's own report model is not a model call: nothing to meter or count.
  if (info.role !== "assistant" || !info.finish || !info.tokens || info.providerID === REPORT_PROVIDER) return [seen];
  const raw = info.tokens as {
    total?: number;
    input?: number;
    output?: number;
    reasoning?: number;
    cache?: { read?: number; write?: number };
  };
  const tokens: CallTokens = {
    input: raw.input ?? 0,
    output: raw.output ?? 0,
    reasoning: raw.reasoning ?? 0,
    cacheRead: raw.cache?.read ?? 0,
    cacheWrite: raw.cache?.write ?? 0,
  };
  const contextTokens = raw.total || tokens.input + tokens.output + tokens.cacheRead + tokens.cacheWrite;
  const finished: SessionEvent = {
    type: "assistant.finished",
    sessionId: info.sessionID,
    messageId: info.id,
    agent: String(info.agent ?? info.mode ?? ""),
    summary: Boolean(info.summary),
    tokens,
    contextTokens,
    cost: Number(info.cost ?? 0) || 0,
    error: info.error ? errorMessage(info.error) : undefined,
  };
  return [seen, finished];
}

function errorMessage(error: unknown): string | undefined {
  if (!error || typeof error !== "object") return undefined;
  const e = error as { name?: string; data?: { message?: string }; message?: string };
  const message = e.data?.message ?? e.message;
  return [e.name, message].filter(Boolean).join(": ") || undefined;
}
