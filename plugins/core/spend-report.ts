// Plain-text renderings of the ledger, shared by /stats, /agents and the CLI.
import type { RunView } from "./helpers.ts";
import type { RunRow, Stats } from "./ledger.ts";

const n = (value: number) => Math.round(value).toLocaleString("en-US");

export function formatStats(stats: Stats, scope: string): string {
  const lines = [`opencode-continuum · what the pack spent (${scope})`];
  const w = stats.worker;
  lines.push(
    `Worker (your agent): ${n(w.calls)} calls · ${n(w.inputTokens)} in · ${n(w.outputTokens)} out${w.cost ? ` · $${w.cost.toFixed(4)}` : ""}`,
  );
  const s = stats.subagents;
  if (s?.runs)
    lines.push(
      `  subagents (task tool): ${n(s.runs)} runs · ${n(s.calls)} calls · ${n(s.inputTokens)} in · ${n(s.outputTokens)} out${s.cost ? ` · $${s.cost.toFixed(4)}` : ""}`,
    );
  const features = Object.entries(stats.features);
  if (features.length === 0) lines.push("Pack: no helper runs yet");
  for (const [name, f] of features) {
    const injected =
      f.injectedTokens !== undefined
        ? ` · injected ${n(f.injectedTokens)} tokens over ${n(f.injectedRequests ?? 0)} requests`
        : "";
    const calls = f.agentCalls !== undefined ? ` (${n(f.agentCalls)} agent calls)` : "";
    lines.push(
      `${name.padEnd(11)} ${n(f.runs)} runs${calls} · ${n(f.inputTokens)} in · ${n(f.outputTokens)} out${f.cost ? ` · $${f.cost.toFixed(4)}` : ""}${injected}`,
    );
  }
  lines.push(
    `Overhead: helper runs cost ${(stats.overheadRatio * 100).toFixed(1)} % of the worker's tokens${s?.runs ? " (its subagents included)" : ""}`,
  );
  return lines.join("\n");
}

export function formatRuns(runs: readonly (RunView | RunRow)[], now = Date.now()): string {
  if (runs.length === 0) return "No helper agents have run yet.";
  const lines = ["run id                   feature     agent              state    age     tokens  session"];
  for (const run of runs) {
    const session = "parentSessionId" in run ? run.parentSessionId : run.sessionId;
    const outcome = run.outcome && run.outcome !== "ok" ? ` (${run.outcome})` : "";
    lines.push(
      `${run.runId.padEnd(24)} ${run.feature.padEnd(11)} ${run.agent.padEnd(18)} ${(run.state + outcome).padEnd(8)} ${age(now - run.startedAt).padEnd(7)} ${String(run.tokens).padStart(6)}  ${session}`,
    );
  }
  return lines.join("\n");
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
