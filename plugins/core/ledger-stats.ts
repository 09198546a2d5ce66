// What /stats and `continuum stats` show: the worker's calls, each feature's runs (a workflow's agent calls grouped
// by its run), what the pack injected into requests, and the overhead ratio, read from the ledger's tables.
import type { Database } from "./storage/database.ts";
import type { LedgerFilter, Stats } from "./ledger.ts";

const WORKFLOW_RUN_ID = /\bwf_[a-z0-9]+_[0-9a-f]+\b/;
/** The ledger feature of a `task` subagent's run (plugins/subagents): user work, not the pack's. */
export const SUBAGENT_FEATURE = "subagent";
/** A subagent's calls are also seen as calls of a user session: they belong to its run, not to the worker. */
const NOT_SUBAGENT_CALL = `session_id NOT IN (SELECT child_session_id FROM ledger_runs WHERE feature = '${SUBAGENT_FEATURE}' AND child_session_id IS NOT NULL)`;

export const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** The WHERE clause of a project/session filter. */
export function whereOf(filter: LedgerFilter = {}): { sql: string; params: string[] } {
  const clauses: string[] = [];
  const params: string[] = [];
  if (filter.projectId) {
    clauses.push("project_id = ?");
    params.push(filter.projectId);
  }
  if (filter.sessionId) {
    clauses.push("session_id = ?");
    params.push(filter.sessionId);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

export function ledgerStats(db: Database, filter: LedgerFilter = {}): Stats {
  const w = whereOf(filter);
  const worker = db
    .prepare(
      `SELECT COUNT(*) AS calls, COALESCE(SUM(tokens_in + cache_read + cache_write), 0) AS input, COALESCE(SUM(tokens_out), 0) AS output, COALESCE(SUM(cost), 0) AS cost FROM ledger_calls ${w.sql ? `${w.sql} AND` : "WHERE"} ${NOT_SUBAGENT_CALL}`,
    )
    .get<{ calls: number; input: number; output: number; cost: number }>(...w.params)!;
  const features: Stats["features"] = {};
  const rows = db
    .prepare(
      `SELECT feature, COUNT(*) AS runs, SUM(requests) AS requests, SUM(tokens_in + cache_read + cache_write) AS input, SUM(tokens_out) AS output, SUM(cost) AS cost
       FROM ledger_runs ${w.sql} GROUP BY feature ORDER BY feature`,
    )
    .all<{ feature: string; runs: number; requests: number; input: number; output: number; cost: number }>(...w.params);
  let packTokens = 0;
  const subagents = { runs: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
  for (const row of rows) {
    if (row.feature === SUBAGENT_FEATURE) {
      Object.assign(subagents, {
        runs: row.runs,
        calls: row.requests,
        inputTokens: row.input,
        outputTokens: row.output,
        cost: round(row.cost),
      });
      continue;
    }
    features[row.feature] = { runs: row.runs, inputTokens: row.input, outputTokens: row.output, cost: round(row.cost) };
    packTokens += row.input + row.output;
  }
  const workflow = features.workflow;
  if (workflow) {
    // Each agent() call is a helper run whose reason names its workflow run (agent-port.ts): count those runs.
    const reasons = db
      .prepare(`SELECT reason FROM ledger_runs ${w.sql ? `${w.sql} AND` : "WHERE"} feature = 'workflow'`)
      .all<{ reason: string | null }>(...w.params);
    const ids = new Set(reasons.map((r) => WORKFLOW_RUN_ID.exec(r.reason ?? "")?.[0] ?? "?"));
    features.workflow = { ...workflow, runs: ids.size, agentCalls: workflow.runs };
  }
  const injected = db
    .prepare(
      `SELECT feature, SUM(requests) AS requests, SUM(tokens) AS tokens FROM ledger_injected ${w.sql} GROUP BY feature`,
    )
    .all<{ feature: string; requests: number; tokens: number }>(...w.params);
  for (const row of injected) {
    const entry = (features[row.feature] ??= { runs: 0, inputTokens: 0, outputTokens: 0, cost: 0 });
    entry.injectedTokens = row.tokens;
    entry.injectedRequests = row.requests;
  }
  // The user's work, own and delegated: the pack's overhead is measured against both, as before the split.
  const workerTokens = worker.input + worker.output + subagents.inputTokens + subagents.outputTokens;
  return {
    worker: { calls: worker.calls, inputTokens: worker.input, outputTokens: worker.output, cost: round(worker.cost) },
    features,
    subagents,
    overheadRatio: workerTokens > 0 ? round(packTokens / workerTokens) : 0,
  };
}
