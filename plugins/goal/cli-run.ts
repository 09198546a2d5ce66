// `continuum run --goal "<condition>" ["<prompt>"]`: a goal loop without the TUI. `opencode run` exits at the
// first idle and cannot host a loop, so this starts `opencode serve` on a free port, drives one session with the
// SDK, streams progress, and exits when the goal ends, with an exit code per outcome.
import { InvalidArgumentError, type Command } from "commander";
import { act, existingDir, positiveNumber, usageError } from "../cli/kit.ts";
import {
  errorMessage,
  findOpencode,
  startServe,
  stopOnSignals,
  type BusEvent,
  type Served,
} from "../cli/opencode-driver.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { openStore } from "../core/storage/store.ts";
import type { Database } from "../core/storage/database.ts";
import { formatTokens } from "./format.ts";
import { checkCondition, isFinal, isRunning, newGoal, type GoalStatus } from "./state-machine.ts";
import { openGoalStore, type GoalStore } from "./store.ts";
import { parseModelRef, type ModelRef } from "../core/host-types.ts";

export { errorMessage };

/** One exit code per way a goal run can end; documented in docs/goal.md. */
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

function modelRef(value: string): ModelRef {
  const ref = parseModelRef(value);
  if (!ref) throw new InvalidArgumentError(`expected "provider/model", got "${value}"`);
  return ref;
}

export function register(program: Command): void {
  program
    .command("run")
    .description("run a prompt under a goal headlessly (opencode serve + SDK) until the goal ends")
    .argument("[prompt]", "what to ask the agent (default: the condition itself)")
    .requiredOption("--goal <condition>", "the condition the independent judge checks when the agent stops")
    .option("--dir <dir>", "the project directory to work in (default: the current directory)")
    .option("--model <provider/model>", "the model for the agent (default: the project's configured model)", modelRef)
    .option("--agent <name>", "the agent to run (default: OpenCode's default agent)")
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 60)
    .addHelpText(
      "after",
      "\nExit codes: 0 met, 1 error, 2 usage, 3 impossible, 4 stuck, 5 unverified, 6 capped, 7 interrupted (goal paused or cleared), 8 timeout, 130 Ctrl-C.\nThe opencode binary: $OPENCODE_BIN, else `opencode` on PATH, else the one in the pack's node_modules (a contributor install).",
    )
    .action(
      act(
        async (
          prompt: string | undefined,
          o: { goal: string; dir?: string; model?: RunArgs["model"]; agent?: string; timeoutMin: number },
        ) => {
          const checked = checkCondition(o.goal);
          if (!checked.ok) throw usageError(`--goal: ${checked.message}`);
          const dir = existingDir("--dir", o.dir);
          return runGoal({
            condition: checked.condition,
            prompt: prompt?.trim() || checked.condition,
            dir,
            model: o.model,
            agent: o.agent,
            timeoutMs: o.timeoutMin * 60000,
          });
        },
      ),
    );
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

async function runGoal(args: RunArgs): Promise<number> {
  const server = await startServeFor(args.dir);
  let db: Database | undefined;
  let goals: GoalStore | undefined;
  let sessionId: string | undefined;
  // A stop signal ends OpenCode first, then marks the goal interrupted (paused), never left active with no driver.
  const unwatch = stopOnSignals(async () => {
    await server.stop();
    const goal = sessionId ? goals?.current(sessionId) : undefined;
    if (goal && isRunning(goal.state.status))
      goals!.save(goal.id, {
        ...goal.state,
        status: "paused",
        judgeRun: goal.state.judgeRun + 1,
        note: "interrupted: continuum run was stopped by a signal",
      });
    say("stopped by a signal: OpenCode was shut down and the goal paused (interrupted)");
  });
  try {
    const client = server.client;
    const opened = await openStore(packPaths(dataRoot()).database);
    db = opened.db;
    goals = openGoalStore(db);
    const created = await client.session.create({ body: { title: `goal: ${args.condition.slice(0, 60)}` } });
    if (!created.data) throw new Error(`could not create a session: ${JSON.stringify(created.error)}`);
    sessionId = created.data.id;
    const project = await client.project.current().catch(() => undefined);
    const identity = resolveProjectIdentity(args.dir, (project?.data as { id?: string } | undefined)?.id);
    const goal = goals.create(sessionId, identity.id, newGoal(args.condition));
    say(`goal set in session ${sessionId}: ${args.condition}`);
    // Sent as a synthetic part: the pack knows it is the driver, not a person interrupting the goal.
    const sent = await client.session.promptAsync({
      path: { id: sessionId },
      body: {
        parts: [{ type: "text", text: args.prompt, synthetic: true }],
        ...(args.model ? { model: args.model } : {}),
        ...(args.agent ? { agent: args.agent } : {}),
      },
    });
    if (sent.error) throw new Error(`could not send the prompt: ${JSON.stringify(sent.error)}`);
    const status = await waitForEnd(goals, goal.id, sessionId, args.timeoutMs, server);
    if (status === "timeout") {
      await client.session.abort({ path: { id: sessionId } }).catch(() => undefined);
      say(`timed out after ${args.timeoutMs / 60000} min; the goal did not end`);
      return EXIT_CODES.timeout;
    }
    const final = goals.current(sessionId)!;
    const verdicts = goals.verdicts(final.id);
    const spent = verdicts.reduce((sum, v) => sum + v.tokens.total, 0);
    say(
      `goal ${final.state.status}: ${final.state.note} (${final.state.continuations} continuations, ${verdicts.length} judge rounds, ${spent.toLocaleString("en-US")} judge tokens)`,
    );
    return exitCodeFor(final.state.status);
  } catch (error) {
    console.error(`continuum run: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_CODES.error;
  } finally {
    unwatch();
    db?.close();
    await server.stop();
  }
}

function say(line: string) {
  console.log(`[continuum] ${line}`);
}

/**
 * Polls the goal row (written by the plugin inside opencode) until it ends, printing each new verdict and the
 * session's progress: finished text, tool results, and the model provider's errors verbatim.
 */
async function waitForEnd(
  goals: GoalStore,
  goalId: number,
  sessionId: string,
  timeoutMs: number,
  server: Served,
): Promise<GoalStatus | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  let printed = 0;
  const progress = progressPrinter(sessionId);
  let seenEvents = 0;
  for (;;) {
    for (const event of server.events.slice(seenEvents)) progress(event);
    seenEvents = server.events.length;
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

/** Prints finished text and tool parts of the session as they complete, and every error of the turn. */
export function progressPrinter(
  sessionId: string,
  out: (line: string) => void = console.log,
): (event: BusEvent) => void {
  const seen = new Set<string>();
  return (event) => {
    const props = event.properties ?? {};
    if (event.type === "session.error" && (!props.sessionID || props.sessionID === sessionId)) {
      out(`[continuum] error from OpenCode or the model provider: ${errorMessage(props.error)}`);
      return;
    }
    if (event.type === "session.status" && props.sessionID === sessionId && props.status?.type === "retry") {
      out(
        `[continuum] the model provider failed (attempt ${props.status.attempt}), OpenCode retries: ${props.status.message}`,
      );
      return;
    }
    if (event.type !== "message.part.updated") return;
    const part = props.part;
    if (!part || part.sessionID !== sessionId || seen.has(part.id)) return;
    if (part.type === "text" && part.time?.end && !part.synthetic && !part.ignored && part.text?.trim()) {
      seen.add(part.id);
      out(`${part.text.trim()}\n`);
    }
    if (part.type === "tool" && (part.state?.status === "completed" || part.state?.status === "error")) {
      seen.add(part.id);
      out(
        `[continuum] tool ${part.tool}: ${part.state.status}${part.state.title ? ` (${part.state.title})` : ""}${part.state.status === "error" && part.state.error ? `: ${part.state.error}` : ""}`,
      );
    }
  };
}

async function startServeFor(dir: string): Promise<Served> {
  return startServe({ binary: findOpencode(), cwd: dir, env: process.env, outputLimit: 20000 });
}
