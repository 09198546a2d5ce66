// The pack's HostApi over OpenCode 1.x's in-process SDK client.
import type { PluginInput } from "@opencode-ai/plugin";
import type { HostApi } from "../core/host.ts";
import type { CallTokens, HostMessage } from "../core/host-types.ts";
import { isReportTurn } from "./commands.ts";

type Client = PluginInput["client"];

// OpenCode's global options that take a value: their value is not the subcommand.
const VALUE_OPTIONS = new Set(["--log-level"]);

/**
 * True when this OpenCode process is `opencode run` (one prompt, exits at the first idle). The plugin runs inside the
 * OpenCode process, whose argv is [bun, entry, subcommand, …] (checked in the real host: `run --command x` gives
 * ["bun", "/$bunfs/root/src/index.js", "run", "--command", "x"]; `serve` and the TUI give another first word).
 */
export function runsOneShot(argv: readonly string[] = process.argv): boolean {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("-")) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    return arg === "run";
  }
  return false;
}

export function openCodeHost(client: Client, directory: string, oneShot = runsOneShot()): HostApi {
  return {
    directory,
    oneShot,
    async createChild(parentId, title) {
      const created = await client.session.create({ body: { parentID: parentId, title } });
      if (!created.data) throw new Error(`session.create failed: ${JSON.stringify(created.error)}`);
      return created.data.id;
    },
    async sendPrompt(sessionId, body) {
      const sent = await client.session.promptAsync({
        path: { id: sessionId },
        body: {
          parts: [{ type: "text", text: body.text }],
          ...(body.agent ? { agent: body.agent } : {}),
          ...(body.model ? { model: body.model } : {}),
          ...(body.tools ? { tools: body.tools } : {}),
        },
      });
      if (sent.error) throw new Error(`promptAsync failed: ${JSON.stringify(sent.error)}`);
    },
    async showInSession(sessionId, text, options = {}) {
      const stored = await client.session.prompt({
        path: { id: sessionId },
        body: {
          noReply: true,
          parts: [
            {
              type: "text",
              text,
              ...(options.hidden ? { ignored: true } : {}),
              ...(options.synthetic ? { synthetic: true } : {}),
            },
          ],
          ...(options.agent ? { agent: options.agent } : {}),
          ...(options.model ? { model: options.model } : {}),
        },
      });
      return !stored.error;
    },
    async messages(sessionId) {
      const found = await client.session.messages({ path: { id: sessionId } });
      if (!found.data) throw new Error(`session.messages failed: ${JSON.stringify(found.error)}`);
      // The pack's report turns are not part of the conversation for any feature (writer, judge, transcript).
      return (found.data as unknown as HostMessage[]).filter((m) => !isReportTurn(m)).map(withCallTokens);
    },
    async listSessions() {
      const found = await client.session.list();
      if (!found.data) throw new Error(`session.list failed: ${JSON.stringify(found.error)}`);
      return found.data.map((s) => ({ id: s.id, parentId: s.parentID, updatedAt: s.time.updated }));
    },
    async abort(sessionId) {
      await client.session.abort({ path: { id: sessionId } });
    },
    async replyPermission(sessionId, permissionId, reply) {
      const answered = await client.postSessionIdPermissionsPermissionId({
        path: { id: sessionId, permissionID: permissionId },
        body: { response: reply },
      });
      if (answered.error) throw new Error(`permission reply failed: ${JSON.stringify(answered.error)}`);
    },
  };
}

/** OpenCode's token shape of one call, `{ total, input, output, reasoning, cache: { read, write } }`, as CallTokens. */
export function parseCallTokens(raw: unknown): CallTokens | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const t = raw as { input?: number; output?: number; reasoning?: number; cache?: { read?: number; write?: number } };
  const cache = { read: t.cache?.read ?? 0, write: t.cache?.write ?? 0 };
  return {
    input: t.input ?? 0,
    output: t.output ?? 0,
    reasoning: t.reasoning ?? 0,
    cacheRead: cache.read,
    cacheWrite: cache.write,
  };
}

/** An assistant message with its tokens parsed (the raw `tokens` stays for readers of OpenCode's own shape). */
function withCallTokens(message: HostMessage): HostMessage {
  if (message.info.role !== "assistant") return message;
  const callTokens = parseCallTokens(message.info.tokens);
  return callTokens ? { ...message, info: { ...message.info, callTokens } } : message;
}

export async function lookupParent(client: Client, id: string): Promise<string | undefined> {
  const found = await client.session.get({ path: { id } });
  return found.data ? (found.data.parentID ?? "") : undefined;
}

export async function isBusy(client: Client, sessionId: string): Promise<boolean> {
  const found = await client.session.status();
  const status = (found.data as Record<string, { type?: string }> | undefined)?.[sessionId];
  return status !== undefined && status.type !== "idle";
}
