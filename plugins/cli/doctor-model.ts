// The doctor's model: a local OpenAI-compatible endpoint that answers every chat completion with one fixed text
// (streamed, as OpenCode asks) and records which tools each request offered, so the doctor can tell that a pack
// tool reached the model. Product code with no dev dependency: it runs in a user install (`npm ci --omit=dev`).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { estimateTokens } from "../core/tokens.ts";

export interface DoctorRequest {
  /** Names of the tools the request offered to the model. */
  tools: string[];
}

export interface DoctorModel {
  baseURL: string;
  requests: DoctorRequest[];
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  messages?: { content?: unknown }[];
  tools?: { function?: { name?: string } }[];
}

export async function startDoctorModel(reply: string): Promise<DoctorModel> {
  const requests: DoctorRequest[] = [];
  const server = createServer((req, res) => {
    void answer(req, res, reply, requests).catch((error) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, reply: string, requests: DoctorRequest[]) {
  const raw = await readBody(req);
  if (req.method === "GET" && req.url?.endsWith("/models")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ object: "list", data: [{ id: "scripted", object: "model" }] }));
    return;
  }
  if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.parse(raw) as ChatBody;
  requests.push({ tools: (body.tools ?? []).flatMap((t) => (t.function?.name ? [t.function.name] : [])) });
  stream(res, body.model ?? "scripted", reply, estimateTokens(raw));
}

/** One streamed completion: the role, the text, the finish reason, then the usage OpenCode reads. */
function stream(res: ServerResponse, model: string, text: string, promptTokens: number): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-doctor-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) => {
    const chunk = { id, object: "chat.completion.chunk", created, model, choices, ...extra };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  send([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]);
  send([{ index: 0, delta: { content: text }, finish_reason: null }]);
  send([{ index: 0, delta: {}, finish_reason: "stop" }]);
  const completion = estimateTokens(text) + 1;
  const total = promptTokens + completion;
  send([], { usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: total } });
  res.write("data: [DONE]\n\n");
  res.end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (chunk: Buffer) => parts.push(chunk));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}
