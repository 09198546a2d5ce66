// `continuum run --goal "<condition>" ["<prompt>"]`: a goal loop without the TUI. `opencode run` exits at the
// first idle and cannot host a loop, so this starts `opencode serve` on a free port, drives one session with the
// SDK, streams progress, and exits when the goal ends, with an exit code per outcome.
import { resolve } from "node:path";
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk";
import type { Subcommand } from "./main.ts";
import { findOpencode, startServe, type Served } from "./opencode-driver.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { openStore } from "../core/storage/store.ts";
import type { Database } from "../core/storage/database.ts";
import { formatTokens } from "../goal/format.ts";
import { checkCondition, isFinal, newGoal, type GoalStatus } from "../goal/state-machine.ts";
import { openGoalStore, type GoalStore } from "../goal/store.ts";

const USAGE = 'continuum run --goal "<condition>" ["<prompt>"] [--dir DIR] [--model provider/model] [--agent NAME] [--timeout-min N]';

/** One exit code per way a goal run can end; documented in the README. */
export const EXIT_CODES = {
  met: 0,
  error: 1,
  usage: 2,
  impossible: 3,
  stuck: 4,
  unverified: 5,
  capped: 6,
  interrupted: 7,
  timeout: 8,
} as const;

export interface RunArgs {
  condition: string;
  prompt: string;
  dir: string;
  model?: { providerID: string; modelID: string };
  agent?: string;
  timeoutMs: number;
}

export function parseRunArgs(args: string[], cwd = process.cwd()): { ok: true; value: RunArgs } | { ok: false; message: string } {
  const words: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!["goal", "dir", "model", "agent", "timeout-min"].includes(key)) return { ok: false, message: `unknown option --${key}` };
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return { ok: false, message: `--${key} needs a value` };
    flags.set(key, value);
  }
  if (!flags.has("goal")) return { ok: false, message: "--goal is required" };
  if (words.length > 1) return { ok: false, message: "give the prompt as one quoted argument" };
  const checked = checkCondition(flags.get("goal")!);
  if (!checked.ok) return { ok: false, message: checked.message };
  const timeoutMin = Number(flags.get("timeout-min") ?? "60");
  if (!Number.isFinite(timeoutMin) || timeoutMin <= 0) return { ok: false, message: "--timeout-min must be a positive number" };
  const model = flags.get("model");
  const slash = model?.indexOf("/") ?? -1;
  if (model !== undefined && slash <= 0) return { ok: false, message: '--model must be "provider/model"' };
  return {
    ok: true,
    value: {
      condition: checked.condition,
      prompt: words[0]?.trim() || checked.condition,
      dir: resolve(cwd, flags.get("dir") ?? "."),
      model: model ? { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) } : undefined,
      agent: flags.get("agent"),
      timeoutMs: timeoutMin * 60000,
    },
  };
}

/** Exit code for the status a goal ended in (paused and cleared mean someone interrupted the run). */
export function exitCodeFor(status: GoalStatus): number {
  switch (status) {
    case "met":
    case "impossible":
    case "stuck":
    case "unverified":
    case "capped":
      return EXIT_CODES[status];
    default:
      return EXIT_CODES.interrupted;
  }
}

export const goalRunCommand: Subcommand = {
  summary: "Run a prompt under a goal headlessly (opencode serve + SDK); exit 0 met, 3 impossible, 4 stuck, 5 unverified, 6 capped, 7 interrupted, 8 timeout.",
  usage: USAGE,
  async run(args) {
    const parsed = parseRunArgs(args);
    if (!parsed.ok) {
      console.error(`continuum run: ${parsed.message}\nusage: ${USAGE}`);
      return EXIT_CODES.usage;
    }
    return runGoal(parsed.value);
  },
};

async function runGoal(args: RunArgs): Promise<number> {
  const server = await startServeFor(args.dir);
  let db: Database | undefined;
  const stopOnSignal = () => void server.stop().then(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  try {
    const client = createOpencodeClient({ baseUrl: server.url, directory: args.dir });
    const opened = await openStore(packPaths(dataRoot()).database);
    db = opened.db;
    const goals = openGoalStore(db);
    const created = await client.session.create({ body: { title: `goal: ${args.condition.slice(0, 60)}` } });
    if (!created.data) throw new Error(`could not create a session: ${JSON.stringify(created.error)}`);
    const sessionId = created.data.id;
    const project = await client.project.current().catch(() => undefined);
    const identity = resolveProjectIdentity(args.dir, (project?.data as { id?: string } | undefined)?.id);
    const goal = goals.create(sessionId, identity.id, newGoal(args.condition));
    say(`goal set in session ${sessionId}: ${args.condition}`);
    const events = await streamProgress(client, sessionId);
    // Sent as a synthetic part: the pack knows it is the driver, not a person interrupting the goal.
    const sent = await client.session.promptAsync({
      path: { id: sessionId },
      body: { parts: [{ type: "text", text: args.prompt, synthetic: true }], ...(args.model ? { model: args.model } : {}), ...(args.agent ? { agent: args.agent } : {}) },
    });
    if (sent.error) throw new Error(`could not send the prompt: ${JSON.stringify(sent.error)}`);
    const status = await waitForEnd(goals, goal.id, sessionId, args.timeoutMs, server);
    events.stop();
    if (status === "timeout") {
      await client.session.abort({ path: { id: sessionId } }).catch(() => undefined);
      say(`timed out after ${args.timeoutMs / 60000} min; the goal did not end`);
      return EXIT_CODES.timeout;
    }
    const final = goals.current(sessionId)!;
    const verdicts = goals.verdicts(final.id);
    const spent = verdicts.reduce((sum, v) => sum + v.tokens.total, 0);
    say(`goal ${final.state.status}: ${final.state.note} (${final.state.continuations} continuations, ${verdicts.length} judge rounds, ${spent.toLocaleString("en-US")} judge tokens)`);
    return exitCodeFor(final.state.status);
  } catch (error) {
    console.error(`continuum run: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_CODES.error;
  } finally {
    process.off("SIGINT", stopOnSignal);
    db?.close();
    await server.stop();
  }
}

function say(line: string) {
  console.log(`[continuum] ${line}`);
}

/** Polls the goal row (written by the plugin inside opencode) until it ends, printing each new verdict. */
async function waitForEnd(goals: GoalStore, goalId: number, sessionId: string, timeoutMs: number, server: Served): Promise<GoalStatus | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  let printed = 0;
  for (;;) {
    const goal = goals.current(sessionId);
    const verdicts = goals.verdicts(goalId);
    for (const verdict of verdicts.slice(printed)) {
      const items = verdict.missing.length ? `; missing: ${verdict.missing.join("; ")}` : "";
      say(`judge: ${verdict.outcome}: ${verdict.reason}${items} [${formatTokens(verdict.tokens)}]`);
    }
    printed = verdicts.length;
    if (goal && goal.id !== goalId) return "cleared";
    const status = goal?.state.status;
    if (status && (isFinal(status) || status === "paused")) return status;
    if (server.exited()) throw new Error(`opencode serve exited unexpectedly:\n${server.output().slice(-2000)}`);
    if (Date.now() > deadline) return "timeout";
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Prints finished text and tool parts of the session as they complete. */
async function streamProgress(client: OpencodeClient, sessionId: string): Promise<{ stop(): void }> {
  const abort = new AbortController();
  const seen = new Set<string>();
  const subscription = await client.event.subscribe({ signal: abort.signal } as never);
  void (async () => {
    try {
      for await (const event of subscription.stream as AsyncIterable<{ type: string; properties: Record<string, any> }>) {
        if (event.type !== "message.part.updated") continue;
        const part = event.properties.part;
        if (!part || part.sessionID !== sessionId || seen.has(part.id)) continue;
        if (part.type === "text" && part.time?.end && !part.synthetic && !part.ignored && part.text?.trim()) {
          seen.add(part.id);
          console.log(`${part.text.trim()}\n`);
        }
        if (part.type === "tool" && (part.state?.status === "completed" || part.state?.status === "error")) {
          seen.add(part.id);
          say(`tool ${part.tool}: ${part.state.status}${part.state.title ? ` (${part.state.title})` : ""}`);
        }
      }
    } catch {
      /* the stream ends with the server */
    }
  })();
  return { stop: () => abort.abort() };
}

async function startServeFor(dir: string): Promise<Served> {
  return startServe({ binary: findOpencode(), cwd: dir, env: process.env, outputLimit: 20000 });
}
