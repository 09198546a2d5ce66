// The session layer: what every feature knows about sessions, in one place. The host adapter turns the host's raw
// events into the typed events below; features subscribe to those and keep their per-session state in slots of
// one object per session, created on first sight and dropped on deletion (bounded for a long-running server).
import type { CallTokens, ModelRef } from "./host-types.ts";
import type { MessageOrigin } from "./pack-text.ts";

export type TurnEnd = "idle" | "aborted" | "error";

export type SessionEvent =
  | { type: "session.created"; sessionId: string; parentId?: string }
  | { type: "session.deleted"; sessionId: string }
  | { type: "session.compacted"; sessionId: string }
  /**
   * A user message is about to be stored (the turn starts once every handler returned); addContext adds a synthetic
   * text part to it (e.g. recall). `agent` and `model` are as the host resolved them, even when the prompt named none.
   */
  | {
      type: "turn.started";
      sessionId: string;
      origin: MessageOrigin["origin"];
      text: string;
      agent?: string;
      model?: ModelRef;
      addContext(text: string): void;
      /** Answers the turn with a fixed text and no model call; false when the host cannot (then it runs as usual). */
      answerLocally?(text: string): boolean;
    }
  | { type: "turn.busy"; sessionId: string }
  /** The running turn failed or was aborted (published at once; turn.ended follows at idle). */
  | { type: "turn.failed"; sessionId: string; aborted: boolean; error?: string }
  | { type: "turn.ended"; sessionId: string; how: TurnEnd; error?: string }
  | {
      type: "assistant.finished";
      sessionId: string;
      messageId: string;
      agent: string;
      /** A compaction summary (OpenCode's own). */
      summary: boolean;
      tokens: CallTokens;
      /** What the host reports as context in use after the call. */
      contextTokens: number;
      cost: number;
      error?: string;
    }
  | { type: "message.seen"; sessionId: string; messageId: string; role: string }
  | { type: "part.updated"; sessionId: string; part: Record<string, unknown> }
  | { type: "diff.updated"; sessionId: string; fingerprint: string };

export type SessionEventType = SessionEvent["type"];
export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;
type Handler<T extends SessionEventType> = (event: EventOf<T>) => Promise<void> | void;

/** A typed key for one feature's per-session state. */
export interface Slot<T> {
  readonly name: string;
  readonly init: () => T;
}
export const slot = <T>(name: string, init: () => T): Slot<T> => ({ name, init });

/** Who runs a session the pack created (a writer, a judge, …). */
export interface HelperMark {
  feature: string;
  agent: string;
}

/** Read-only outside this file: the layer is the one writer of a record's fields (features keep state in slots). */
export interface SessionRecord {
  readonly id: string;
  /** "" for a top-level session, the parent's id for a child, undefined while unknown. */
  readonly parentId: string | undefined;
  readonly helper: HelperMark | undefined;
  /** The agent and model of the latest user turn: continuations the pack sends go on with the same. */
  readonly lastTurn: { readonly agent?: string; readonly model?: ModelRef };
  readonly busy: boolean;
  /** A turn has started (turn.busy) and has not ended yet. */
  readonly turnOpen: boolean;
  /** Set by turn.failed, taken by the next turn.ended. */
  readonly failure: TurnFailure | undefined;
  get<T>(key: Slot<T>): T;
  set<T>(key: Slot<T>, value: T): void;
  has(key: Slot<unknown>): boolean;
  delete(key: Slot<unknown>): void;
}

export interface TurnFailure {
  aborted: boolean;
  error?: string;
}

type MutableRecord = { -readonly [K in keyof SessionRecord]: SessionRecord[K] };

export interface SubscribeOptions {
  /** This handler's own time limit (the isolation's default otherwise), e.g. a Max turn that runs for minutes. */
  timeoutMs?: number;
}

export interface SessionLayer {
  /** The session's record, created on first sight (touching it keeps it in the LRU). */
  session(id: string): SessionRecord;
  peek(id: string): SessionRecord | undefined;
  /** True for a top-level user session; asks the host once for sessions not seen being created. */
  isMain(id: string): Promise<boolean>;
  /** Sessions the pack created itself (helper runs): never user work. */
  markHelper(id: string, parentId: string, mark: HelperMark): void;
  helperOf(id: string): HelperMark | undefined;
  parentOf(id: string): string | undefined;
  on<T extends SessionEventType>(feature: string, type: T, handler: Handler<T>, options?: SubscribeOptions): void;
  /** The longest own time limit among the handlers of one event type (undefined when none asked for one). */
  longestTimeout(type: SessionEventType): number | undefined;
  dispatch(event: SessionEvent): Promise<void>;
  /** A turn that answered a pack command on the report model is over: the agent did not stop, nothing else ran. */
  settleReportTurn(id: string): void;
  /** A failed call seen before any turn.failed (turn.ended then says how the turn ended). */
  markFailure(id: string, failure: TurnFailure): void;
  /** The host says idle without ending a turn (e.g. after a context-only message): not busy any more. */
  markIdle(id: string): void;
  /** Number of sessions with state (for the lifecycle test and /stats). */
  size(): number;
  /** After close, no event reaches a feature (shutdown has begun). */
  close(): void;
  readonly closed: boolean;
}

export interface SessionLayerOptions {
  /** Asks the host for a session's parent id ("" for none); undefined when it cannot tell. */
  lookupParent?(id: string): Promise<string | undefined>;
  /** Runs one handler with error isolation and a time limit (`timeoutMs` when the handler asked for its own). */
  isolate(feature: string, label: string, run: () => Promise<void> | void, timeoutMs?: number): Promise<void>;
  /** Most sessions kept at once; the least recently touched one is dropped first. */
  maxSessions?: number;
}

export const DEFAULT_MAX_SESSIONS = 1000;

export function createSessionLayer(options: SessionLayerOptions): SessionLayer {
  const records = new Map<string, MutableRecord>();
  const handlers = new Map<
    SessionEventType,
    { feature: string; handler: Handler<SessionEventType>; timeoutMs?: number }[]
  >();
  const max = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  let closed = false;

  const session = (id: string): MutableRecord => {
    const found = records.get(id);
    if (found) {
      // Map order is insertion order: re-inserting makes this the most recently used.
      records.delete(id);
      records.set(id, found);
      return found;
    }
    const created = newRecord(id);
    records.set(id, created);
    if (records.size > max) records.delete(records.keys().next().value!);
    return created;
  };

  const layer: SessionLayer = {
    session,
    peek: (id) => records.get(id),
    async isMain(id) {
      const record = session(id);
      if (record.helper) return false;
      if (record.parentId !== undefined) return record.parentId === "";
      const parent = await options.lookupParent?.(id);
      if (parent !== undefined) record.parentId = parent;
      return !parent;
    },
    markHelper(id, parentId, mark) {
      const record = session(id);
      record.helper = mark;
      record.parentId = parentId;
    },
    helperOf: (id) => records.get(id)?.helper,
    parentOf: (id) => records.get(id)?.parentId || undefined,
    on(feature, type, handler, subscribe) {
      const list = handlers.get(type) ?? [];
      list.push({ feature, handler: handler as unknown as Handler<SessionEventType>, timeoutMs: subscribe?.timeoutMs });
      handlers.set(type, list);
    },
    longestTimeout(type) {
      const limits = (handlers.get(type) ?? []).flatMap((h) => (h.timeoutMs ? [h.timeoutMs] : []));
      return limits.length ? Math.max(...limits) : undefined;
    },
    async dispatch(event) {
      if (closed) return;
      track(event);
      for (const { feature, handler, timeoutMs } of handlers.get(event.type) ?? []) {
        if (closed) return;
        await options.isolate(feature, event.type, () => handler(event as never), timeoutMs);
      }
      if (event.type === "session.deleted") records.delete(event.sessionId);
    },
    settleReportTurn(id) {
      const record = session(id);
      record.busy = false;
      record.turnOpen = false;
      record.failure = undefined;
    },
    markFailure(id, failure) {
      session(id).failure = failure;
    },
    markIdle(id) {
      const record = records.get(id);
      if (record) record.busy = false;
    },
    size: () => records.size,
    close() {
      closed = true;
    },
    get closed() {
      return closed;
    },
  };

  /** The layer's own bookkeeping, done before any feature sees the event. */
  function track(event: SessionEvent): void {
    switch (event.type) {
      case "session.created":
        if (!records.get(event.sessionId)?.helper) session(event.sessionId).parentId = event.parentId ?? "";
        return;
      case "turn.started": {
        const record = session(event.sessionId);
        if (!record.helper && (event.agent !== undefined || event.model !== undefined))
          record.lastTurn = { agent: event.agent, model: event.model };
        return;
      }
      case "turn.busy": {
        const record = session(event.sessionId);
        record.busy = true;
        record.turnOpen = true;
        return;
      }
      case "turn.failed":
        session(event.sessionId).failure = { aborted: event.aborted, error: event.error };
        return;
      case "turn.ended": {
        const record = session(event.sessionId);
        record.busy = false;
        record.turnOpen = false;
        record.failure = undefined;
        return;
      }
    }
  }

  return layer;
}

function newRecord(id: string): MutableRecord {
  const slots = new Map<string, unknown>();
  return {
    id,
    parentId: undefined,
    helper: undefined,
    lastTurn: {},
    busy: false,
    turnOpen: false,
    failure: undefined,
    get<T>(key: Slot<T>): T {
      if (!slots.has(key.name)) slots.set(key.name, key.init());
      return slots.get(key.name) as T;
    },
    set: (key, value) => void slots.set(key.name, value),
    has: (key) => slots.has(key.name),
    delete: (key) => void slots.delete(key.name),
  };
}

/** How a turn ended, from the failure recorded while it ran. */
export function turnEnd(failure: SessionRecord["failure"]): TurnEnd {
  if (!failure) return "idle";
  return failure.aborted ? "aborted" : "error";
}
