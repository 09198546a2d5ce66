// One ledger of what the pack spends: every helper run (feature, agent, tokens, cost, duration, outcome), every
// model call of the worker (the user's own agent), and the text the pack injects into every request. The pack's
// overhead is then a figure: `continuum stats` and `/stats` read it.
import { ledgerStats, whereOf as where } from "./ledger-stats.ts";
import type { CallTokens } from "./host-types.ts";
import type { Database } from "./storage/database.ts";
import { migrate, type Migration } from "./storage/migrations.ts";

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "helper runs, worker calls and injected text",
    sql: `
      CREATE TABLE ledger_runs (
        run_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        child_session_id TEXT,
        feature TEXT NOT NULL,
        agent TEXT NOT NULL,
        reason TEXT,
        state TEXT NOT NULL,
        outcome TEXT,
        detail TEXT,
        owner_pid INTEGER,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        duration_ms INTEGER,
        requests INTEGER NOT NULL DEFAULT 0,
        tokens_in INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0,
        cache_read INTEGER NOT NULL DEFAULT 0,
        cache_write INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        estimated INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX ledger_runs_project ON ledger_runs (project_id, session_id);
      CREATE TABLE ledger_calls (
        message_id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        agent TEXT,
        at INTEGER NOT NULL,
        tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        cost REAL NOT NULL
      );
      CREATE INDEX ledger_calls_project ON ledger_calls (project_id, session_id);
      CREATE TABLE ledger_injected (
        project_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        feature TEXT NOT NULL,
        requests INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        PRIMARY KEY (project_id, session_id, feature)
      );`,
  },
];

export interface RunStart {
  runId: string;
  projectId: string;
  parentSessionId: string;
  childSessionId: string | undefined;
  feature: string;
  agent: string;
  reason?: string;
  startedAt: number;
}

export interface RunEnd {
  outcome: string;
  detail?: string;
  usage: { tokens: CallTokens; cost: number; durationMs: number; requests: number; estimated: boolean };
}

export interface WorkerCall {
  messageId: string;
  projectId: string;
  sessionId: string;
  agent: string;
  at: number;
  tokens: CallTokens;
  cost: number;
}

export interface LedgerFilter {
  projectId?: string;
  sessionId?: string;
}

/** The stable shape of `continuum stats --json`. */
export interface Stats {
  worker: { calls: number; inputTokens: number; outputTokens: number; cost: number };
  /**
   * Per feature: `runs` are its helper runs, except for workflow, where a run is one workflow run and each of its
   * `agent()` calls (a helper run of its own) is counted in `agentCalls`.
   */
  features: Record<
    string,
    {
      runs: number;
      agentCalls?: number;
      inputTokens: number;
      outputTokens: number;
      cost: number;
      injectedTokens?: number;
      injectedRequests?: number;
    }
  >;
  /**
   * Subagents of OpenCode's `task` tool (feature "subagent" runs): the user's work done by delegation, shown apart
   * from the worker's own calls and not part of the pack's overhead.
   */
  subagents: { runs: number; calls: number; inputTokens: number; outputTokens: number; cost: number };
  overheadRatio: number;
}

export interface RunRow {
  runId: string;
  projectId: string;
  sessionId: string;
  childSessionId: string | null;
  feature: string;
  agent: string;
  reason: string | null;
  state: string;
  outcome: string | null;
  detail: string | null;
  ownerPid: number | null;
  startedAt: number;
  endedAt: number | null;
  tokens: number;
  cost: number;
  cancelRequested: boolean;
}

export interface Ledger {
  startRun(run: RunStart): void;
  endRun(runId: string, end: RunEnd): void;
  recordCall(call: WorkerCall): void;
  addInjected(projectId: string, sessionId: string, feature: string, tokens: number): void;
  stats(filter?: LedgerFilter): Stats;
  runs(filter?: LedgerFilter & { limit?: number; state?: string }): RunRow[];
  /** Asks the process running a helper to cancel it (the CLI's way in); false when no such running run. */
  requestCancel(runId: string): boolean;
  /** Runs of this process that someone asked to cancel. */
  cancelRequests(ownerPid: number): string[];
  /**
   * Adds one finished model call of a running helper to its row as it happens, so a run whose process dies keeps the
   * spend it made (endRun then writes the exact totals).
   */
  addRunSpend(runId: string, tokens: CallTokens, cost: number): void;
  /** Runs left "running" by a process that is gone are marked abandoned (their spend so far stays); returns how many. */
  closeOrphans(isAlive: (pid: number) => boolean): number;
}

export function openLedger(db: Database, ownerPid = process.pid): Ledger {
  migrate(db, "ledger", MIGRATIONS);
  const insertRun = db.prepare(
    `INSERT OR REPLACE INTO ledger_runs (run_id, project_id, session_id, child_session_id, feature, agent, reason, state, owner_pid, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
  );
  const finishRun = db.prepare(
    `UPDATE ledger_runs SET state = ?, outcome = ?, detail = ?, ended_at = ?, duration_ms = ?, requests = ?, tokens_in = ?, tokens_out = ?,
       cache_read = ?, cache_write = ?, cost = ?, estimated = ? WHERE run_id = ?`,
  );
  const insertCall = db.prepare(
    `INSERT OR IGNORE INTO ledger_calls (message_id, project_id, session_id, agent, at, tokens_in, tokens_out, cache_read, cache_write, cost)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const addSpend = db.prepare(
    `UPDATE ledger_runs SET requests = requests + 1, tokens_in = tokens_in + ?, tokens_out = tokens_out + ?, cache_read = cache_read + ?,
       cache_write = cache_write + ?, cost = cost + ? WHERE run_id = ? AND state = 'running'`,
  );
  const upsertInjected = db.prepare(
    `INSERT INTO ledger_injected (project_id, session_id, feature, requests, tokens) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (project_id, session_id, feature) DO UPDATE SET requests = requests + 1, tokens = tokens + excluded.tokens`,
  );

  return {
    startRun(run) {
      insertRun.run(
        run.runId,
        run.projectId,
        run.parentSessionId,
        run.childSessionId ?? null,
        run.feature,
        run.agent,
        run.reason ?? null,
        ownerPid,
        run.startedAt,
      );
    },
    endRun(runId, end) {
      const t = end.usage.tokens;
      finishRun.run(
        end.outcome === "ok" ? "done" : "failed",
        end.outcome,
        end.detail?.slice(0, 2000) ?? null,
        Date.now(),
        Math.round(end.usage.durationMs),
        end.usage.requests,
        t.input,
        t.output + t.reasoning,
        t.cacheRead,
        t.cacheWrite,
        end.usage.cost,
        end.usage.estimated ? 1 : 0,
        runId,
      );
    },
    recordCall(call) {
      const t = call.tokens;
      insertCall.run(
        call.messageId,
        call.projectId,
        call.sessionId,
        call.agent,
        call.at,
        t.input,
        t.output + t.reasoning,
        t.cacheRead,
        t.cacheWrite,
        call.cost,
      );
    },
    addRunSpend(runId, tokens, cost) {
      addSpend.run(tokens.input, tokens.output + tokens.reasoning, tokens.cacheRead, tokens.cacheWrite, cost, runId);
    },
    addInjected(projectId, sessionId, feature, tokens) {
      upsertInjected.run(projectId, sessionId, feature, Math.max(0, Math.round(tokens)));
    },
    stats: (filter = {}) => ledgerStats(db, filter),
    runs(filter = {}) {
      const w = where(filter);
      const state = filter.state ? `${w.sql ? " AND" : "WHERE"} state = ?` : "";
      const params = filter.state ? [...w.params, filter.state] : w.params;
      return db
        .prepare(
          `SELECT * FROM ledger_runs ${w.sql}${state} ORDER BY started_at DESC LIMIT ${Math.max(1, Math.min(10000, filter.limit ?? 50))}`,
        )
        .all<Record<string, unknown>>(...params)
        .map(toRunRow);
    },
    ...runOwnership(db, ownerPid),
  };
}

/**
 * Which process owns a running run: the CLI asks the owner to cancel through the table, and runs whose owner died
 * are closed as abandoned by the next process that looks.
 */
function runOwnership(
  db: Database,
  ownerPid: number,
): Pick<Ledger, "requestCancel" | "cancelRequests" | "closeOrphans"> {
  return {
    requestCancel(runId) {
      return (
        db.prepare("UPDATE ledger_runs SET cancel_requested = 1 WHERE run_id = ? AND state = 'running'").run(runId)
          .changes > 0
      );
    },
    cancelRequests(pid) {
      return db
        .prepare("SELECT run_id FROM ledger_runs WHERE owner_pid = ? AND state = 'running' AND cancel_requested = 1")
        .all<{ run_id: string }>(pid)
        .map((r) => r.run_id);
    },
    closeOrphans(isAlive) {
      const running = db
        .prepare("SELECT run_id, owner_pid FROM ledger_runs WHERE state = 'running'")
        .all<{ run_id: string; owner_pid: number | null }>();
      let closed = 0;
      for (const row of running) {
        if (row.owner_pid === ownerPid || (row.owner_pid !== null && isAlive(row.owner_pid))) continue;
        db.prepare(
          "UPDATE ledger_runs SET state = 'abandoned', outcome = 'owner gone', detail = ?, ended_at = ?, duration_ms = ? - started_at WHERE run_id = ?",
        ).run(
          `its OpenCode process (pid ${row.owner_pid ?? "?"}) ended while it ran; the spend up to its last finished model call is kept`,
          Date.now(),
          Date.now(),
          row.run_id,
        );
        closed++;
      }
      return closed;
    },
  };
}

function toRunRow(row: Record<string, unknown>): RunRow {
  return {
    runId: String(row.run_id),
    projectId: String(row.project_id),
    sessionId: String(row.session_id),
    childSessionId: (row.child_session_id as string | null) ?? null,
    feature: String(row.feature),
    agent: String(row.agent),
    reason: (row.reason as string | null) ?? null,
    state: String(row.state),
    outcome: (row.outcome as string | null) ?? null,
    detail: (row.detail as string | null) ?? null,
    ownerPid: (row.owner_pid as number | null) ?? null,
    startedAt: Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    tokens: Number(row.tokens_in) + Number(row.tokens_out) + Number(row.cache_read) + Number(row.cache_write),
    cost: Number(row.cost),
    cancelRequested: Number(row.cancel_requested) === 1,
  };
}

/** Records every finished model call of the user's own sessions (the worker), once per message. */
export function recordWorkerCalls(
  sessions: import("./sessions.ts").SessionLayer,
  ledger: Ledger,
  projectId: string,
): void {
  sessions.on("ledger", "assistant.finished", (event) => {
    if (sessions.helperOf(event.sessionId)) return;
    ledger.recordCall({
      messageId: event.messageId,
      projectId,
      sessionId: event.sessionId,
      agent: event.agent,
      at: Date.now(),
      tokens: event.tokens,
      cost: event.cost,
    });
  });
}
