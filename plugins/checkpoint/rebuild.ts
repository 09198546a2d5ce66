// Context rebuild: choose where to cut the history (keeping a verbatim tail), assemble the one synthetic
// message that replaces the head (the rebuild dump) under hard caps, and apply a stored cut to a request. Pure:
// the caches of shortened tool outputs and inputs belong to the caller (one per session, in its slot).
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";
import {
  estimateMessageTokens,
  textOf,
  userTextOf,
  type HostMessage,
  type HostPart,
  type Redact,
} from "./transcript.ts";

export const DUMP_MARKER = "[continuum rebuild]";

// ---- tail selection ------------------------------------------------------------------------------------

export interface TailOptions {
  minTokens: number;
  minTextMessages: number;
  /** The tail never grows past this (tokens, after old tool outputs are shortened). */
  maxTokens: number;
  /** Index of the last message the stored checkpoint covers; -1 when there is none. A stale checkpoint
   * makes the tail reach back to it, so nothing falls between checkpoint and tail. */
  coveredIndex: number;
  /** Never cut before this index (e.g. after a compaction summary). */
  earliest?: number;
}

/**
 * Returns the index of the first kept message (0 means nothing to cut). Cuts happen only between whole
 * messages; OpenCode keeps a tool call and its result in one assistant message, so they stay together.
 */
export function selectBoundary(tokens: readonly number[], hasText: readonly boolean[], options: TailOptions): number {
  const n = tokens.length;
  if (n < 2) return 0;
  let minimal = 0;
  let sum = 0;
  let texts = 0;
  let capped = 0;
  for (let i = n - 1; i >= 0; i--) {
    sum += tokens[i]!;
    if (hasText[i]) texts++;
    if (sum > options.maxTokens && capped === 0) capped = i + 1;
    if (minimal === 0 && sum >= options.minTokens && texts >= options.minTextMessages) minimal = i;
  }
  // A stale checkpoint: keep everything it does not cover, as far as the cap allows.
  let boundary = Math.min(minimal, options.coveredIndex + 1);
  boundary = Math.max(boundary, capped, options.earliest ?? 0);
  // Always leave the newest message, even when it alone is over the cap (its tool outputs get cut).
  return Math.min(boundary, n - 1);
}

const SHORTENED_NOTE = "\n[… older tool output shortened by continuum; re-run the tool if you need it]";
/**
 * Shortened outputs and inputs by part id: OpenCode rebuilds the message objects for every call, the cut stays
 * the same, so it is computed once. Owned by the caller (one per session); without one nothing is cached.
 */
export interface ShortenCache {
  outputs: Map<string, { length: number; text: string }>;
  inputs: Map<string, { size: number; input: Record<string, unknown> }>;
}

export const newShortenCache = (): ShortenCache => ({ outputs: new Map(), inputs: new Map() });

function shortenedOutput(part: HostPart, output: string, maxTokens: number, cache: ShortenCache | undefined): string {
  const key = part.id && cache ? `${part.id}:${maxTokens}` : undefined;
  const hit = key ? cache!.outputs.get(key) : undefined;
  if (hit && hit.length === output.length) return hit.text;
  const text = truncateToTokens(output, maxTokens, SHORTENED_NOTE);
  if (key) {
    if (cache!.outputs.size > 50000) cache!.outputs.clear();
    cache!.outputs.set(key, { length: output.length, text });
  }
  return text;
}

/** A tool call's own arguments past this (tokens) are cut in every rebuilt request, the newest call's too. */
export const MAX_TOOL_INPUT_TOKENS = 2000;
const SHORTENED_INPUT_NOTE = "\n[… argument shortened by continuum: the tool received it in full]";

/** Characters in a tool input's strings, cheaply (no JSON copy of a 200,000-character argument per request). */
export function inputSize(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + inputSize(v) + 1, 2);
  if (value && typeof value === "object")
    return Object.entries(value).reduce((sum: number, [k, v]) => sum + k.length + inputSize(v) + 4, 2);
  return String(value).length;
}

/**
 * A tool input with every long string cut so the whole stays near `maxTokens`. The call already ran: the model
 * needs to see what it asked for, not to re-read (and re-pay) a whole file it wrote.
 */
export function shortenToolInput(
  input: Record<string, unknown>,
  maxTokens = MAX_TOOL_INPUT_TOKENS,
): Record<string, unknown> {
  const perString = Math.max(100, Math.floor(maxTokens / 2));
  const cut = (value: unknown): unknown => {
    if (typeof value === "string")
      return value.length > perString * 4 ? truncateToTokens(value, perString, SHORTENED_INPUT_NOTE) : value;
    if (Array.isArray(value)) return value.map(cut);
    if (value && typeof value === "object")
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cut(v)]));
    return value;
  };
  return cut(input) as Record<string, unknown>;
}

function shortenedInput(
  part: HostPart,
  input: Record<string, unknown>,
  size: number,
  cache: ShortenCache | undefined,
): Record<string, unknown> {
  const hit = part.id ? cache?.inputs.get(part.id) : undefined;
  if (hit && hit.size === size) return hit.input;
  const result = shortenToolInput(input);
  if (part.id && cache) {
    if (cache.inputs.size > 10000) cache.inputs.clear();
    cache.inputs.set(part.id, { size, input: result });
  }
  return result;
}

/**
 * Keeps recent tool outputs whole and cuts older ones in the tail; cuts every huge tool input, the newest too
 * (per request, never stored).
 */
export function shortenOldToolOutputs(
  messages: HostMessage[],
  start: number,
  keepRecent = 4,
  maxTokens = 300,
  cache?: ShortenCache,
): void {
  let seen = 0;
  for (let i = messages.length - 1; i >= start; i--) {
    const message = messages[i]!;
    let parts: HostPart[] | undefined;
    for (let j = 0; j < message.parts.length; j++) {
      const part = message.parts[j]!;
      if (part.type !== "tool" || (part.state?.status !== "completed" && part.state?.status !== "error")) continue;
      let state = part.state;
      const size = state.input && typeof state.input === "object" ? inputSize(state.input) : 0;
      if (size > MAX_TOOL_INPUT_TOKENS * 4)
        state = { ...state, input: shortenedInput(part, state.input!, size, cache) };
      if (state.status === "completed") {
        seen++;
        const output = String(state.output ?? "");
        if (seen > keepRecent && output.length > maxTokens * 4)
          state = { ...state, output: shortenedOutput(part, output, maxTokens, cache) };
      }
      if (state === part.state) continue;
      parts ??= [...message.parts];
      parts[j] = { ...part, state };
    }
    if (parts) messages[i] = { info: message.info, parts };
  }
}

// ---- the dump ------------------------------------------------------------------------------------------

export type TailEnd = "mid-tool-loop" | "user-waiting" | "assistant-answered";

export function tailEnd(tail: readonly HostMessage[]): TailEnd {
  const last = tail[tail.length - 1];
  if (!last || last.info.role === "user") return "user-waiting";
  const lastPart = [...last.parts].reverse().find((p) => p.type === "tool" || (p.type === "text" && p.text?.trim()));
  if (lastPart?.type === "tool") return "mid-tool-loop";
  const finish = (last.info as { finish?: string }).finish;
  return finish === "tool-calls" ? "mid-tool-loop" : "assistant-answered";
}

export interface DumpSources {
  taskLedger: string;
  allTasksSettled: boolean;
  hasTasks: boolean;
  checkpoint: string | undefined;
  checkpointAge?: string;
  /** User messages from before the cut, oldest first, as typed. */
  userMessages: readonly string[];
  /** OpenCode's own compaction summary, when the cut removes it from the request. */
  compactionSummary?: string;
  projectMemory: string;
  globalMemory: string;
  notes: string;
  memoryIndex: readonly string[];
  tailEnd: TailEnd;
  /** Subagents (task tool) still running for this session, one line each ("" or absent: none, no section). */
  subagentsRunning?: string;
}

/** MiMo's per-section caps (tokens); scaled down together when the budget is smaller. */
export const DUMP_CAPS = {
  taskLedger: 2000,
  checkpoint: 11000,
  userMessages: 16000,
  userMessage: 2000,
  projectMemory: 10000,
  globalMemory: 6000,
  notes: 6000,
  memoryIndex: 500,
  compactionSummary: 4000,
  subagentsRunning: 150,
};

/** Fair share of a budget: small demands are met in full, the rest split what remains. */
export function waterFill(demands: readonly number[], budget: number): number[] {
  const order = demands.map((d, i) => [d, i] as const).sort((a, b) => a[0] - b[0]);
  const grants = Array.from({ length: demands.length }, () => 0);
  let left = Math.max(0, budget);
  order.forEach(([demand, index], k) => {
    const share = Math.floor(left / (order.length - k));
    grants[index] = Math.min(demand, share);
    left -= grants[index]!;
  });
  return grants;
}

export function assembleDump(sources: DumpSources, budgetTokens: number): string {
  const frame = framing(sources);
  const overhead = estimateTokens(frame) + 120;
  const scale = Math.min(1, Math.max(0, budgetTokens - overhead) / 51500);
  const perMessage = Math.max(200, Math.floor(DUMP_CAPS.userMessage * Math.max(scale, 0.25)));
  const users = fitUserMessages(
    sources.userMessages,
    perMessage,
    Math.floor(DUMP_CAPS.userMessages * Math.max(scale, 0.2)),
  );
  const index = sources.memoryIndex.length ? sources.memoryIndex.map((f) => `- ${f}`).join("\n") : "";
  const parts: [string, string, number][] = [
    ["Task ledger", sources.taskLedger, DUMP_CAPS.taskLedger],
    [
      `Checkpoint${sources.checkpointAge ? ` (written ${sources.checkpointAge})` : ""}`,
      sources.checkpoint ?? "(no checkpoint stored yet: rely on your recent messages below)",
      DUMP_CAPS.checkpoint,
    ],
    ["The user's messages before the cut (verbatim, newest kept)", users.text, DUMP_CAPS.userMessages],
    ["OpenCode's summary of the earlier session", sources.compactionSummary ?? "", DUMP_CAPS.compactionSummary],
    ["Project memory (MEMORY.md)", sources.projectMemory, DUMP_CAPS.projectMemory],
    ["Global memory (MEMORY.md)", sources.globalMemory, DUMP_CAPS.globalMemory],
    ["Session notes (notes.md)", sources.notes, DUMP_CAPS.notes],
    ["Other memory files (read them with the read tool when relevant)", index, DUMP_CAPS.memoryIndex],
    [
      "Subagents still running (started with the task tool)",
      sources.subagentsRunning ?? "",
      DUMP_CAPS.subagentsRunning,
    ],
  ];
  const demands = parts.map(([, text, cap], i) => (i === 2 ? users.used : Math.min(estimateTokens(text), cap)) + 12);
  const grants = waterFill(demands, Math.max(0, budgetTokens - overhead));
  // The user's words are cut by dropping the oldest messages, never by cutting off the newest.
  const fitted = parts.map(([, text], i) =>
    i === 2
      ? recentUserMessages(sources.userMessages, perMessage, Math.max(0, grants[i]! - 12))
      : truncateToTokens(text.trim(), Math.max(0, grants[i]! - 12), "\n[… cut to fit the rebuild cap]"),
  );
  const body = parts
    .map(([title], i) => (fitted[i]!.trim() ? `## ${title}\n${fitted[i]!.trim()}` : ""))
    .filter(Boolean);
  return [
    `${DUMP_MARKER} ${frame.split("\n")[0]}`,
    "",
    ...body.flatMap((b) => [b, ""]),
    frame.split("\n").slice(1).join("\n"),
  ]
    .join("\n")
    .trim();
}

function framing(sources: DumpSources): string {
  const head =
    "The earlier part of this session was replaced by this summary (your context was rebuilt). It is your own state, not a new request.";
  let close: string;
  if (sources.hasTasks && sources.allTasksSettled) {
    close =
      "Every task in the ledger is done or abandoned. Do NOT redo finished work. Answer the user's latest message below, or report completion if nothing is asked.";
  } else if (sources.tailEnd === "mid-tool-loop") {
    close =
      "You were in the middle of a tool loop: continue from the last tool result below. Do not recap, do not restart.";
  } else if (sources.tailEnd === "user-waiting") {
    close = "The user's latest message below is waiting for your answer. Continue the work; do not recap this summary.";
  } else {
    close = "Continue from the messages below. Do not recap this summary and do not repeat finished steps.";
  }
  return `${head}\n${close}`;
}

/** Newest first until the total cap, each cut to the per-message cap, then shown oldest first. */
export function recentUserMessages(messages: readonly string[], perMessage: number, total: number): string {
  return fitUserMessages(messages, perMessage, total).text;
}

function fitUserMessages(
  messages: readonly string[],
  perMessage: number,
  total: number,
): { text: string; used: number } {
  const kept: string[] = [];
  let used = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const cut = truncateToTokens(messages[i]!.trim(), perMessage, "\n[… message cut]");
    if (!cut) continue;
    const quoted = `> ${cut.replace(/\n/g, "\n> ")}`;
    const cost = estimateTokens(quoted) + 1;
    if (used + cost > total) break;
    kept.unshift(quoted);
    used += cost;
  }
  return { text: kept.join("\n\n"), used };
}

// ---- applying a cut ------------------------------------------------------------------------------------

export interface StoredCut {
  boundaryMessageId: string;
  dump: string;
}

/**
 * Replaces, in place, every message before the stored boundary with one synthetic user message. Returns the
 * index the tail starts at in the new array (1), or -1 when the boundary is not in this request.
 */
export function applyCut(messages: HostMessage[], cut: StoredCut): number {
  const index = messages.findIndex((m) => m.info.id === cut.boundaryMessageId);
  if (index <= 0) return -1;
  let template = messages[0]!;
  for (let i = index - 1; i >= 0; i--) {
    if (messages[i]!.info.role !== "user") continue;
    template = messages[i]!;
    break;
  }
  const synthetic = syntheticMessage(template, messages[index]!, cut.dump);
  messages.splice(0, index, synthetic);
  return 1;
}

function syntheticMessage(template: HostMessage, firstKept: HostMessage, dump: string): HostMessage {
  const id = `${firstKept.info.id}-continuum-rebuild`;
  const created = (firstKept.info.time?.created ?? Date.now()) - 1;
  return {
    info: { ...template.info, role: "user", id, time: { created } },
    parts: [{ id: `${id}-part`, sessionID: template.info.sessionID, messageID: id, type: "text", text: dump }],
  };
}

export function messageTokens(messages: readonly HostMessage[]): number[] {
  return messages.map(estimateMessageTokens);
}

export const hasTextFlags = (messages: readonly HostMessage[]) => messages.map((m) => textOf(m).length > 0);

// ---- planning a rebuild ----------------------------------------------------------------------------------

export interface RebuildInput {
  messages: readonly HostMessage[];
  /** Hard cap of the whole request (tokens). */
  cap: number;
  /** What the provider counts besides the messages: system prompt, tool schemas. */
  overhead: number;
  checkpoint?: { markdown: string; watermark: string | null; age: string };
  taskLedger: string;
  hasTasks: boolean;
  allTasksSettled: boolean;
  memory: Pick<DumpSources, "projectMemory" | "globalMemory" | "notes" | "memoryIndex">;
  tailMinTokens: number;
  tailMinTextMessages: number;
  /** Cut no earlier than OpenCode's own compaction summary (which stays, after the dump, when it fits). */
  afterCompaction: boolean;
  /**
   * The user's messages the host no longer sends (OpenCode drops everything before its compaction from the
   * request), oldest first, as typed: the dump quotes them with the ones before the cut.
   */
  earlierUserMessages?: readonly string[];
  /** User messages that are the pack's own (reports, command pointers) and not the user's words. */
  isPackText: (text: string) => boolean;
  redact: Redact;
  /** The session's cache of shortened parts (none: nothing cached). */
  shortenCache?: ShortenCache;
  /** Subagents still running for this session, one line each (none: no section). */
  subagentsRunning?: string;
}

export type RebuildPlan =
  /** `shortenOldOutputs`: the history fits only once old tool outputs are shortened; the request must get that. */
  | { cut: false; reason: string; shortenOldOutputs?: boolean }
  | { cut: true; boundary: number; boundaryMessageId: string; dump: string; tailTokens: number; available: number };

/** The safety margin kept under the cap: 8 % plus 300 tokens. */
export const capMargin = (cap: number) => Math.round(cap * 0.08) + 300;

/**
 * Where to cut and what replaces the head, so that overhead + dump + tail stays under the cap with a margin.
 * The dump (ledger, checkpoint, the user's words) is sized first; the verbatim tail gets the rest, at least 40 %.
 */
export function planRebuild(input: RebuildInput): RebuildPlan {
  const working = [...input.messages];
  shortenOldToolOutputs(working, 0, undefined, undefined, input.shortenCache);
  const tokens = messageTokens(working);
  // A learnt overhead past half the cap means the reports are off (or the tools huge): it must not starve the dump.
  const overhead = Math.min(input.overhead, Math.round(input.cap * 0.5));
  const available = Math.max(1000, input.cap - capMargin(input.cap) - overhead);
  const watermark = input.checkpoint?.watermark;
  const coveredIndex = watermark ? working.findIndex((m) => m.info.id === watermark) : -1;
  const lastSummary = input.afterCompaction ? working.map((m) => Boolean(m.info.summary)).lastIndexOf(true) : -1;
  const sourcesFor = (boundary: number): DumpSources => ({
    taskLedger: input.taskLedger,
    hasTasks: input.hasTasks,
    allTasksSettled: input.allTasksSettled,
    checkpoint: input.checkpoint?.markdown,
    checkpointAge: input.checkpoint?.age,
    userMessages: [
      ...(input.earlierUserMessages ?? []),
      ...working
        .slice(0, boundary)
        .filter((m) => m.info.role === "user")
        .map(userTextOf),
    ].filter((t) => t && !input.isPackText(t)),
    compactionSummary: summaryBefore(working, boundary),
    ...input.memory,
    tailEnd: tailEnd(working.slice(boundary)),
    subagentsRunning: input.subagentsRunning,
  });
  // What the dump needs, plus the assembler's own bookkeeping (framing, headings), so it is not cut later.
  const dumpNeed = estimateTokens(assembleDump(sourcesFor(working.length - 1), Math.floor(available * 0.6))) + 300;
  const boundary = selectBoundary(tokens, hasTextFlags(working), {
    minTokens: input.tailMinTokens,
    minTextMessages: input.tailMinTextMessages,
    maxTokens: Math.max(Math.floor(available * 0.4), available - dumpNeed),
    coveredIndex,
    // The summary is kept as the first message after the dump; only OpenCode's compaction request before it goes.
    earliest: lastSummary >= 0 ? lastSummary : undefined,
  });
  if (boundary <= 0) {
    const unshortened = messageTokens(input.messages).reduce((sum, t) => sum + t, 0);
    if (unshortened > available)
      return {
        cut: false,
        reason: "the history fits once old tool outputs are shortened: nothing cut",
        shortenOldOutputs: true,
      };
    return { cut: false, reason: "the history already fits: nothing cut" };
  }
  const tailTokens = tokens.slice(boundary).reduce((a, b) => a + b, 0);
  const dump = input.redact(assembleDump(sourcesFor(boundary), Math.max(500, available - tailTokens)));
  return { cut: true, boundary, boundaryMessageId: working[boundary]!.info.id, dump, tailTokens, available };
}

/** The text of OpenCode's latest compaction summary before `boundary` ("" when the cut leaves it in the request). */
function summaryBefore(messages: readonly HostMessage[], boundary: number): string {
  for (let i = boundary - 1; i >= 0; i--)
    if (messages[i]!.info.summary && messages[i]!.info.role === "assistant") return textOf(messages[i]!);
  return "";
}
