// How the pack's commands answer in OpenCode 1.18 without a model call. No hook can end a command's turn, and a
// throw is a server error, so the pack adds a local "report model" (provider `continuum`, model `report`) whose
// fetch never leaves the process: each pack command runs on it, and it streams back the report the command's
// handler just computed. The turn then looks like any other (the report is an assistant message, in the TUI and
// in `opencode run`), costs nothing, and raises no error. Afterwards the session's own model is put back (a
// context-only message), an agent interrupted by the
// command is resumed, and report turns are kept out of later requests. A command whose answer is real work (say
// `/goal <condition>`) is moved to the session's own model in chat.message, so it runs as an ordinary turn.
import type { CommandReply } from "../core/feature.ts";
import type { HostApi } from "../core/host.ts";
import type { HostMessage, ModelRef } from "../core/host-types.ts";
import type { Reporter } from "../core/report.ts";
import type { SessionLayer } from "../core/sessions.ts";

export const REPORT_PROVIDER = "continuum";
export const REPORT_MODEL = "report";
const SESSION_HEADER = "x-continuum-session";
const RESTORE_TEXT = "[continuum] (report shown above)";
const RESUME_TEXT = "[continuum] The report above was for the user only. Continue the task you were working on.";

export interface CommandPart {
  type: string;
  text?: string;
  synthetic?: boolean;
}

interface PendingReport {
  text: string;
  /** The prompt of a reply that starts real work. */
  followUp?: string;
  /** The agent was working when the command came: it is resumed afterwards. */
  wasBusy: boolean;
}

type ConfigShape = {
  model?: string;
  provider?: Record<string, unknown>;
  command?: Record<string, Record<string, unknown> | undefined>;
};

export interface ReportChannel {
  /** Adds the local provider (never replacing a user's provider of that name) and routes the given commands to it. */
  configure(cfg: ConfigShape, commands: readonly string[]): void;
  /** chat.headers: tells the local provider which session asks. */
  headers(sessionId: string, providerID: string, headers: Record<string, string>): void;
  answer(reply: CommandReply, call: { sessionId: string; command: string; arguments: string; parts: CommandPart[] }): Promise<void>;
  /**
   * chat.message of a command turn on the report model: when the command's reply is real work, moves the turn to
   * the session's own model and agent with the reply's prompt (true); a report stays on the report model (false).
   */
  takeOver(sessionId: string, message: { model?: Record<string, unknown>; agent?: string }, parts: CommandPart[]): boolean;
  /** command.executed: put the session's model back, send a follow-up or resume the agent. */
  executed(sessionId: string): Promise<void>;
  /** True for a user turn that runs on the report model (not the user's words, not a model call). */
  isReportModel(model: { providerID?: string } | undefined): boolean;
  /** True when the request about to be made answers a report (its newest user message runs on the report model). */
  isReportRequest(messages: HostMessage[]): boolean;
  /** Removes report turns from a request (the report itself stays while it is the turn being answered). */
  stripReports(messages: HostMessage[]): void;
}

export function createReportChannel(deps: { host: HostApi; sessions: SessionLayer; reporter: Reporter }): ReportChannel {
  const pending = new Map<string, PendingReport>();
  let active = false;
  let defaultModel: ModelRef | undefined;

  const fetchReport = async (_url: unknown, init?: { headers?: unknown }): Promise<Response> => {
    const sessionId = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]).get(SESSION_HEADER) ?? "";
    const report = pending.get(sessionId);
    return streamText(report?.text ?? "This model only shows opencode-continuum's reports (/memory, /context, /stats, …); pick another model to work.");
  };

  return {
    configure(cfg, commands) {
      cfg.provider ??= {};
      if (cfg.provider[REPORT_PROVIDER] !== undefined) {
        deps.reporter.log("warn", `a provider named "${REPORT_PROVIDER}" is defined by the user: the pack's commands fall back to a short model call`);
        return;
      }
      cfg.provider[REPORT_PROVIDER] = {
        npm: "@ai-sdk/openai-compatible",
        name: "opencode-continuum (local reports)",
        options: { baseURL: "http://continuum.invalid/v1", apiKey: "local", fetch: fetchReport },
        models: { [REPORT_MODEL]: { name: "Continuum report (no model call)", tool_call: false, limit: { context: 1_000_000, output: 100_000 } } },
      };
      active = true;
      defaultModel = parseModel(cfg.model);
      for (const name of commands) {
        const command = cfg.command?.[name];
        // A model the user set for the command is theirs.
        if (command && command.model === undefined) command.model = `${REPORT_PROVIDER}/${REPORT_MODEL}`;
      }
    },
    headers(sessionId, providerID, headers) {
      if (providerID === REPORT_PROVIDER) headers[SESSION_HEADER] = sessionId;
    },
    async answer(reply, call) {
      if (!active) return answerWithModel(reply, call, deps);
      const wasBusy = deps.sessions.peek(call.sessionId)?.busy === true;
      if (reply.kind === "report" && reply.variant) deps.reporter.notify(firstLine(reply.text), reply.variant);
      if (reply.kind === "prompt" && reply.notice) deps.reporter.notify(firstLine(reply.notice), "info");
      pending.set(call.sessionId, reply.kind === "report" ? { text: reply.text, wasBusy } : { text: "", followUp: reply.text, wasBusy });
      // The command line itself: synthetic, so no title request is made for it and no feature takes it for the user's words.
      call.parts.splice(0, call.parts.length, { type: "text", text: `/${call.command} ${call.arguments}`.trim(), synthetic: true });
    },
    takeOver(sessionId, message, parts) {
      const report = pending.get(sessionId);
      if (report?.followUp === undefined) return false;
      // Real work: the turn goes to the session's own model with the command's prompt (OpenCode saves this message
      // object as it is after the hook, and every step of the turn runs on its model).
      pending.delete(sessionId);
      const turn = deps.sessions.session(sessionId).lastTurn;
      const model = turn.model ?? defaultModel;
      if (model) message.model = { ...(message.model ?? {}), providerID: model.providerID, modelID: model.modelID };
      if (turn.agent) message.agent = turn.agent;
      // The host's part objects carry their ids: edit the command line's part in place, never build a new one.
      const line = parts.find((p) => p.type === "text");
      if (!line) return false;
      line.text = report.followUp;
      delete line.synthetic;
      return true;
    },
    async executed(sessionId) {
      const report = pending.get(sessionId);
      if (!report) return;
      pending.delete(sessionId);
      const turn = deps.sessions.session(sessionId).lastTurn;
      const model = turn.model ?? defaultModel;
      try {
        // Only while the report is still the newest user message: a newer one carries its own model and intent.
        const newest = (await deps.host.messages(sessionId)).findLast((m) => m.info.role === "user");
        if (!isReportTurn(newest ?? { info: { id: "", sessionID: "", role: "user" }, parts: [] })) return;
        if (report.wasBusy) await deps.host.sendPrompt(sessionId, { text: RESUME_TEXT, agent: turn.agent, model });
        else await deps.host.showInSession(sessionId, RESTORE_TEXT, { hidden: true, agent: turn.agent, model, synthetic: true });
      } catch (error) {
        deps.reporter.log("warn", `after a report in ${sessionId}: ${(error as Error).message}`);
      }
    },
    isReportModel: (model) => model?.providerID === REPORT_PROVIDER,
    isReportRequest: (messages) => {
      const newest = messages.findLast((m) => m.info.role === "user");
      return (newest?.info as { model?: { providerID?: string } } | undefined)?.model?.providerID === REPORT_PROVIDER;
    },
    stripReports(messages) {
      const lastUser = messages.findLastIndex((m) => m.info.role === "user");
      for (let i = messages.length - 1; i >= 0; i--) {
        if (i !== lastUser && isReportTurn(messages[i]!)) messages.splice(i, 1);
      }
    },
  };
}

function isReportTurn(message: HostMessage): boolean {
  const info = message.info as { role: string; providerID?: string; model?: { providerID?: string } };
  if (info.role === "assistant") return info.providerID === REPORT_PROVIDER;
  if (info.model?.providerID === REPORT_PROVIDER) return true;
  return message.parts.length > 0 && message.parts.every((p) => p.type === "text" && p.text === RESTORE_TEXT);
}

/** When the local provider cannot be added: the report is stored in the session and the model only points at it. */
async function answerWithModel(reply: CommandReply, call: { sessionId: string; command: string; parts: CommandPart[] }, deps: { host: HostApi }): Promise<void> {
  if (reply.kind === "prompt") return replaceText(call.parts, reply.text);
  const stored = await deps.host.showInSession(call.sessionId, reply.text);
  replaceText(
    call.parts,
    stored
      ? `[continuum /${call.command}] The report is in the previous message. Reply with one short sentence pointing the user to it. Do not call tools.`
      : `[continuum /${call.command}] Show the user this report exactly as written, in a code block, with no other text:\n\n${reply.text}`,
  );
}

function replaceText(parts: CommandPart[], text: string): void {
  const textPart = parts.find((p) => p.type === "text");
  if (textPart) textPart.text = text;
  else parts.push({ type: "text", text });
}

const firstLine = (text: string) => text.replace(/^\[continuum [^\]]*\]\s*/, "").split("\n")[0]!;

function parseModel(value: string | undefined): ModelRef | undefined {
  const slash = value?.indexOf("/") ?? -1;
  return value && slash > 0 ? { providerID: value.slice(0, slash), modelID: value.slice(slash + 1) } : undefined;
}

/** An OpenAI-compatible streamed answer holding one text, with zero usage. */
function streamText(text: string): Response {
  const encoder = new TextEncoder();
  const base = { id: "continuum-report", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: REPORT_MODEL };
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
