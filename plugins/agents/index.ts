// /stats and /agents: what the pack spent and which hidden helpers run, answered from the ledger and the
// helper runner without a model call for the numbers.
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { formatRuns, formatStats } from "../core/spend-report.ts";

export const agentsFeature: FeatureModule = {
  name: "agents",
  needsDatabase: false,
  uses: ["workflow", "subagents"],
  assets: { commands: ["stats", "agents"] },
  create(context) {
    return createAgentCommands(context);
  },
};

export default agentsFeature;

function createAgentCommands(context: FeatureContext): FeatureParts {
  const { helpers, ledger } = context;
  return {
    commands: {
      stats: ({ sessionId }) => {
        if (!ledger)
          return {
            kind: "report",
            text: "[continuum /stats] The ledger is unavailable (no database); nothing was recorded.",
            variant: "warning",
          };
        return {
          kind: "report",
          text: formatStats(ledger.stats({ projectId: context.project.id, sessionId }), "this session"),
        };
      },
      agents: async ({ arguments: args }) => {
        const [verb, id] = args.trim().split(/\s+/);
        if (verb === "cancel") {
          if (!id)
            return {
              kind: "report",
              text: "[continuum /agents] Usage: /agents cancel <run id> (ids are in /agents).",
              variant: "warning",
            };
          // A task subagent of this process is aborted here: only it stops, its parent's turn goes on.
          const cancelled =
            helpers.cancel(id) ||
            (context.services.workflow?.cancel(id) ?? false) ||
            ((await context.services.subagents?.cancel(id)) ?? false) ||
            (ledger?.requestCancel(id) ?? false);
          return {
            kind: "report",
            text: `[continuum /agents] ${cancelled ? `Cancelled ${id}.` : `No running helper ${id}.`}`,
            variant: cancelled ? "info" : "warning",
          };
        }
        if (verb)
          return {
            kind: "report",
            text: `[continuum /agents] Unknown argument "${verb.slice(0, 40)}". Use /agents, or /agents cancel <run id>.`,
            variant: "warning",
          };
        const live = helpers.list();
        const seen = new Set(live.map((r) => r.runId));
        const stored = (ledger?.runs({ projectId: context.project.id, limit: 20 }) ?? []).filter(
          (r) => !seen.has(r.runId),
        );
        const workflows = context.services.workflow?.running() ?? [];
        const workflowLines = workflows.length
          ? `\n\nWorkflow runs in progress (/agents cancel <run id> stops one):\n${workflows.map((w) => `- ${w.line}`).join("\n")}`
          : "";
        // What really runs: the runner's own runs in a slot, apart from those waiting for one (agents.maxConcurrent).
        const running = live.filter((r) => r.state === "running").length;
        const queued = live.filter((r) => r.state === "queued").length;
        const counts = `${running} running (at most ${context.config.agents.maxConcurrent} at once), ${queued} waiting for a slot`;
        return {
          kind: "report",
          text: `opencode-continuum · helper agents: ${counts}\n${formatRuns([...live, ...stored].slice(0, 30))}${workflowLines}`,
        };
      },
    },
  };
}
