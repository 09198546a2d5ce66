// The local "report model" (provider `continuum`, model `report`): an OpenAI-compatible provider whose fetch never
// leaves the process and streams back the text a command's handler computed (see commands.ts for the whole story).
export const REPORT_PROVIDER = "continuum";
export const REPORT_MODEL = "report";
export const SESSION_HEADER = "x-continuum-session";
export const MESSAGE_HEADER = "x-continuum-message";
const FALLBACK =
  "This is opencode-continuum's report model: it only shows the pack's reports (/memory, /context, /stats, …) and never calls a model. Switch back to your model to go on working.";

/** What the report model streams for one request: the text for the session and message asking, if any. */
export type ReportText = (sessionId: string, messageId: string) => string | undefined;

/** The provider entry added to OpenCode's config; its fetch answers with `textFor` (or a fallback). */
export function reportProvider(textFor: ReportText): Record<string, unknown> {
  const fetch = async (_url: unknown, init?: { headers?: unknown }): Promise<Response> => {
    const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]);
    return streamText(textFor(headers.get(SESSION_HEADER) ?? "", headers.get(MESSAGE_HEADER) ?? "") ?? FALLBACK);
  };
  return {
    npm: "@ai-sdk/openai-compatible",
    name: "opencode-continuum (local reports)",
    options: { baseURL: "http://continuum.invalid/v1", apiKey: "local", fetch },
    models: {
      [REPORT_MODEL]: {
        name: "Continuum report (no model call)",
        tool_call: false,
        limit: { context: 1_000_000, output: 100_000 },
      },
    },
  };
}

/** An OpenAI-compatible streamed answer holding one text, with zero usage. */
function streamText(text: string): Response {
  const encoder = new TextEncoder();
  const base = {
    id: "continuum-report",
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: REPORT_MODEL,
  };
  const chunks = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
    { ...base, choices: [], usage: { prompt_tokens: 0, completion_tokens: 0 } },
  ];
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`));
      controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}
