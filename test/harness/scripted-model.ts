// A scripted OpenAI-compatible model server: POST /v1/chat/completions with SSE streaming, tool calls and the
// token usage a test chooses. OpenCode's hidden helper calls (title, summary, compaction) are answered apart so
// they never consume the scripted turns. Test-only: the doctor has its own one-reply endpoint
// (plugins/cli/doctor-model.ts), so the lanes, matchers and tokenizer here never ship to a user install.
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Sent instead of JSON.stringify(args), to test what a tool does with malformed arguments (a bare string, …). */
  rawArguments?: string;
  id?: string;
}

export interface ScriptedReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  /**
   * Token usage reported for this call; "auto" counts the prompt with a real tokenizer (gpt-tokenizer's
   * o200k_base, a dev dependency).
   */
  usage?: { prompt_tokens: number; completion_tokens: number } | "auto";
  /** Answer with an HTTP error instead of a completion. */
  error?: { status: number; message: string };
  delayMs?: number;
}

export interface RecordedRequest {
  index: number;
  lane: string;
  body: ChatBody;
  headers: Record<string, string | string[] | undefined>;
  system: string[];
  tools: string[];
  /** Text of the last user message (string content or concatenated text parts). */
  lastUserText: string;
  /** The whole request as text, for substring assertions. */
  raw: string;
  /** The reply given, or "unscripted". */
  reply: ScriptedReply | "unscripted";
}

export interface ChatMessage {
  role: string;
  content?: string | { type: string; text?: string }[] | null;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

export interface ChatBody {
  model: string;
  messages: ChatMessage[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
}

export type Responder = (request: RecordedRequest, laneCallIndex: number) => ScriptedReply | undefined;

export interface Lane {
  name: string;
  match: (request: Omit<RecordedRequest, "lane" | "reply" | "index">) => boolean;
  replies: ScriptedReply[] | Responder;
}

export interface ModelScript {
  /** Checked in order before the built-in hidden lanes and the main lane. */
  lanes?: Lane[];
  main?: ScriptedReply[] | Responder;
  /** Reply when a lane's list is used up; default: a short text saying so. */
  exhausted?: ScriptedReply;
}

export interface ScriptedModel {
  baseURL: string;
  port: number;
  requests: RecordedRequest[];
  lane(name: string): RecordedRequest[];
  /** Appends replies to a lane that uses a list. */
  push(lane: string, ...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

/** The pack's own background agents, recognised by the first words of their prompts (agents/*.md). */
export const isCheckpointWriterRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You keep the checkpoint of a coding session"));
export const isGoalJudgeRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You are the goal judge"));

/**
 * Recognises OpenCode's hidden helper agents, and the pack's own, by their system prompts. A test that scripts the
 * pack's writer or judge passes its own lane (lanes are checked first); otherwise they get a plain text answer here
 * and never consume the main lane's scripted turns.
 */
export const HIDDEN_LANES: Lane[] = [
  {
    name: "checkpoint-writer",
    match: isCheckpointWriterRequest,
    replies: () => ({ text: "(no checkpoint scripted)" }),
  },
  { name: "goal-judge", match: isGoalJudgeRequest, replies: () => ({ text: "(no verdict scripted)" }) },
  {
    // dream.learn is on by default: a test that leaves a checkpoint and opens a second session may start a learning
    // dream; unscripted, it gets text (the dream then fails and writes nothing) instead of the main lane's turns.
    name: "dream-unscripted",
    match: (r) => r.system.some((s) => s.includes("You curate a project's long-term memory")),
    replies: () => ({ text: "(no dream scripted)" }),
  },
  {
    name: "title",
    match: (r) => r.system.some((s) => s.includes("You are a title generator")),
    replies: () => ({ text: "Scripted session" }),
  },
  {
    name: "compaction",
    match: (r) =>
      r.system.some((s) => /summariz|summaris/i.test(s)) &&
      r.tools.length === 0 &&
      /conversation|summary/i.test(r.raw.slice(-4000)),
    replies: () => ({ text: "## Summary\nScripted compaction summary." }),
  },
];

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export type TokenCounter = { name: "o200k_base" | "chars/4"; count(text: string): number };

const O200K: TokenCounter = { name: "o200k_base", count: (text) => countTokens(text) };

/** The tokenizer used for "auto" usage (async for the callers written when it was loaded lazily). */
export function tokenCounter(): Promise<TokenCounter> {
  return Promise.resolve(O200K);
}

/**
 * What a provider bills as prompt tokens, approximately: the text of every message, the tool calls' arguments and
 * the tool definitions, tokenized; plus 4 tokens of framing per message as OpenAI's chat format adds.
 */
export function promptText(body: ChatBody): { text: string; messages: number } {
  const pieces: string[] = [];
  for (const message of body.messages) {
    pieces.push(contentText(message));
    for (const call of message.tool_calls ?? []) pieces.push(call.function.name, call.function.arguments);
  }
  if (body.tools?.length) pieces.push(JSON.stringify(body.tools));
  return { text: pieces.join("\n"), messages: body.messages.length };
}

export function countPromptTokens(body: ChatBody, tokens: TokenCounter): number {
  const { text, messages } = promptText(body);
  return tokens.count(text) + 4 * messages;
}

export async function startScriptedModel(script: ModelScript = {}): Promise<ScriptedModel> {
  const requests: RecordedRequest[] = [];
  const lists = new Map<string, ScriptedReply[]>();
  const calls = new Map<string, number>();
  const lanes: Lane[] = [
    ...(script.lanes ?? []),
    ...HIDDEN_LANES,
    { name: "main", match: () => true, replies: script.main ?? [] },
  ];
  for (const lane of lanes) if (Array.isArray(lane.replies)) lists.set(lane.name, [...lane.replies]);

  const choose = (partial: Omit<RecordedRequest, "lane" | "reply" | "index">): RecordedRequest => {
    const lane = lanes.find((l) => l.match(partial))!;
    const n = calls.get(lane.name) ?? 0;
    calls.set(lane.name, n + 1);
    const recorded: RecordedRequest = { ...partial, index: requests.length, lane: lane.name, reply: "unscripted" };
    const reply = Array.isArray(lane.replies) ? lists.get(lane.name)!.shift() : lane.replies(recorded, n);
    recorded.reply = reply ?? script.exhausted ?? "unscripted";
    requests.push(recorded);
    return recorded;
  };

  const server = createServer((req, res) => {
    void handle(req, res, choose).catch((error) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    lane: (name) => requests.filter((r) => r.lane === name),
    push(lane, ...replies) {
      const list = lists.get(lane);
      if (!list) throw new Error(`lane ${lane} has no reply list`);
      list.push(...replies);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  choose: (p: Omit<RecordedRequest, "lane" | "reply" | "index">) => RecordedRequest,
) {
  const raw = await readBody(req);
  if (req.method === "GET" && req.url?.endsWith("/models")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "fake-model", object: "model" }] }));
    return;
  }
  if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.parse(raw) as ChatBody;
  const recorded = choose({
    body,
    headers: req.headers,
    system: body.messages.filter((m) => m.role === "system").map(contentText),
    tools: (body.tools ?? []).map((t) => t.function.name),
    lastUserText: contentText([...body.messages].reverse().find((m) => m.role === "user") ?? { role: "user" }),
    raw,
  });
  const reply =
    recorded.reply === "unscripted" ? { text: "(the scripted model has no reply for this request)" } : recorded.reply;
  if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
  if (reply.error) {
    res.writeHead(reply.error.status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: reply.error.message, type: "scripted_error" } }));
    return;
  }
  streamReply(res, body, reply, await tokenCounter());
}

export function contentText(message: ChatMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => part.text ?? "").join("\n");
}

function streamReply(res: ServerResponse, body: ChatBody, reply: ScriptedReply, tokens: TokenCounter): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: body.model, choices, ...extra })}\n\n`,
    );

  send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  if (reply.text) {
    for (const piece of chunks(reply.text, 64)) send([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  }
  (reply.toolCalls ?? []).forEach((call, i) => {
    const callId = call.id ?? `call_${Math.random().toString(36).slice(2, 12)}`;
    send([
      {
        index: 0,
        delta: {
          tool_calls: [{ index: i, id: callId, type: "function", function: { name: call.name, arguments: "" } }],
        },
        finish_reason: null,
      },
    ]);
    send([
      {
        index: 0,
        delta: { tool_calls: [{ index: i, function: { arguments: call.rawArguments ?? JSON.stringify(call.args) } }] },
        finish_reason: null,
      },
    ]);
  });
  const finish = reply.toolCalls?.length ? "tool_calls" : "stop";
  send([{ index: 0, delta: {}, finish_reason: finish }]);
  const usage =
    reply.usage === "auto" || !reply.usage
      ? { prompt_tokens: countPromptTokens(body, tokens), completion_tokens: completionTokens(reply, tokens) }
      : reply.usage;
  send([], { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
  res.write("data: [DONE]\n\n");
  res.end();
}

/** What a provider bills as output: the text and every tool call's arguments (a huge argument is huge output). */
function completionTokens(reply: ScriptedReply, tokens: TokenCounter): number {
  const calls = (reply.toolCalls ?? []).map(
    (call) => `${call.name}\n${call.rawArguments ?? JSON.stringify(call.args)}`,
  );
  return tokens.count([reply.text ?? "", ...calls].join("\n")) + 1;
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (chunk: Buffer) => parts.push(chunk));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}
