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
import { slot, type SessionLayer } from "../core/sessions.ts";
import { MESSAGE_HEADER, REPORT_MODEL, REPORT_PROVIDER, reportProvider, SESSION_HEADER } from "./report-model.ts";

export { REPORT_MODEL, REPORT_PROVIDER } from "./report-model.ts";
const RESTORE_TEXT = "[continuum] (report shown above)";
const RESUME_TEXT = "[continuum] The report above was for the user only. Continue the task you were working on.";

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

type AnswerCall = { sessionId: string; command: string; arguments: string; parts: CommandPart[] };

export interface ReportChannel {
  /** Adds the local provider, never replacing a user's provider of that name. */
  configure(cfg: ConfigShape): void;
  /** chat.headers: tells the local provider which session asks. */
  headers(sessionId: string, providerID: string, headers: Record<string, string>, messageId?: string): void;
  answer(reply: CommandReply, call: AnswerCall): Promise<void>;
  /**
   * chat.message: a command turn whose answer is a report moves onto the report model (true); any other user
   * message is left alone (false) and means the session moved on.
   */
  routeTurn(sessionId: string, message: { model?: Record<string, unknown> }): boolean;
  /**
   * chat.message of a user's own turn that a feature answers itself (a typed `stop`, a cancelled Max turn): the turn
   * moves onto the report model, which streams `text`. False when there is no report model.
   */
  answerTurn(
    sessionId: string,
    messageId: string | undefined,
    text: string,
    message: { model?: Record<string, unknown> },
  ): boolean;
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

/** One session's report bookkeeping: in a slot of its record, so it goes when the session is deleted. */
interface ReportState {
  pending?: PendingReport;
  /** Without the report model a report's turn is a short model call (the pointer turn): settled when it ends. */
  pointer?: { started: boolean; settled?: () => void };
  /** The report turn ended and its follow-up is being sent; a new command waits for it (nothing lands inside it). */
  settling?: Promise<void>;
  /** User turns a feature answers itself (answerTurn), by message id: the text the local report model streams. */
  local: Map<string, string>;
  /** The locally answered turn needs the session's model put back in view when it ends. */
  restoreDue: boolean;
}
export const reportSlot = slot<ReportState>("reports", () => ({ local: new Map(), restoreDue: false }));

/** What every part of the channel shares. */
interface Channel {
  deps: ReportChannelDeps;
  stateOf(sessionId: string): ReportState;
  /** The report model is configured (else reports take a short model call). */
  active: boolean;
  defaultModel: ModelRef | undefined;
}

export function createReportChannel(deps: ReportChannelDeps): ReportChannel {
  const stateOf = (id: string) => deps.sessions.session(id).get(reportSlot);
  const channel: Channel = { deps, stateOf, active: false, defaultModel: undefined };
  return {
    configure: (cfg) => configure(channel, cfg),
    headers(sessionId, providerID, headers, messageId) {
      if (providerID !== REPORT_PROVIDER) return;
      headers[SESSION_HEADER] = sessionId;
      if (messageId) headers[MESSAGE_HEADER] = messageId;
    },
    answer: (reply, call) => answer(channel, reply, call),
    routeTurn: (sessionId, message) => routeTurn(channel, sessionId, message),
    answerTurn(sessionId, messageId, text, message) {
      if (!channel.active || !messageId) return false;
      // By message: a typed `stop`, the Max turn it cancels and a command's report may all be answered at once.
      channel.stateOf(sessionId).local.set(messageId, text);
      message.model = { ...message.model, providerID: REPORT_PROVIDER, modelID: REPORT_MODEL };
      return true;
    },
    turnEnded: (sessionId) => turnEnded(channel, sessionId),
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

function configure(channel: Channel, cfg: ConfigShape): void {
  const { reporter } = channel.deps;
  channel.defaultModel = parseModelRef(cfg.model);
  // Without a configured `model`, OpenCode may fall back to the first configured provider as the default model:
  // that must never become the report model, so reports then take the fallback (a short model call).
  if (!channel.defaultModel) {
    reporter.log(
      "info",
      "no `model` in OpenCode's config: the pack's reports use a short model call instead of the local report model",
    );
    return;
  }
  cfg.provider ??= {};
  if (cfg.provider[REPORT_PROVIDER] !== undefined) {
    reporter.log(
      "warn",
      `a provider named "${REPORT_PROVIDER}" is defined by the user: the pack's reports fall back to a short model call`,
    );
    return;
  }
  cfg.provider[REPORT_PROVIDER] = reportProvider((sessionId, messageId) => reportText(channel, sessionId, messageId));
  channel.active = true;
}

/** What the report model streams: a locally answered turn's text, else the session's pending report. */
function reportText(channel: Channel, sessionId: string, messageId: string): string | undefined {
  const state = channel.deps.sessions.peek(sessionId)?.get(reportSlot);
  const local = state?.local.get(messageId);
  if (state && local !== undefined) {
    state.local.delete(messageId);
    state.restoreDue = true;
    return local;
  }
  return state?.pending?.text;
}

const settlePointer = (state: ReportState) => {
  const pointer = state.pointer;
  state.pointer = undefined;
  callSafely(pointer?.settled);
};

async function answer(channel: Channel, reply: CommandReply, call: AnswerCall): Promise<void> {
  const { deps } = channel;
  if (reply.kind === "prompt") {
    if (reply.notice) deps.reporter.notify(firstLine(reply.notice), "info");
    return replaceText(call.parts, reply.text);
  }
  const state = channel.stateOf(call.sessionId);
  if (!channel.active) {
    settlePointer(state);
    await answerWithModel(reply.text, call, deps);
    state.pointer = { started: false, settled: reply.settled };
    return;
  }
  if (reply.variant) deps.reporter.notify(firstLine(reply.text), reply.variant);
  await state.settling;
  // Asked of the host at this moment: the event stream may still be catching up.
  const wasBusy = await deps.isBusy(call.sessionId).catch(() => false);
  callSafely(state.pending?.settled);
  state.pending = { text: reply.text, wasBusy, started: false, settled: reply.settled };
  // The command line itself: synthetic, so no title request is made for it and no feature takes it for the user's words.
  call.parts.splice(0, call.parts.length, {
    type: "text",
    text: `/${call.command} ${call.arguments}`.trim(),
    synthetic: true,
  });
}

function routeTurn(channel: Channel, sessionId: string, message: { model?: Record<string, unknown> }): boolean {
  const state = channel.stateOf(sessionId);
  if (state.pointer && !state.pointer.started) state.pointer.started = true;
  else if (state.pointer) settlePointer(state);
  const report = state.pending;
  if (!report || report.started) {
    // The session moved on (a prompt, another turn): a report still waiting for its follow-up needs none.
    if (report) {
      state.pending = undefined;
      callSafely(report.settled);
    }
    return false;
  }
  report.started = true;
  message.model = { ...message.model, providerID: REPORT_PROVIDER, modelID: REPORT_MODEL };
  return true;
}

async function turnEnded(channel: Channel, sessionId: string): Promise<void> {
  const { deps } = channel;
  const state = channel.stateOf(sessionId);
  const restore = state.restoreDue;
  state.restoreDue = false;
  if (restore && state.local.size === 0) {
    // The session's own model back in view (the TUI takes the newest user message's), as after a report.
    const turn = deps.sessions.session(sessionId).lastTurn;
    const model = turn.model ?? channel.defaultModel;
    if (model && !(await deps.isBusy(sessionId).catch(() => true)))
      await deps.host
        .showInSession(sessionId, RESTORE_TEXT, { hidden: true, synthetic: true, agent: turn.agent, model })
        .catch(() => undefined);
  }
  if (state.pointer?.started) settlePointer(state);
  const report = state.pending;
  if (!report?.started) return;
  state.pending = undefined;
  const done = followUp(channel, sessionId, report).catch((error) =>
    deps.reporter.log("warn", `after a report in ${sessionId}: ${(error as Error).message}`),
  );
  state.settling = done;
  await done;
  if (state.settling === done) state.settling = undefined;
  callSafely(report.settled);
}

async function followUp(channel: Channel, sessionId: string, report: PendingReport): Promise<void> {
  const { deps } = channel;
  const turn = deps.sessions.session(sessionId).lastTurn;
  const model = turn.model ?? channel.defaultModel;
  if (await deps.isBusy(sessionId)) return;
  if (report.wasBusy) return deps.host.sendPrompt(sessionId, { text: RESUME_TEXT, agent: turn.agent, model });
  if (model)
    await deps.host.showInSession(sessionId, RESTORE_TEXT, { hidden: true, synthetic: true, agent: turn.agent, model });
}

/** A report turn of the pack's commands (its command line, the report, the model kept in view): not conversation. */
export function isReportTurn(message: HostMessage): boolean {
  const info = message.info as { role: string; providerID?: string; model?: { providerID?: string } };
  if (info.role === "assistant") return info.providerID === REPORT_PROVIDER;
  if (info.model?.providerID === REPORT_PROVIDER) return true;
  return message.parts.length > 0 && message.parts.every((p) => p.type === "text" && p.text === RESTORE_TEXT);
}

/** When the local provider cannot be added: the report is stored in the session and the model only points at it. */
async function answerWithModel(
  report: string,
  call: { sessionId: string; command: string; parts: CommandPart[] },
  deps: { host: HostApi },
): Promise<void> {
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
