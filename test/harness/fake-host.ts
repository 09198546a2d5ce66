// A small fake of OpenCode's plugin host for adapter tests and benches: the real pack entry is booted with a
// recording SDK client, and tests play the host's part (events, hook calls, tool calls). Not a model: what a
// "model" does in a child session is scripted by the test through onPrompt.
import type { Hooks, PluginInput } from "@opencode-ai/plugin";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import { createReporter } from "../../plugins/core/report.ts";
import { bootPack } from "../../plugins/opencode/boot.ts";

export interface FakeCall {
  method: string;
  sessionId?: string;
  body?: Record<string, any>;
}

export interface FakeMessage {
  info: Record<string, any>;
  parts: Record<string, any>[];
}

export interface FakeHost {
  hooks: Hooks;
  /** The pack's own context (session layer, helper runner, ledger) for assertions. */
  context: FeatureContext;
  calls: FakeCall[];
  toasts: string[];
  /** Texts the local report model answered with (what the user saw for each pack command). */
  reports: string[];
  logs: { level: string; message: string }[];
  messages: Map<string, FakeMessage[]>;
  parents: Map<string, string>;
  busy: Set<string>;
  dataDir: string;
  projectDir: string;
  /** Publishes one raw bus event to the pack. */
  emit(type: string, properties: Record<string, unknown>): Promise<void>;
  /** A finished assistant call in a session (message.updated), recorded in its messages too. */
  finishCall(
    sessionId: string,
    tokens: { input: number; output: number },
    extra?: Record<string, unknown>,
  ): Promise<string>;
  idle(sessionId: string): Promise<void>;
  createSession(parentId?: string): Promise<string>;
  /** Calls a pack tool the way OpenCode does (raw arguments, a tool context). */
  callTool(name: string, args: unknown, sessionId: string): Promise<string>;
  /** Runs chat.message for a typed user message; returns the parts as stored. */
  userMessage(sessionId: string, text: string, extra?: { agent?: string }): Promise<Record<string, any>[]>;
  command(sessionId: string, command: string, args?: string): Promise<Record<string, any>[]>;
  dispose(): Promise<void>;
}

export interface FakeHostOptions {
  /** What happens when the pack sends a prompt (promptAsync) to a session. */
  onPrompt?(host: FakeHost, sessionId: string, body: Record<string, any>): Promise<void> | void;
  continuum?: Record<string, unknown>;
  /** OpenCode's `model` setting (default "fake/fake-model"; null for none). */
  model?: string | null;
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_${(++counter).toString().padStart(8, "0")}`;

export async function bootFakeHost(options: FakeHostOptions = {}): Promise<FakeHost> {
  const root = mkdtempSync(join(tmpdir(), "continuum-fake-"));
  const dataDir = join(root, "data");
  const projectDir = join(root, "project");
  mkdirSync(join(projectDir, ".opencode"), { recursive: true });
  if (options.continuum)
    writeFileSync(join(projectDir, ".opencode", "continuum.jsonc"), JSON.stringify(options.continuum));
  const previous = { data: process.env.XDG_DATA_HOME, config: process.env.XDG_CONFIG_HOME };
  process.env.XDG_DATA_HOME = dataDir;
  process.env.XDG_CONFIG_HOME = join(root, "config");

  const host = {
    calls: [] as FakeCall[],
    toasts: [] as string[],
    reports: [] as string[],
    logs: [] as { level: string; message: string }[],
    messages: new Map<string, FakeMessage[]>(),
    parents: new Map<string, string>(),
    busy: new Set<string>(),
    dataDir,
    projectDir,
  } as FakeHost;
  const ok = (data: unknown = {}) => ({ data, error: undefined });
  const messagesOf = (id: string) => host.messages.get(id) ?? (host.messages.set(id, []), host.messages.get(id)!);

  const client = {
    app: { log: async ({ body }: any) => (host.logs.push({ level: body.level, message: body.message }), ok(true)) },
    tui: { showToast: async ({ body }: any) => (host.toasts.push(body.message), ok(true)) },
    session: {
      status: async () => ok(Object.fromEntries([...host.busy].map((id) => [id, { type: "busy" }]))),
      get: async ({ path }: any) => ok({ id: path.id, parentID: host.parents.get(path.id) }),
      create: async ({ body }: any) => {
        const id = await host.createSession(body?.parentID);
        host.calls.push({ method: "create", sessionId: id, body });
        return ok({ id, parentID: body?.parentID });
      },
      promptAsync: async ({ path, body }: any) => {
        host.calls.push({ method: "promptAsync", sessionId: path.id, body });
        messagesOf(path.id).push({ info: { id: nextId("msg"), sessionID: path.id, role: "user" }, parts: body.parts });
        host.busy.add(path.id);
        void Promise.resolve().then(() => options.onPrompt?.(host, path.id, body));
        return ok();
      },
      prompt: async ({ path, body }: any) => {
        host.calls.push({ method: "prompt", sessionId: path.id, body });
        messagesOf(path.id).push({ info: { id: nextId("msg"), sessionID: path.id, role: "user" }, parts: body.parts });
        return ok({ info: {}, parts: [] });
      },
      messages: async ({ path }: any) => ok(messagesOf(path.id)),
      abort: async ({ path }: any) => {
        host.calls.push({ method: "abort", sessionId: path.id });
        if (host.busy.has(path.id)) {
          await host.emit("session.error", {
            sessionID: path.id,
            error: { name: "MessageAbortedError", data: { message: "aborted" } },
          });
          await host.idle(path.id);
        }
        return ok(true);
      },
    },
  };

  (client as Record<string, unknown>).postSessionIdPermissionsPermissionId = async ({ path, body }: any) => {
    host.calls.push({
      method: "permission.reply",
      sessionId: path.id,
      body: { permissionID: path.permissionID, ...body },
    });
    return ok(true);
  };

  const input = {
    client,
    project: { id: "fake-project" },
    directory: projectDir,
    worktree: projectDir,
    serverUrl: new URL("http://127.0.0.1:1"),
    $: undefined,
  } as unknown as PluginInput;
  const reporter = createReporter({
    log: (entry) => void host.logs.push({ level: entry.level, message: entry.message }),
    toast: (toast) => void host.toasts.push(toast.message),
  });
  const booted = await bootPack(input, reporter);
  if (!booted.context) throw new Error(`the pack did not start: ${JSON.stringify(host.logs)}`);
  host.hooks = booted.hooks;
  host.context = booted.context;
  const cfg: Record<string, any> = {
    agent: {},
    command: {},
    ...(options.model === null ? {} : { model: options.model ?? "fake/fake-model" }),
  };
  await host.hooks.config?.(cfg as never);

  host.emit = async (type, properties) => {
    await host.hooks.event?.({ event: { type, properties } as never });
  };
  host.createSession = async (parentId) => {
    const id = nextId("ses");
    if (parentId) host.parents.set(id, parentId);
    await host.emit("session.created", { info: { id, parentID: parentId } });
    return id;
  };
  host.finishCall = async (sessionId, tokens, extra = {}) => {
    const id = nextId("msg");
    const info = {
      id,
      sessionID: sessionId,
      role: "assistant",
      agent: "build",
      finish: "stop",
      time: { created: Date.now(), completed: Date.now() },
      tokens: { ...tokens, reasoning: 0, cache: { read: 0, write: 0 } },
      cost: 0,
      ...extra,
    };
    messagesOf(sessionId).push({ info, parts: [] });
    host.busy.add(sessionId);
    await host.emit("session.status", { sessionID: sessionId, status: { type: "busy" } });
    await host.emit("message.updated", { info });
    return id;
  };
  host.idle = async (sessionId) => {
    host.busy.delete(sessionId);
    await host.emit("session.status", { sessionID: sessionId, status: { type: "idle" } });
    await host.emit("session.idle", { sessionID: sessionId });
  };
  host.callTool = async (name, args, sessionId) => {
    const tool = host.hooks.tool?.[name];
    if (!tool) throw new Error(`no tool ${name}`);
    const result = await tool.execute(
      args as never,
      { sessionID: sessionId, messageID: nextId("msg"), agent: "build", abort: new AbortController().signal } as never,
    );
    return typeof result === "string" ? result : (result as { output: string }).output;
  };
  host.userMessage = async (sessionId, text, extra = {}) => {
    const messageID = nextId("msg");
    const parts: Record<string, any>[] = [{ id: nextId("prt"), type: "text", text }];
    const message: Record<string, any> = { id: messageID };
    await host.hooks["chat.message"]?.(
      { sessionID: sessionId, messageID, agent: extra.agent ?? "build" } as never,
      { message, parts } as never,
    );
    messagesOf(sessionId).push({
      info: { id: messageID, sessionID: sessionId, role: "user", ...(message.model ? { model: message.model } : {}) },
      parts,
    });
    // A feature answered the turn itself on the local report model: play that request, as OpenCode would.
    if (message.model?.providerID === "continuum") {
      const headers: Record<string, string> = {};
      await host.hooks["chat.headers"]?.(
        { sessionID: sessionId, model: { providerID: "continuum" }, message: { id: messageID } } as never,
        { headers } as never,
      );
      const response: Response = await cfg.provider.continuum.options.fetch(
        "http://continuum.invalid/v1/chat/completions",
        { headers },
      );
      const said = (await response.text())
        .split("\n")
        .filter((line) => line.startsWith("data: {"))
        .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "")
        .join("");
      host.reports.push(said);
    }
    return parts;
  };
  /** Plays OpenCode's command path: the pack's hook, the user message (chat.message), and a report turn if the pack routed it. */
  host.command = async (sessionId, command, args = "") => {
    const parts: Record<string, any>[] = [{ type: "text", text: `/${command} ${args}` }];
    await host.hooks["command.execute.before"]?.(
      { command, sessionID: sessionId, arguments: args } as never,
      { parts } as never,
    );
    const messageID = nextId("msg");
    const info: Record<string, any> = {
      id: messageID,
      sessionID: sessionId,
      role: "user",
      model: { providerID: "fake", modelID: "fake-model" },
    };
    await host.hooks["chat.message"]?.(
      {
        sessionID: sessionId,
        messageID,
        agent: "build",
        model: { providerID: "fake", modelID: "fake-model" },
      } as never,
      { message: info, parts } as never,
    );
    messagesOf(sessionId).push({ info, parts });
    // Not routed to the local report model: an ordinary turn the test plays.
    if (info.model.providerID !== "continuum") return parts;
    const headers: Record<string, string> = {};
    await host.hooks["chat.headers"]?.(
      { sessionID: sessionId, model: { providerID: "continuum" } } as never,
      { headers } as never,
    );
    const response: Response = await cfg.provider.continuum.options.fetch(
      "http://continuum.invalid/v1/chat/completions",
      { headers },
    );
    const text = (await response.text())
      .split("\n")
      .filter((line) => line.startsWith("data: {"))
      .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? "")
      .join("");
    const reply = {
      info: {
        id: nextId("msg"),
        sessionID: sessionId,
        role: "assistant",
        providerID: "continuum",
        finish: "stop",
        tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } },
      },
      parts: [{ type: "text", text }],
    };
    messagesOf(sessionId).push(reply);
    host.reports.push(text);
    await host.emit("message.updated", { info: reply.info });
    await host.idle(sessionId);
    return parts;
  };
  host.dispose = async () => {
    await host.hooks.dispose?.();
    process.env.XDG_DATA_HOME = previous.data;
    process.env.XDG_CONFIG_HOME = previous.config;
    if (previous.data === undefined) delete process.env.XDG_DATA_HOME;
    if (previous.config === undefined) delete process.env.XDG_CONFIG_HOME;
    rmSync(root, { recursive: true, force: true });
  };
  return host;
}

/** Boots the fake host for one test and always disposes it; the pack's timers are unref'd, so the test keeps itself alive. */
export async function withFakeHost(options: FakeHostOptions, run: (host: FakeHost) => Promise<void>): Promise<void> {
  const host = await bootFakeHost(options);
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await run(host);
  } finally {
    clearInterval(keepAlive);
    await host.dispose();
  }
}
