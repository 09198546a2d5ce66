// Host adapter of workflow scripts: the `workflow` tool for the model, `/workflow` for the user, the
// workflow_result channel, progress toasts, and the notice a background run leaves in its session when it ends.
// The engine (engine.ts) does the work; this file only wires it to the pack's context.
import { join } from "node:path";
import { z } from "zod";
import { ToolInputError } from "../core/tool.ts";
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { scriptWriteRefusal } from "../core/edit-permission.ts";
import { errorText } from "../core/report.ts";
import { defineTool, type ToolCallContext } from "../core/tool.ts";
import { FEATURE, helperAgentPort, RESULT_TOOL, workflowResultChannel } from "./agent-port.ts";
import { worktreeCheckPort } from "./check-call.ts";
import { WorkflowEngine, type ProgressKind } from "./engine.ts";
import { parseArgsText, progressLine, runList, runSummary, workflowList } from "./format.ts";
import { RunStore, type RunRecord } from "./journal.ts";
import { createLoader } from "./loader.ts";
import { loadQuickJS } from "./sandbox.ts";

/** Nobody outside a run may record a workflow result; a run's child session gets the tool back per prompt. */
export const NO_AGENT = "continuum-no-agent";

export const workflowFeature: FeatureModule = {
  name: "workflow",
  needsDatabase: false,
  provides: ["workflow"],
  uses: ["compose"],
  assets: { commands: ["workflow"] },
  internalTools: [{ tool: RESULT_TOOL, agent: NO_AGENT }],
  create(context) {
    return createWorkflow(context);
  },
};

export default workflowFeature;

export function runsDir(context: Pick<FeatureContext, "projectPaths">): string {
  return join(context.projectPaths.root, "workflows");
}

const TOAST_EVERY_MS = 3000;
const WAIT_DEFAULT_MS = 600_000;
const HOLD_MAX_MS = 60_000;
const WARM_AFTER_MS = 2_000;

function createWorkflow(context: FeatureContext): FeatureParts {
  const { config, reporter, host } = context;
  const log = reporter.child(FEATURE);
  const channel = workflowResultChannel(context);
  const loader = createLoader(host.directory);
  const lastToast = new Map<string, number>();
  /** Runs whose end is announced in their session (background and /workflow runs). */
  const announce = new Set<string>();

  const onProgress = (run: RunRecord, kind: ProgressKind) => {
    const now = Date.now();
    if (kind === "agent" && now - (lastToast.get(run.id) ?? 0) < TOAST_EVERY_MS) return;
    lastToast.set(run.id, now);
    if (kind === "finished") {
      lastToast.delete(run.id);
      const variant = run.status === "done" ? "success" : run.status === "cancelled" ? "warning" : "error";
      reporter.notify(`Workflow ${run.name} ${run.status}${run.error ? `: ${run.error.slice(0, 200)}` : ""} (${progressLine(run)})`, variant);
      if (announce.delete(run.id) && run.parentSessionId) announceEnd(run);
      return;
    }
    reporter.notify(kind === "started" ? `Workflow ${run.name} started (run ${run.id})` : `Workflow ${run.name}: ${progressLine(run)}`, "info");
  };

  // A message stored while the session's turn runs makes OpenCode take one more model step for it: the notice waits
  // for the turn to end, and for the report of the /workflow command that started the run to settle (the report
  // channel says when; HOLD_MAX_MS is only a safety net should that never come).
  const queued = new Map<string, RunRecord[]>();
  /** Sessions whose /workflow report has not settled yet, and since when. */
  const held = new Map<string, { since: number }>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const busy = (sessionId: string) => context.sessions.session(sessionId).busy;
  const flush = (sessionId: string) => {
    const runs = queued.get(sessionId) ?? [];
    queued.delete(sessionId);
    for (const run of runs) void postNotice(run);
  };
  const stillHeld = (sessionId: string) => {
    const hold = held.get(sessionId);
    if (hold && Date.now() - hold.since > HOLD_MAX_MS) held.delete(sessionId);
    return held.has(sessionId);
  };
  const watch = () => {
    timer ??= setInterval(() => {
      for (const id of [...held.keys()]) stillHeld(id);
      for (const id of [...queued.keys()]) if (!stillHeld(id) && !busy(id)) flush(id);
      if (queued.size === 0 && held.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    }, 100);
    (timer as { unref?: () => void }).unref?.();
  };
  const hold = (sessionId: string) => {
    held.set(sessionId, { since: Date.now() });
    watch();
  };
  const unhold = (sessionId: string) => held.delete(sessionId);
  const announceEnd = (run: RunRecord) => {
    const sessionId = run.parentSessionId!;
    if (!stillHeld(sessionId) && !busy(sessionId)) return void postNotice(run);
    queued.set(sessionId, [...(queued.get(sessionId) ?? []), run]);
    watch();
  };

  const postNotice = async (run: RunRecord) => {
    const text = `[continuum workflow] Run ${run.id} of ${run.name} ended.\n${runSummary(run, false, 10)}`;
    const shown = await host.showInSession(run.parentSessionId!, text, { synthetic: true }).catch(() => false);
    if (!shown) log.log("warn", `could not post the end of run ${run.id} to session ${run.parentSessionId}`);
  };

  // The WebAssembly module compiles once per process (tens of ms): done shortly after start, off the first run's path.
  const warm = setTimeout(() => void loadQuickJS().catch((error) => log.log("warn", `QuickJS could not load: ${errorText(error)}`)), WARM_AFTER_MS);
  (warm as { unref?: () => void }).unref?.();

  const compose = context.services.compose;
  const engine = new WorkflowEngine({
    loader,
    store: new RunStore(runsDir(context)),
    projectDir: host.directory,
    dataDir: context.paths.root,
    // Looked up at each write: the adapter fills it from OpenCode's live config.
    writePolicy: (rel, agent) => scriptWriteRefusal(context.services.permissions?.edit, rel, agent),
    agents: helperAgentPort(context, channel),
    // Compose starts before this feature (it uses compose's service); undefined when compose is off.
    merge: async (changes) => {
      if (!compose) return { ok: false, merged: [], unchanged: [], kept: [], conflict: { reason: "merging needs the compose feature (compose.enabled is false)", files: [] } };
      return (await compose.mergeBack(changes)) as unknown as { ok: boolean } & Record<string, unknown>;
    },
    // check(command): a snapshot worktree of the project, the OS sandbox, a time limit (check-call.ts).
    check: worktreeCheckPort({ worktrees: context.worktrees, sandbox: () => context.sandbox(), projectDir: host.directory }),
    limits: config.workflow,
    onProgress,
    log: (level, message) => log.log(level, message),
  });

  const blocking = async (started: { record: RunRecord; done: Promise<RunRecord>; notice?: string }, abort: AbortSignal | undefined) => {
    const onAbort = () => engine.cancel(started.record.id, "cancelled: the tool call was aborted");
    abort?.addEventListener("abort", onAbort, { once: true });
    try {
      const record = await started.done;
      return [started.notice ? `Note: ${started.notice}.` : "", runSummary(record, false)].filter(Boolean).join("\n");
    } finally {
      abort?.removeEventListener("abort", onAbort);
    }
  };

  const tool = defineTool("workflow", {
    description: "Run a workflow script (JS that orchestrates subagents; list shows them) or manage its runs. run takes name, args, background; wait/cancel/resume take runId.",
    args: {
      action: z.enum(["run", "status", "wait", "cancel", "resume", "list"]),
      name: z.string().min(1).max(500).optional(),
      args: z.unknown().optional(),
      runId: z.string().min(1).max(100).optional(),
      background: z.boolean().optional(),
    },
    maxOutputChars: 24_000,
    check: (a) => {
      if (a.action === "run" && !a.name) return ["run needs name"];
      if (["wait", "cancel", "resume"].includes(a.action) && !a.runId) return [`${a.action} needs runId`];
      return [];
    },
    execute: async (a, ctx: ToolCallContext) => {
      try {
        switch (a.action) {
          case "list":
            return `Workflows:\n${workflowList(loader.list())}\n\nRecent runs:\n${runList(engine.list(), (id) => engine.isActive(id), 10)}`;
          case "status": {
            if (!a.runId) return runList(engine.list(), (id) => engine.isActive(id));
            const run = engine.get(a.runId);
            return run ? runSummary(run, engine.isActive(run.id)) : `No workflow run ${a.runId}.`;
          }
          case "wait": {
            const run = await engine.wait(a.runId!, WAIT_DEFAULT_MS);
            return run ? runSummary(run, engine.isActive(run.id)) : `No workflow run ${a.runId}.`;
          }
          case "cancel":
            return engine.cancel(a.runId!, "cancelled with the workflow tool") ? `Cancelling run ${a.runId}.` : `No running workflow run ${a.runId}.`;
          case "run":
          case "resume": {
            // An agent a workflow started gets no workflow tool; this catches its sub-sessions too (see README).
            const helper = context.helpers.helperAbove(ctx.sessionID);
            if (helper) throw new Error(`Refused: agents started by the pack (here ${helper}) do not start workflows; nested runs would escape the parent run's depth, agent cap and budget, and could hold every helper slot waiting on each other. A script nests workflows with workflow(name, args).`);
            const started =
              a.action === "run"
                ? engine.start({ target: a.name!, args: typeof a.args === "string" ? parseArgsText(a.args) : a.args, parentSessionId: ctx.sessionID, agent: ctx.agent })
                : engine.resume(a.runId!, ctx.sessionID, ctx.agent);
            if (!a.background) return await blocking(started, ctx.abort);
            announce.add(started.record.id);
            return `Started run ${started.record.id} of ${started.record.name} in the background${started.notice ? ` (${started.notice})` : ""}. A notice follows in this session when it ends; workflow status/wait/cancel with runId ${started.record.id}.`;
          }
        }
      } catch (error) {
        throw new ToolInputError(errorText(error));
      }
    },
  });

  const command = async ({ sessionId, arguments: raw }: { sessionId: string; arguments: string }): Promise<CommandReply> => {
    const text = raw.trim();
    const [verb = "", rest = ""] = splitFirst(text);
    const report = (body: string, variant?: "info" | "warning"): CommandReply => ({ kind: "report", text: `[continuum /workflow] ${body}`, variant });
    try {
      if (!verb || verb === "list") return report(`Workflows:\n${workflowList(loader.list())}\n\nRecent runs:\n${runList(engine.list(), (id) => engine.isActive(id), 10)}`);
      if (verb === "status") {
        if (!rest) return report(runList(engine.list(), (id) => engine.isActive(id)));
        const run = engine.get(rest);
        return run ? report(runSummary(run, engine.isActive(run.id))) : report(`No workflow run ${rest}.`, "warning");
      }
      if (verb === "cancel") return engine.cancel(rest, "cancelled with /workflow cancel") ? report(`Cancelling run ${rest}.`) : report(`No running workflow run ${rest || "(give a run id)"}.`, "warning");
      hold(sessionId);
      const started = verb === "resume" ? engine.resume(rest, sessionId) : engine.start({ target: verb, args: parseArgsText(rest), parentSessionId: sessionId });
      // `opencode run` exits when this turn ends: a run left in the background would be cut off, so the answer waits.
      if (context.host.oneShot) {
        const record = await started.done.finally(() => unhold(sessionId));
        return report(`${started.notice ? `Note: ${started.notice}.\n` : ""}${runSummary(record, false)}`, record.status === "done" ? undefined : "warning");
      }
      announce.add(started.record.id);
      return settledReport(
        sessionId,
        `${verb === "resume" ? "Resumed" : "Started"} run ${started.record.id} of ${started.record.name}${started.notice ? ` (${started.notice})` : ""}. Progress shows as toasts and in /agents; the result is posted here when it ends. /workflow status ${started.record.id}, /workflow cancel ${started.record.id}.`,
      );
    } catch (error) {
      unhold(sessionId);
      return report(errorText(error), "warning");
    }
  };
  /** The report that started a run: once it has settled, the run's end may be posted in the session. */
  const settledReport = (sessionId: string, body: string): CommandReply => ({
    kind: "report",
    text: `[continuum /workflow] ${body}`,
    settled: () => {
      unhold(sessionId);
      watch();
    },
  });

  context.provide("workflow", {
    running: () => {
      const helpers = context.helpers.list().filter((h) => h.feature === "workflow" && (h.state === "running" || h.state === "queued"));
      const live = (id: string) => {
        const mine = helpers.filter((h) => h.reason?.includes(id));
        return { running: mine.filter((h) => h.state === "running").length, queued: mine.filter((h) => h.state === "queued").length };
      };
      return engine.list().filter((run) => engine.isActive(run.id)).map((run) => ({ id: run.id, line: `${run.name} · ${run.id} · ${progressLine(run, live(run.id))}` }));
    },
    cancel: (runId) => engine.cancel(runId, "cancelled with /agents cancel"),
  });

  return {
    tools: { workflow: tool, [RESULT_TOOL]: channel.tool },
    commands: { workflow: command },
    ...(context.host.oneShot ? { commandTimeoutMs: context.config.workflow.deadlineMs + 60_000 } : {}),
    dispose: () => {
      clearTimeout(warm);
      clearInterval(timer);
      return engine.dispose();
    },
  };
}

function splitFirst(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  return match ? [match[1]!, match[2]!.trim()] : ["", ""];
}
