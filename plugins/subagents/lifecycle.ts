// The lifecycle of `task` subagents in this process: linked by the parent's task part, their spend counted once per
// message, a ledger run (feature "subagent") per task call, ended once however often the child goes idle, and
// cancelled on request (here, or by `continuum agents cancel` from another process through the ledger).
import type { FeatureContext, SubagentServices } from "../core/feature.ts";
import { slot, type SessionLayer } from "../core/sessions.ts";
import {
  applyNews,
  childOfRunId,
  countCall,
  newRecord,
  readTaskPart,
  runIdOf,
  tokensOf,
  type SubagentRecord,
  type TaskPartNews,
} from "./tracker.ts";

/** The child's record (only on a linked task child). */
const recordSlot = slot<SubagentRecord | undefined>("subagent", () => undefined);
/** The parent's children, in start order (for the rebuild's "still running" lines). */
const childrenSlot = slot<string[]>("subagents", () => []);

const CANCEL_POLL_MS = 2000;

/** The main session a child works for: up its parents (a subagent may start subagents of its own). */
export function rootOf(sessions: SessionLayer, id: string): string {
  let current = id;
  for (let hops = 0; hops < 16; hops++) {
    const parent = sessions.parentOf(current);
    if (!parent) return current;
    current = parent;
  }
  return current;
}

export interface SubagentTracker extends SubagentServices {
  recordOf(id: string): SubagentRecord | undefined;
  dispose(): void;
}

export function trackSubagents(context: FeatureContext): SubagentTracker {
  const { sessions, ledger } = context;
  const recordOf = (id: string) => sessions.peek(id)?.get(recordSlot);
  const now = () => Date.now();
  const runs = ledgerRuns(context);

  const link = (news: TaskPartNews) => {
    // A helper's session (or a child of one) is the pack's own work, counted in the helper's run.
    if (sessions.helperOf(news.childId) || sessions.helperOf(news.parentId)) return;
    const record = newRecord(news, rootOf(sessions, news.parentId), now());
    // Resumed after a restart (this process never saw it): its earlier runs stay, this call is the next one.
    const earlier = ledger
      ?.runs({ projectId: context.project.id, sessionId: record.rootId, limit: 1000 })
      .filter((r) => r.childSessionId === news.childId).length;
    if (earlier) {
      record.calls = earlier + 1;
      record.runId = runIdOf(news.childId, record.calls);
    }
    sessions.session(news.childId).set(recordSlot, record);
    const siblings = sessions.session(news.parentId).get(childrenSlot);
    if (!siblings.includes(news.childId)) siblings.push(news.childId);
    runs.start(news.childId, record);
    if (news.ended) onNews(record, news);
  };
  const onNews = (record: SubagentRecord, news: TaskPartNews) => {
    const change = applyNews(record, news, now());
    if (change === "ended") runs.end(record);
    if (change === "resumed") runs.start(news.childId, record);
  };

  sessions.on("subagents", "part.updated", (event) => {
    const news = readTaskPart(event.part);
    if (!news) return;
    const record = recordOf(news.childId);
    if (record) onNews(record, news);
    else link(news);
  });
  sessions.on("subagents", "assistant.finished", (event) => {
    const record = recordOf(event.sessionId);
    // Each finished message is published twice: counted once per id.
    if (!record || !countCall(record, event.messageId, event.tokens, event.cost)) return;
    ledger?.addRunSpend(record.runId, event.tokens, event.cost);
  });
  sessions.on("subagents", "session.deleted", (event) => {
    const record = recordOf(event.sessionId);
    if (record?.status !== "running") return;
    record.status = "failed";
    record.endedAt = now();
    runs.end(record);
  });

  const tracker: SubagentTracker = {
    recordOf,
    active(rootSessionId) {
      const out: ReturnType<SubagentServices["active"]> = [];
      const visit = (parentId: string, depth: number) => {
        for (const childId of sessions.peek(parentId)?.get(childrenSlot) ?? []) {
          const record = recordOf(childId);
          if (record?.status === "running") out.push({ sessionId: childId, ...viewOf(record) });
          if (depth < 8) visit(childId, depth + 1);
        }
      };
      visit(rootSessionId, 0);
      return out.sort((a, b) => a.startedAt - b.startedAt);
    },
    async cancel(id) {
      const childId = childOfRunId(id.trim());
      if (recordOf(childId)?.status !== "running") return false;
      // Aborting the child stops only it: the parent's task call returns "Task cancelled" and its turn goes on.
      await context.host.abort(childId);
      return true;
    },
    dispose: () => runs.dispose(),
  };
  runs.onCancelRequest((runId) => void tracker.cancel(runId).catch(() => undefined));
  return tracker;
}

const viewOf = (record: SubagentRecord) => ({
  agent: record.agent,
  description: record.description,
  startedAt: record.startedAt,
  tokens: tokensOf(record),
});

/** The ledger side: one run per task call, and the poll for cancel requests while any runs. */
function ledgerRuns(context: FeatureContext) {
  const { ledger, project, reporter } = context;
  let running = 0;
  let poll: ReturnType<typeof setInterval> | undefined;
  let cancelRequested: (runId: string) => void = () => undefined;

  /** `continuum agents cancel` leaves a request in the ledger: looked at every 2 s while subagents run. */
  const watch = () => {
    if (!ledger) return;
    if (running > 0 && !poll) {
      poll = setInterval(() => {
        try {
          for (const runId of ledger.cancelRequests(process.pid)) if (runId.startsWith("sub-")) cancelRequested(runId);
        } catch (error) {
          reporter.log("warn", `subagents: reading cancel requests failed: ${String(error)}`);
        }
      }, CANCEL_POLL_MS);
      poll.unref?.();
    }
    if (running === 0 && poll) {
      clearInterval(poll);
      poll = undefined;
    }
  };

  return {
    start(childId: string, record: SubagentRecord) {
      running++;
      ledger?.startRun({
        runId: record.runId,
        projectId: project.id,
        parentSessionId: record.rootId,
        childSessionId: childId,
        feature: "subagent",
        agent: record.agent,
        reason: record.description,
        startedAt: record.startedAt,
      });
      watch();
    },
    end(record: SubagentRecord) {
      running = Math.max(0, running - 1);
      const outcome = record.status === "done" ? "ok" : record.status;
      ledger?.endRun(record.runId, {
        outcome,
        usage: {
          tokens: record.tokens,
          cost: record.cost,
          durationMs: (record.endedAt ?? Date.now()) - record.startedAt,
          requests: record.requests,
          estimated: false,
        },
      });
      watch();
    },
    onCancelRequest(fn: (runId: string) => void) {
      cancelRequested = fn;
    },
    dispose() {
      if (poll) clearInterval(poll);
      poll = undefined;
    },
  };
}
