// Host adapter of workflow scripts: the `workflow` tool for the model, `/workflow` for the user, the
// workflow_result channel, progress toasts, and the notice a background run leaves in its session when it ends.
// The engine (engine.ts) does the work; this file only wires it to the pack's context: the tool (tool.ts), the
// command (command.ts) and the notices (notices.ts) are modules of their own.
import { join } from "node:path";
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { scriptWriteRefusal } from "../core/edit-permission.ts";
import { errorText } from "../core/report.ts";
import { FEATURE, helperAgentPort, RESULT_TOOL, workflowResultChannel } from "./agent-port.ts";
import { worktreeCheckPort } from "./check-call.ts";
import { workflowCommand } from "./command.ts";
import { WorkflowEngine } from "./engine.ts";
import { progressLine } from "./format.ts";
import { RunStore } from "./journal.ts";
import { createLoader } from "./loader.ts";
import { createRunNotices } from "./notices.ts";
import { loadQuickJS } from "./sandbox.ts";
import { workflowTool } from "./tool.ts";

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

const WARM_AFTER_MS = 2_000;

function createWorkflow(context: FeatureContext): FeatureParts {
  const { config, reporter, host } = context;
  const log = reporter.child(FEATURE);
  const channel = workflowResultChannel(context);
  const loader = createLoader(host.directory);
  const notices = createRunNotices(context, (message) => log.log("warn", message));

  // The WebAssembly module compiles once per process (tens of ms): done shortly after start, off the first run's path.
  const warm = setTimeout(
    () => void loadQuickJS().catch((error) => log.log("warn", `QuickJS could not load: ${errorText(error)}`)),
    WARM_AFTER_MS,
  );
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
      if (!compose)
        return {
          ok: false,
          merged: [],
          unchanged: [],
          kept: [],
          conflict: { reason: "merging needs the compose feature (compose.enabled is false)", files: [] },
        };
      return (await compose.mergeBack(changes)) as unknown as { ok: boolean } & Record<string, unknown>;
    },
    // check(command): a snapshot worktree of the project, the OS sandbox, a time limit (check-call.ts).
    check: worktreeCheckPort({
      worktrees: context.worktrees,
      sandbox: () => context.sandbox(),
      projectDir: host.directory,
    }),
    limits: config.workflow,
    onProgress: (run, kind) => notices.onProgress(run, kind),
    log: (level, message) => log.log(level, message),
  });
  const parts = { context, engine, loader, notices };
  context.provide("workflow", workflowServices(context, engine));

  return {
    tools: { workflow: workflowTool(parts), [RESULT_TOOL]: channel.tool },
    commands: { workflow: workflowCommand(parts) },
    ...(context.host.oneShot ? { commandTimeoutMs: context.config.workflow.deadlineMs + 60_000 } : {}),
    dispose: () => {
      clearTimeout(warm);
      notices.dispose();
      return engine.dispose();
    },
  };
}

/** What /agents sees of workflow runs in progress, and how it cancels one. */
type WorkflowServices = NonNullable<FeatureContext["services"]["workflow"]>;

function workflowServices(context: FeatureContext, engine: WorkflowEngine): WorkflowServices {
  return {
    running: () => {
      const helpers = context.helpers
        .list()
        .filter((h) => h.feature === "workflow" && (h.state === "running" || h.state === "queued"));
      const live = (id: string) => {
        const mine = helpers.filter((h) => h.reason?.includes(id));
        return {
          running: mine.filter((h) => h.state === "running").length,
          queued: mine.filter((h) => h.state === "queued").length,
        };
      };
      return engine
        .list()
        .filter((run) => engine.isActive(run.id))
        .map((run) => ({ id: run.id, line: `${run.name} · ${run.id} · ${progressLine(run, live(run.id))}` }));
    },
    cancel: (runId) => engine.cancel(runId, "cancelled with /agents cancel"),
  };
}
