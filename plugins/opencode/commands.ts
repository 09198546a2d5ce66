// How the pack's commands answer in OpenCode 1.18 without a model call. No hook can end a command's turn, and a
// throw is a server error, so the pack adds a local "report model" (provider `continuum`, model `report`) whose
// fetch never leaves the process. A command whose answer is a report keeps the session's own model (the session's
// stored choice never changes), but its user message is moved onto the report model in chat.message: OpenCode runs
// each step of a turn on its user message's model, so the report model streams back the report the command's
// handler computed. The turn looks like any other (an assistant message, in the TUI and in `opencode run`), costs
// nothing and raises no error. Afterwards a context-only message carrying the session's model keeps the TUI on it
// (it takes the model of the newest user message), an agent the command interrupted is resumed, and report turns
// are kept out of later requests. A command whose answer is real work just gets its prompt replaced.
import type { CommandReply } from "../core/feature.ts";
import type { HostApi } from "../core/host.ts";
import { parseModelRef, type HostMessage, type ModelRef } from "../core/host-types.ts";
import type { Reporter } from "../core/report.ts";
import type { SessionLayer } from "../core/sessions.ts";

export const REPORT_PROVIDER = "continuum";
export const REPORT_MODEL = "report";
const SESSION_HEADER = "x-continuum-session";
const MESSAGE_HEADER = "x-continuum-message";
const RESTORE_TEXT = "[continuum] (report shown above)";
const RESUME_TEXT = "[continuum] The report above was for the user only. Continue the task you were working on.";
const FALLBACK =
  "This is opencode-continuum's report model: it only shows the pack's reports (/memory, /context, /stats, …) and never calls a model. Switch back to your model to go on working.";

export interface CommandPart {
  type: string;
  text?: string;
  synthetic?: boolean;
}

interface PendingReport {
  text: string;
  /** The agent was working when the command came: it is resumed afterwards. */
  wasBusy: boolean;
  /** The report turn has started (its user message is on the report model). */
  started: boolean;
  settled?: () => void;
}

const callSafely = (fn: (() => void) | undefined) => {
  try {
    fn?.();
  } catch {
    // A feature's callback must not break the command flow.
  }
};

type ConfigShape = { model?: string; provider?: Record<string, unknown> };

export interface ReportChannel {
  /** Adds the local provider, never replacing a user's provider of that name. */
  configure(cfg: ConfigShape): void;
  /** chat.headers: tells the local provider which session asks. */
  headers(sessionId: string, providerID: string, headers: Record<string, string>, messageId?: string): void;
  answer(reply: CommandReply, call: { sessionId: string; command: string; arguments: string; parts: CommandPart[] }): Promise<void>;
  /**
   * chat.message: a command turn whose answer is a report moves onto the report model (true); any other user
   * message is left alone (false) and means the session moved on.
   */
  routeTurn(sessionId: string, message: { model?: Record<string, unknown> }): boolean;
  /**
   * chat.message of a user's own turn that a feature answers itself (a typed `stop`, a cancelled Max turn): the turn
   * moves onto the report model, which streams `text`. False when there is no report model.
   */
  answerTurn(sessionId: string, messageId: string | undefined, text: string, message: { model?: Record<string, unknown> }): boolean;
  /** session.idle: after a report turn, keep the session's model in view, or resume an interrupted agent. */
  turnEnded(sessionId: string): Promise<void>;
  /** True for a call on the report model (not a model call, not the user's words). */
  isReportModel(model: { providerID?: string } | undefined): boolean;
  /** True when the request about to be made answers a report (its newest user message runs on the report model). */
  isReportRequest(messages: HostMessage[]): boolean;
  /** Removes report turns from a request (the report itself stays while it is the turn being answered). */
  stripReports(messages: HostMessage[]): void;
}

export interface ReportChannelDeps {
  host: HostApi;
  sessions: SessionLayer;
  reporter: Reporter;
  /** Whether the host is running a turn of the session right now. */
  isBusy(sessionId: string): Promise<boolean>;
}

export function createReportChannel(deps: ReportChannelDeps): ReportChannel {
  const pending = new Map<string, PendingReport>();
  /** Without the report model a report's turn is a short model call (the pointer turn): settled when it ends. */
  const pointers = new Map<string, { started: boolean; settled?: () => void }>();
  const settlePointer = (sessionId: string) => {
    const pointer = pointers.get(sessionId);
    pointers.delete(sessionId);
    callSafely(pointer?.settled);
  };
  /** Report turns that ended and whose follow-up is being sent; a new command waits for it (no message lands inside its turn). */
  const settling = new Map<string, Promise<void>>();
  let active = false;
  let defaultModel: ModelRef | undefined;
  /** User turns a feature answers itself (answerTurn), by message id: the text the local report model streams. */
  const local = new Map<string, { sessionId: string; text: string }>();
  /** Sessions whose locally answered turn needs the session's model put back in view when it ends. */
  const restoreDue = new Set<string>();

  const fetchReport = async (_url: unknown, init?: { headers?: unknown }): Promise<Response> => {
    const headers = new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]);
    const sessionId = headers.get(SESSION_HEADER) ?? "";
    const answer = local.get(headers.get(MESSAGE_HEADER) ?? "");
    if (answer) {
      local.delete(headers.get(MESSAGE_HEADER)!);
      restoreDue.add(answer.sessionId);
      return streamText(answer.text);
    }
    return streamText(pending.get(sessionId)?.text ?? FALLBACK);
  };

  const followUp = async (sessionId: string, report: PendingReport) => {
    const turn = deps.sessions.session(sessionId).lastTurn;
    const model = turn.model ?? defaultModel;
    if (await deps.isBusy(sessionId)) return;
    if (report.wasBusy) return deps.host.sendPrompt(sessionId, { text: RESUME_TEXT, agent: turn.agent, model });
    if (model) await deps.host.showInSession(sessionId, RESTORE_TEXT, { hidden: true, synthetic: true, agent: turn.agent, model });
  };

  return {
    configure(cfg) {
      defaultModel = parseModelRef(cfg.model);
      // Without a configured `model`, OpenCode may fall back to the first configured provider as the default model:
      // that must never become the report model, so reports then take the fallback (a short model call).
      if (!defaultModel) {
        deps.reporter.log("info", "no `model` in OpenCode's config: the pack's reports use a short model call instead of the local report model");
        return;
      }
      cfg.provider ??= {};
      if (cfg.provider[REPORT_PROVIDER] !== undefined) {
        deps.reporter.log("warn", `a provider named "${REPORT_PROVIDER}" is defined by the user: the pack's reports fall back to a short model call`);
        return;
      }
      cfg.provider[REPORT_PROVIDER] = {
        npm: "@ai-sdk/openai-compatible",
        name: "opencode-continuum (local reports)",
        options: { baseURL: "http://continuum.invalid/v1", apiKey: "local", fetch: fetchReport },
        models: { [REPORT_MODEL]: { name: "Continuum report (no model call)", tool_call: false, limit: { context: 1_000_000, output: 100_000 } } },
      };
      active = true;
    },
    headers(sessionId, providerID, headers, messageId) {
      if (providerID !== REPORT_PROVIDER) return;
      headers[SESSION_HEADER] = sessionId;
      if (messageId) headers[MESSAGE_HEADER] = messageId;
    },
    async answer(reply, call) {
      if (reply.kind === "prompt") {
        if (reply.notice) deps.reporter.notify(firstLine(reply.notice), "info");
        return replaceText(call.parts, reply.text);
      }
      if (!active) {
        settlePointer(call.sessionId);
        await answerWithModel(reply.text, call, deps);
        pointers.set(call.sessionId, { started: false, settled: reply.settled });
        return;
      }
      if (reply.variant) deps.reporter.notify(firstLine(reply.text), reply.variant);
      await settling.get(call.sessionId);
      // Asked of the host at this moment: the event stream may still be catching up.
      const wasBusy = await deps.isBusy(call.sessionId).catch(() => false);
      callSafely(pending.get(call.sessionId)?.settled);
      pending.set(call.sessionId, { text: reply.text, wasBusy, started: false, settled: reply.settled });
      // The command line itself: synthetic, so no title request is made for it and no feature takes it for the user's words.
      call.parts.splice(0, call.parts.length, { type: "text", text: `/${call.command} ${call.arguments}`.trim(), synthetic: true });
    },
    routeTurn(sessionId, message) {
      const pointer = pointers.get(sessionId);
      if (pointer && !pointer.started) pointer.started = true;
      else if (pointer) settlePointer(sessionId);
      const report = pending.get(sessionId);
      if (!report || report.started) {
        // The session moved on (a prompt, another turn): a report still waiting for its follow-up needs none.
        if (report) {
          pending.delete(sessionId);
          callSafely(report.settled);
        }
        return false;
      }
      report.started = true;
      message.model = { ...(message.model ?? {}), providerID: REPORT_PROVIDER, modelID: REPORT_MODEL };
      return true;
    },
    answerTurn(sessionId, messageId, text, message) {
      if (!active || !messageId) return false;
      // By message: a typed `stop`, the Max turn it cancels and a command's report may all be answered at once.
      local.set(messageId, { sessionId, text });
      message.model = { ...(message.model ?? {}), providerID: REPORT_PROVIDER, modelID: REPORT_MODEL };
      return true;
    },
    async turnEnded(sessionId) {
      if (restoreDue.delete(sessionId) && ![...local.values()].some((l) => l.sessionId === sessionId)) {
        // The session's own model back in view (the TUI takes the newest user message's), as after a report.
        const turn = deps.sessions.session(sessionId).lastTurn;
        const model = turn.model ?? defaultModel;
        if (model && !(await deps.isBusy(sessionId).catch(() => true))) await deps.host.showInSession(sessionId, RESTORE_TEXT, { hidden: true, synthetic: true, agent: turn.agent, model }).catch(() => undefined);
      }
      if (pointers.get(sessionId)?.started) settlePointer(sessionId);
      const report = pending.get(sessionId);
      if (!report?.started) return;
      pending.delete(sessionId);
      const done = followUp(sessionId, report).catch((error) => deps.reporter.log("warn", `after a report in ${sessionId}: ${(error as Error).message}`));
      settling.set(sessionId, done);
      await done;
      if (settling.get(sessionId) === done) settling.delete(sessionId);
      callSafely(report.settled);
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

/** A report turn of the pack's commands (its command line, the report, the model kept in view): not conversation. */
export function isReportTurn(message: HostMessage): boolean {
  const info = message.info as { role: string; providerID?: string; model?: { providerID?: string } };
  if (info.role === "assistant") return info.providerID === REPORT_PROVIDER;
  if (info.model?.providerID === REPORT_PROVIDER) return true;
  return message.parts.length > 0 && message.parts.every((p) => p.type === "text" && p.text === RESTORE_TEXT);
}

/** When the local provider cannot be added: the report is stored in the session and the model only points at it. */
async function answerWithModel(report: string, call: { sessionId: string; command: string; parts: CommandPart[] }, deps: { host: HostApi }): Promise<void> {
  const stored = await deps.host.showInSession(call.sessionId, report);
  replaceText(
    call.parts,
    stored
      ? `[continuum /${call.command}] The report is in the previous message. Reply with one short sentence pointing the user to it. Do not call tools.`
      : `[continuum /${call.command}] Show the user this report exactly as written, in a code block, with no other text:\n\n${report}`,
  );
}

function replaceText(parts: CommandPart[], text: string): void {
  const textPart = parts.find((p) => p.type === "text");
  if (textPart) textPart.text = text;
  else parts.push({ type: "text", text });
}

const firstLine = (text: string) => text.replace(/^\[continuum [^\]]*\]\s*/, "").split("\n")[0]!;


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
