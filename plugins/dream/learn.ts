// Memory that learns by default (dream.learn). OpenCode has no "session ended" event, so the end of a session is
// taken as the two moments the pack sees: a main session goes idle (its own checkpoint is harvested) and a new main
// session starts (every session whose checkpoint is newer than its harvest mark, within dream.windowDays). Harvest
// is code only. A dream then consolidates the pending candidates in the background when a main session starts and
// learn-gate.ts allows it: never in the middle of the user's work, like the dream.auto schedule.
// The run is an ordinary dream: its diff is in the dream record, `/dream undo` reverts it.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointServices, FeatureContext, MemoryServices } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import { totalTokens } from "../core/tokens.ts";
import { harvest, normalise, type Candidate } from "./learn-harvest.ts";
import { learnGate, spentSince } from "./learn-gate.ts";
import { readLearnState, saveLearnState, type LearnState } from "./learn-store.ts";
import { listDirs, type SessionMaterial } from "./inputs.ts";
import type { DreamRecord } from "./records.ts";
import type { Dreamer } from "./run.ts";

/** The ledger reason of an automatic learning dream: the daily budget sums the runs carrying it. */
export const LEARN_REASON = "automatic learning (dream.learn)";
export const LEARN_FOCUS = "durable directives and decisions the sessions' checkpoints kept verbatim";

export interface Learner {
  /** Harvests one session's latest checkpoint (idle of a main session). */
  harvestSession(sessionId: string): void;
  /** Harvests every session folder changed inside the window (a new main session). */
  harvestAll(): void;
  /** Starts the learning dream when the gate allows it; returns why not otherwise. */
  maybeDream(parentSessionId: string): string | undefined;
}

export function createLearner(
  context: FeatureContext,
  dreamer: Dreamer,
  memory: MemoryServices,
  checkpoints: CheckpointServices,
  dir: string,
  announce: (done: Promise<DreamRecord>) => void,
  now: () => number = Date.now,
): Learner {
  const settings = context.config.dream;
  const cap = { budget: 0, spent: 0, active: false };

  const harvestInto = (state: LearnState, sessionId: string): void => {
    const found = checkpoints.sections(sessionId);
    if (!found || found.writtenAt <= (state.marks[sessionId] ?? 0)) return;
    state.marks[sessionId] = found.writtenAt;
    const known = new Set([...state.consumed, ...state.candidates.map((c) => c.key)]);
    const text = memory.projectMemory().text;
    state.candidates.push(...harvest({ ...found, sessionId, memoryText: text, known, redact }));
  };

  // Saved only when something changed: every idle of every main session harvests.
  const update = (change: (state: LearnState) => void): void => {
    const state = readLearnState(dir);
    const before = JSON.stringify(state);
    change(state);
    if (JSON.stringify(state) !== before) saveLearnState(dir, state);
  };

  watchLearnBudget(context, cap);

  const consume = (record: DreamRecord): void => {
    if (record.status !== "written" && record.status !== "unchanged") return;
    const read = new Set(record.sessions);
    update((state) => {
      const used = state.candidates.filter((c) => read.has(c.sessionId));
      state.candidates = state.candidates.filter((c) => !read.has(c.sessionId));
      state.consumed.push(...used.map((c) => c.key));
    });
  };

  const notice = (state: LearnState): void => {
    if (state.noticeShown) return;
    state.noticeShown = true;
    context.reporter.notify(
      `[continuum] Memory now learns on its own: directives and decisions your checkpoints keep are consolidated into MEMORY.md by a background dream, at most every ${settings.learnEveryHours} h and within ${settings.learnDailyTokens} tokens a day. /dream status shows the diff, /dream undo reverts it; dream.learn: false in continuum.jsonc turns it off.`,
      "info",
    );
  };

  const maybeDream = (parentSessionId: string): string | undefined => {
    if (context.host.oneShot) return "one-shot host"; // `opencode run` would cut a background dream off
    if (dreamer.running()) return "a dream is running";
    const state = readLearnState(dir);
    if (state.candidates.length === 0) return "no candidates"; // the common case: no memory or ledger read
    const memoryKey = normalise(memory.projectMemory().text);
    state.candidates = state.candidates.filter((c) => !memoryKey.includes(c.key));
    const gate = learnGate({
      now: now(),
      pending: state.candidates.length,
      lastAutoAt: state.lastAutoAt,
      everyHours: settings.learnEveryHours,
      spentToday: spentToday(context, now()),
      dailyTokens: settings.learnDailyTokens,
      runBudget: settings.budgetTokens,
    });
    if (!gate.start) return gate.why;
    const started = dreamer.start({
      parentSessionId,
      focus: LEARN_FOCUS,
      dryRun: false,
      reason: LEARN_REASON,
      material: materialOf(state.candidates),
    });
    // A refused start (a symlinked MEMORY.md, say) counts as today's run: it is not retried at every new session.
    if (!started.started && started.record.status === "busy") return started.record.message;
    state.lastAutoAt = now();
    if (!started.started) {
      saveLearnState(dir, state);
      return started.record.message;
    }
    notice(state);
    saveLearnState(dir, state);
    Object.assign(cap, { budget: gate.budget, spent: 0, active: true });
    const done = started.done.finally(() => void (cap.active = false));
    void done.then(consume, () => {});
    announce(done);
    return undefined;
  };

  return {
    harvestSession: (sessionId) => update((state) => harvestInto(state, sessionId)),
    harvestAll: () =>
      update((state) =>
        recentSessions(context.projectPaths.sessions, now() - settings.windowDays * 86_400_000).forEach((id) =>
          harvestInto(state, id),
        ),
      ),
    maybeDream,
  };
}

/** The candidates as the dream reads them: one block per session, newest first. */
export function materialOf(candidates: Candidate[]): SessionMaterial[] {
  const bySession = new Map<string, SessionMaterial>();
  for (const c of candidates) {
    const entry = bySession.get(c.sessionId) ?? {
      sessionId: c.sessionId,
      lastActivity: 0,
      progress: [],
      userMessages: [],
      learned: [],
    };
    entry.lastActivity = Math.max(entry.lastActivity, c.at);
    entry.learned!.push(`(${c.kind}) ${c.text}`);
    bySession.set(c.sessionId, entry);
  }
  return [...bySession.values()].sort((a, b) => b.lastActivity - a.lastActivity);
}

/** dream.learn: harvest at the two ends of a session, dream at a session's start when the gate allows. Every hook catches its own errors. */
export function scheduleLearning(context: FeatureContext, learner: Learner): void {
  const guarded = (what: string, run: () => void) => {
    try {
      run();
    } catch (error) {
      context.reporter.log("warn", `dream.learn ${what}: ${errorText(error)}`);
    }
  };
  const isMain = (id: string) => !context.sessions.helperOf(id) && context.sessions.session(id).parentId === "";
  // The first main session of the process looks at every recent session folder (checkpoints other processes wrote);
  // later ones only at the sessions gone idle since, whose writer may have finished after the idle. A full scan at
  // every session start made a start cost O(all sessions) (10,000 sessions: minutes).
  let scanned = false;
  const idleSince = new Set<string>();
  context.sessions.on("dream", "session.created", (event) => {
    if (event.parentId || context.sessions.helperOf(event.sessionId)) return;
    // The adapter reports every session.updated as session.created too: only the first one is a session start.
    const seen = context.sessions.session(event.sessionId).get(seenSlot);
    if (seen.started) return;
    seen.started = true;
    guarded("harvest", () => {
      const again = [...idleSince];
      idleSince.clear();
      if (scanned) return again.forEach((id) => learner.harvestSession(id));
      scanned = true;
      learner.harvestAll();
    });
    guarded("dream", () => void learner.maybeDream(event.sessionId));
  });
  context.sessions.on("dream", "turn.ended", (event) => {
    if (event.how !== "idle" || !isMain(event.sessionId)) return;
    idleSince.add(event.sessionId);
    guarded("harvest", () => learner.harvestSession(event.sessionId));
  });
  context.sessions.on("dream", "session.deleted", (event) => void idleSince.delete(event.sessionId));
}

const seenSlot = slot<{ started: boolean }>("dream-learn", () => ({ started: false }));

/** Session folders changed since `cutoff` (a checkpoint written there renames into the folder). */
function recentSessions(sessionsDir: string, cutoff: number): string[] {
  return listDirs(sessionsDir).filter((id) => {
    try {
      return statSync(join(sessionsDir, id)).mtimeMs >= cutoff;
    } catch {
      return false;
    }
  });
}

/** What the automatic learning dreams spent in the last 24 hours, by the ledger. */
function spentToday(context: FeatureContext, now: number): number {
  const runs = context.ledger?.runs({ projectId: context.project.id, limit: 500 }) ?? [];
  return spentSince(
    runs.filter((r) => r.feature === "dream" && r.reason === LEARN_REASON),
    now,
  );
}

/** The per-run budget of an automatic run is what is left of today's: stopped like any run over its budget. */
function watchLearnBudget(context: FeatureContext, cap: { budget: number; spent: number; active: boolean }): void {
  context.sessions.on("dream", "assistant.finished", (event) => {
    if (!cap.active || context.sessions.helperOf(event.sessionId)?.feature !== "dream") return;
    cap.spent += totalTokens(event.tokens);
    if (cap.spent > cap.budget)
      context.helpers.cancel(
        event.sessionId,
        `over today's learning budget (${cap.budget} tokens left, dream.learnDailyTokens)`,
      );
  });
}
