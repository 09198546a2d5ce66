// The OpenCode 1.x adapter: the one place that knows the host's hook and event names. It turns each feature's
// host-neutral parts into OpenCode hooks (isolated by composeHooks) and feeds the session layer with typed events.
import type { Hooks } from "@opencode-ai/plugin";
import { isAbsolute } from "node:path";
import { composeHooks, type FeatureHooks } from "./compose.ts";
import { RefuseToolCall } from "../core/tool.ts";
import { confinePath, confineToolArgs } from "../core/confinement.ts";
import type { CommandReply, FeatureContext, FeatureParts } from "../core/feature.ts";
import type { HelperRunner } from "../core/helpers.ts";
import type { HostMessage } from "../core/host-types.ts";
import { classifyMessage } from "../core/pack-text.ts";
import type { Sandbox } from "../core/sandbox.ts";
import type { SessionLayer } from "../core/sessions.ts";
import type { CommandPart, ReportChannel } from "./commands.ts";
import { translateEvent, type RawEvent } from "./events.ts";
import { guardBashCall } from "./git-guard.ts";

export interface AdapterInput {
  features: { name: string; parts: FeatureParts }[];
  context: Pick<FeatureContext, "sessions" | "helpers" | "host" | "reporter" | "sandbox">;
  reports: ReportChannel;
  timeoutMs: number;
  onFirstCall?: (hook: string, input: unknown, output: unknown) => void;
}

/** Composes every feature into the one hook set OpenCode sees. */
export function buildHooks(input: AdapterInput): Hooks {
  const { sessions, helpers, reporter } = input.context;
  // turn.started runs inside chat.message: the hook must outlast its longest subscriber (each has its own limit).
  const longestTurn = sessions.longestTimeout("turn.started");
  const perFeature: FeatureHooks[] = [
    {
      name: "sessions",
      hooks: sessionHooks(sessions, helpers, input.context.host, input.reports, confinedShell(input.context)),
      timeouts: longestTurn ? { "chat.message": longestTurn + input.timeoutMs } : {},
    },
    ...input.features.map(({ name, parts }) => ({
      name,
      hooks: featureHooks(parts, input.context, input.reports),
      timeouts: parts.commandTimeoutMs ? { "command.execute.before": parts.commandTimeoutMs } : {},
    })),
  ];
  return composeHooks(perFeature, { reporter, timeoutMs: input.timeoutMs, onFirstCall: input.onFirstCall });
}

/**
 * Raw events and new user messages into the session layer; helper runs stopped once their result is in; the
 * report turns of the pack's commands kept out of the features' sight and out of later requests.
 */
function sessionHooks(
  sessions: SessionLayer,
  helpers: HelperRunner,
  host: FeatureContext["host"],
  reports: ReportChannel,
  shell: ConfinedShell,
): Hooks {
  // Sessions whose running turn answers a pack command on the report model: its end is not the agent stopping.
  const reportTurns = new Set<string>();
  return {
    event: async ({ event }) => {
      const raw = event as RawEvent;
      if (raw.type === "permission.asked") return answerConfinedPermission(raw, helpers, host);
      if (raw.type === "session.idle" && typeof raw.properties?.sessionID === "string") {
        // The turn that answered a command is over: put the session's model back (status is idle by now).
        await reports.turnEnded(raw.properties.sessionID);
        if (reportTurns.delete(raw.properties.sessionID)) return sessions.settleReportTurn(raw.properties.sessionID);
      }
      for (const typed of translateEvent(raw, sessions)) await sessions.dispatch(typed);
    },
    "tool.execute.before": async (input, output) => {
      // Git safety for every pack agent first, on the command as written (throws to refuse).
      guardBashCall(input.tool, input.sessionID, output.args, sessions, helpers);
      const confinement = helpers.confinementOf(input.sessionID);
      if (!confinement) return;
      const confined = confineToolArgs(input.tool, output.args, confinement, shell.sandbox(input.tool));
      if (!confined.ok) {
        if (confined.notice) shell.refused(confined.notice);
        throw new RefuseToolCall(confined.message);
      }
      // In place: the host keeps its own reference to the args object.
      const args = output.args as Record<string, unknown>;
      if (args && typeof args === "object") {
        for (const key of Object.keys(args)) if (!(key in confined.args)) delete args[key];
        Object.assign(args, confined.args);
      }
    },
    "chat.headers": async (input, output) => {
      reports.headers(
        input.sessionID,
        String(input.model?.providerID ?? input.provider?.info?.id ?? ""),
        output.headers,
        (input as { message?: { id?: string } }).message?.id,
      );
    },
    "chat.message": async (input, output) => {
      // A pack command answering with a report: its turn runs on the local report model, out of the features' sight.
      if (reports.routeTurn(input.sessionID, output.message as unknown as { model?: Record<string, unknown> }))
        return void reportTurns.add(input.sessionID);
      const parts = output.parts as unknown as {
        type: string;
        text?: string;
        synthetic?: boolean;
        ignored?: boolean;
      }[];
      const { origin, text } = classifyMessage(parts);
      const messageID = input.messageID ?? (output.message as { id?: string }).id;
      // The message as OpenCode resolved it: its agent and model, even when the prompt named neither (the git
      // guard's policy and the pack's continuations follow them).
      const message = output.message as { agent?: string; model?: { providerID?: string; modelID?: string } };
      const resolved =
        message.model?.providerID && message.model.modelID
          ? { providerID: message.model.providerID, modelID: message.model.modelID }
          : undefined;
      await sessions.dispatch({
        type: "turn.started",
        sessionId: input.sessionID,
        origin,
        text,
        agent: message.agent ?? input.agent,
        model: resolved ?? input.model,
        addContext: (context) => {
          if (messageID)
            (output.parts as unknown[]).push({
              id: partId(),
              sessionID: input.sessionID,
              messageID,
              type: "text",
              text: context,
              synthetic: true,
            });
        },
        // The session layer saw this turn start (it is the user's own message), so it sees it end too.
        answerLocally: (answer) =>
          reports.answerTurn(
            input.sessionID,
            messageID,
            answer,
            output.message as unknown as { model?: Record<string, unknown> },
          ),
      });
    },
    "experimental.chat.messages.transform": async (_input, output) => {
      reports.stripReports(output.messages as unknown as HostMessage[]);
      const sessionId = (output.messages as unknown as HostMessage[])[0]?.info.sessionID;
      if (!sessionId || !helpers.shouldStop(sessionId)) return;
      // The helper's result is in: stop before this request is sent (no "done" turn), and send nothing if it races.
      await host.abort(sessionId).catch(() => undefined);
      output.messages.splice(0, Math.max(0, output.messages.length - 1));
    },
  };
}

function featureHooks(parts: FeatureParts, context: AdapterInput["context"], reports: ReportChannel): Hooks {
  const { helpers } = context;
  const hooks: Hooks = {};
  if (parts.tools) hooks.tool = parts.tools as Hooks["tool"];
  if (parts.modelCall) {
    const modelCall = parts.modelCall;
    hooks["chat.params"] = async (input, output) => {
      const limit = input.model?.limit as { context: number; input?: number; output: number } | undefined;
      if (!limit?.context) return;
      const providerID = String(input.model.providerID ?? input.provider?.info?.id ?? "");
      if (reports.isReportModel({ providerID })) return;
      // Only for a model that takes a temperature (OpenCode sends none otherwise; some models refuse one).
      const takesTemperature =
        (input.model as { capabilities?: { temperature?: boolean } }).capabilities?.temperature === true;
      const setTemperature = takesTemperature ? (value: number) => void (output.temperature = value) : undefined;
      await modelCall({
        sessionId: input.sessionID,
        agent: input.agent,
        providerID,
        modelID: input.model.id,
        limit,
        setTemperature,
      });
    };
  }
  if (parts.systemPrompt) {
    const systemPrompt = parts.systemPrompt;
    hooks["experimental.chat.system.transform"] = async (input, output) => {
      if (!input.sessionID || reports.isReportModel(input.model as { providerID?: string } | undefined)) return;
      await systemPrompt({
        sessionId: input.sessionID,
        hostHelper: isHostHelperPrompt(output.system),
        add: (text) => void output.system.push(text),
      });
    };
  }
  if (parts.requestMessages) {
    const requestMessages = parts.requestMessages;
    hooks["experimental.chat.messages.transform"] = async (_input, output) => {
      const messages = output.messages as unknown as HostMessage[];
      const sessionId = messages[0]?.info.sessionID;
      if (!sessionId || helpers.isHelperSession(sessionId) || reports.isReportRequest(messages)) return;
      await requestMessages(sessionId, messages);
    };
  }
  if (parts.compacting) {
    const compacting = parts.compacting;
    hooks["experimental.session.compacting"] = async (input, output) => {
      await compacting(input.sessionID, (text) => void output.context.push(text));
    };
  }
  const commands = parts.commands;
  if (commands) {
    hooks["command.execute.before"] = async (input, output) => {
      const handler = commands[input.command];
      if (!handler) return;
      const reply: CommandReply = await handler({ sessionId: input.sessionID, arguments: input.arguments ?? "" });
      await reports.answer(reply, {
        sessionId: input.sessionID,
        command: input.command,
        arguments: input.arguments ?? "",
        parts: output.parts as unknown as CommandPart[],
      });
    };
  }
  if (parts.config) {
    const config = parts.config;
    hooks.config = async (cfg) => config(cfg as never);
  }
  if (parts.dispose) hooks.dispose = async () => parts.dispose!();
  return hooks;
}

interface ConfinedShell {
  /** The sandbox a confined helper's shell runs in (only asked for bash: detection runs a probe once). */
  sandbox(tool: string): Sandbox | undefined;
  /** A confined shell was refused for want of a sandbox: the user hears it once (toast; logged each time). */
  refused(notice: string): void;
}

function confinedShell(context: AdapterInput["context"]): ConfinedShell {
  return {
    sandbox: (tool) => (tool.toLowerCase() === "bash" ? context.sandbox() : undefined),
    refused: (notice) => context.reporter.problem("sandbox:none", notice),
  };
}

/**
 * A helper confined to a worktree under the pack's data dir writes outside the project as OpenCode sees it, so the
 * host asks for external_directory; nobody is there to answer for a hidden child. Granted once when every path asked
 * for lies inside that helper's own worktree; anything else is left to the host's normal flow.
 */
async function answerConfinedPermission(
  raw: RawEvent,
  helpers: HelperRunner,
  host: FeatureContext["host"],
): Promise<void> {
  const props = raw.properties as
    | {
        id?: unknown;
        sessionID?: unknown;
        permission?: unknown;
        patterns?: unknown;
        metadata?: { filepath?: unknown; parentDir?: unknown };
      }
    | undefined;
  if (
    !props ||
    typeof props.id !== "string" ||
    typeof props.sessionID !== "string" ||
    props.permission !== "external_directory"
  )
    return;
  const confinement = helpers.confinementOf(props.sessionID);
  if (!confinement) return;
  const patterns = Array.isArray(props.patterns)
    ? props.patterns.filter((p): p is string => typeof p === "string")
    : [];
  const paths = [
    ...patterns.map((p) => p.replace(/\/?\*+$/, "") || "/"),
    ...[props.metadata?.filepath, props.metadata?.parentDir].filter((p): p is string => typeof p === "string"),
  ];
  const insideWorktree =
    paths.length > 0 &&
    paths.every(
      (p) => isAbsolute(p) && confinePath(p, { dir: confinement.dir, projectDir: confinement.dir }) !== undefined,
    );
  if (insideWorktree) await host.replyPermission(props.sessionID, props.id, "once");
}

/** OpenCode's hidden title and summary helpers run with the session's id; they are told apart by their prompt. */
function isHostHelperPrompt(system: string[]): boolean {
  return system.some(
    (s) => s.includes("You are a title generator") || s.includes("Summarize what was done in this conversation"),
  );
}

let partCounter = 0;
/** Part ids sort by time like OpenCode's own ("prt_" + time-ordered hex + random). */
function partId(): string {
  const stamp = (BigInt(Date.now()) * 0x1000n + BigInt(partCounter++ % 0x1000)).toString(16).padStart(12, "0");
  const random = Array.from(
    { length: 14 },
    () => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 62)],
  ).join("");
  return `prt_${stamp}${random}`;
}
