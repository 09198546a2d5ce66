// The `workflow` tool the model calls: run a script (blocking or in the background) and manage its runs.
import { z } from "zod";
import { ToolInputError } from "../core/tool.ts";
import type { FeatureContext } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { defineTool, type PackTool, type ToolCallContext } from "../core/tool.ts";
import type { WorkflowEngine } from "./engine.ts";
import { parseArgsText, runList, runSummary, workflowList } from "./format.ts";
import type { RunRecord } from "./journal.ts";
import type { createLoader } from "./loader.ts";
import type { RunNotices } from "./notices.ts";

const WAIT_DEFAULT_MS = 600_000;

export interface WorkflowParts {
  context: FeatureContext;
  engine: WorkflowEngine;
  loader: ReturnType<typeof createLoader>;
  notices: RunNotices;
}

/** The list of workflows and recent runs, as the tool and /workflow show it. */
export const overview = (parts: Pick<WorkflowParts, "engine" | "loader">) =>
  `Workflows:\n${workflowList(parts.loader.list())}\n\nRecent runs:\n${runList(parts.engine.list(), (id) => parts.engine.isActive(id), 10)}`;

export function workflowTool(parts: WorkflowParts): PackTool {
  const { context, engine, notices } = parts;
  return defineTool("workflow", {
    description:
      "Run a workflow script (JS that orchestrates subagents; list shows them) or manage its runs. run takes name, args, background; wait/cancel/resume take runId.",
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
            return overview(parts);
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
            return engine.cancel(a.runId!, "cancelled with the workflow tool")
              ? `Cancelling run ${a.runId}.`
              : `No running workflow run ${a.runId}.`;
          case "run":
          case "resume": {
            // An agent a workflow started gets no workflow tool; this catches its sub-sessions too (see README).
            const helper = context.helpers.helperAbove(ctx.sessionID);
            if (helper)
              throw new Error(
                `Refused: agents started by the pack (here ${helper}) do not start workflows; nested runs would escape the parent run's depth, agent cap and budget, and could hold every helper slot waiting on each other. A script nests workflows with workflow(name, args).`,
              );
            const started =
              a.action === "run"
                ? engine.start({
                    target: a.name!,
                    args: typeof a.args === "string" ? parseArgsText(a.args) : a.args,
                    parentSessionId: ctx.sessionID,
                    agent: ctx.agent,
                  })
                : engine.resume(a.runId!, ctx.sessionID, ctx.agent);
            if (!a.background) return await blocking(engine, started, ctx.abort);
            notices.announce(started.record.id);
            return `Started run ${started.record.id} of ${started.record.name} in the background${started.notice ? ` (${started.notice})` : ""}. A notice follows in this session when it ends; workflow status/wait/cancel with runId ${started.record.id}.`;
          }
        }
      } catch (error) {
        throw new ToolInputError(errorText(error));
      }
    },
  });
}

/** A run the tool call waits for; aborting the call cancels the run. */
async function blocking(
  engine: WorkflowEngine,
  started: { record: RunRecord; done: Promise<RunRecord>; notice?: string },
  abort: AbortSignal | undefined,
) {
  const onAbort = () => engine.cancel(started.record.id, "cancelled: the tool call was aborted");
  abort?.addEventListener("abort", onAbort, { once: true });
  try {
    const record = await started.done;
    return [started.notice ? `Note: ${started.notice}.` : "", runSummary(record, false)].filter(Boolean).join("\n");
  } finally {
    abort?.removeEventListener("abort", onAbort);
  }
}
