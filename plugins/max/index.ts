// Max Mode: best-of-N for a user's turn. `/max <task>` (or any turn of the `max` agent) runs N candidates in
// child sessions (read-only planners, or builders in their own git worktrees), stops early when two scouts agree,
// otherwise lets a judge pick, and adds the outcome to the user's turn as one part (the plan to carry out, or the
// change code applied). This module decides when a turn is a Max turn and holds the session state; turn.ts runs it.
// Every candidate and judge run goes through the helper runner, so the ledger counts it under `max`.
import { z } from "zod";
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts, UserTurn } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { slot } from "../core/sessions.ts";
import { parseMaxArgs, type MaxMode } from "./args.ts";
import { BUILDER_AGENT, CANDIDATE_AGENT, JUDGE_AGENT, MAIN_AGENT, PATCH_TOOL, PLAN_TOOL, VERDICT_TOOL } from "./names.ts";
import { checkPlan, cleanText, planArgs } from "./plan.ts";
import { failurePart, MARK } from "./prompts.ts";
import { usesScouts } from "./round.ts";
import { openStatsStore, sessionReport } from "./stats.ts";
import { createTurns, type HeldChanges } from "./turn.ts";
import { killRunningChecks } from "../core/checks.ts";
import { checkVerdict, verdictArgs } from "./verdict.ts";

export { BUILDER_AGENT, CANDIDATE_AGENT, JUDGE_AGENT, MAIN_AGENT, PATCH_TOOL, PLAN_TOOL, VERDICT_TOOL } from "./names.ts";

export const maxFeature: FeatureModule = {
  name: "max",
  needsDatabase: false,
  assets: { agents: [MAIN_AGENT, CANDIDATE_AGENT, BUILDER_AGENT, JUDGE_AGENT], commands: ["max"] },
  internalTools: [
    { tool: PLAN_TOOL, agent: CANDIDATE_AGENT },
    { tool: PATCH_TOOL, agent: BUILDER_AGENT },
    { tool: VERDICT_TOOL, agent: JUDGE_AGENT },
  ],
  create: (context) => createMax(context),
};

export default maxFeature;

interface MaxSession {
  /** `/max <task>` was answered with a prompt: its user message is the Max turn. */
  pending?: { task: string; mode?: MaxMode };
  noticeShown: boolean;
  active?: AbortController;
  /** The user aborted a Max turn before its plan: the turn that follows is stopped as it starts. */
  abortNextTurn: boolean;
  /**
   * The running turn was cancelled with `/max stop`, not an abort: its message then just carries the cancel part
   * (the agent answers "Cancelled."). Stopping the session there could hit the answer to the stop itself, which
   * runs in the same session at the same time.
   */
  stopRequested?: boolean;
  /** The last patch turn's changes whose checks all failed: `/max apply N` may still take one. */
  held?: HeldChanges;
}
const maxSlot = slot<MaxSession>("max", () => ({ noticeShown: false, abortNextTurn: false }));

function createMax(context: FeatureContext): FeatureParts {
  const { config, reporter, sessions, helpers, host } = context;
  const settings = config.max;
  const log = reporter.child("max");
  const store = openStatsStore(context.projectPaths.session, (m) => log.log("warn", m));
  const agentModels: { candidate?: string; judge?: string } = {};
  const stateOf = (sessionId: string) => sessions.session(sessionId).get(maxSlot);

  const planChannel = helpers.resultChannel(PLAN_TOOL, {
    description:
      "Record your Max Mode plan, once: summary, ordered concrete steps, the project-relative files it touches, risks, and how to test it. Only a Max Mode candidate may call this.",
    args: planArgs,
    reserved: `${PLAN_TOOL} is reserved for Max Mode candidates; it does nothing here. Go on with your task.`,
    accept(args) {
      const checked = checkPlan(args);
      return checked.ok ? { ok: true, value: checked.plan, reply: "Plan recorded. You are done." } : { ok: false, problems: checked.problems };
    },
  });

  const verdictChannel = helpers.resultChannel(VERDICT_TOOL, {
    description: "Record your verdict as the Max Mode judge, once.",
    args: verdictArgs,
    reserved: `${VERDICT_TOOL} is reserved for the Max Mode judge; it does nothing here. Go on with your task.`,
    accept(args, shown: number[]) {
      const checked = checkVerdict(args, shown);
      return checked.ok ? { ok: true, value: checked.verdict, reply: "Verdict recorded. You are done." } : { ok: false, problems: checked.problems };
    },
  });

  const patchChannel = helpers.resultChannel(PATCH_TOOL, {
    description: "Record that your change in the worktree is complete, once, with a short summary of what you changed and why. Only a Max Mode builder may call this.",
    args: { summary: z.string().max(2000).describe("What you changed and why, in two or three sentences.") },
    reserved: `${PATCH_TOOL} is reserved for Max Mode builders; it does nothing here. Go on with your task.`,
    accept(args) {
      const summary = cleanText(args.summary);
      return summary ? { ok: true, value: summary, reply: "Recorded. You are done." } : { ok: false, problems: ["summary: empty; say what you changed"] };
    },
  });

  const expectedNotice = () => {
    const full = settings.candidates + 1;
    return usesScouts(settings)
      ? `Max Mode costs about ${settings.scouts}× the tokens of one candidate when the ${settings.scouts} scouts agree, up to ${full}× (${settings.candidates} candidates + judge) when they do not, before the turn itself.`
      : `Max Mode costs about ${full}× the tokens of one candidate (${settings.candidates} candidates + judge), before the turn itself.`;
  };

  const holdBack = (sessionId: string, held: HeldChanges) => void (stateOf(sessionId).held = held);
  const turns = createTurns({ context, channels: { plan: planChannel, patch: patchChannel, verdict: verdictChannel }, store, agentModels, log, holdBack });
  const turnBudgetMs = turns.budgetMs;

  const runTurn = async (turn: UserTurn, task: string, requested: MaxMode) => {
    const state = stateOf(turn.sessionId);
    if (state.active) {
      reporter.notify("A Max turn is already running in this session; this message runs as a normal turn.", "warning");
      return;
    }
    let mode = requested;
    if (mode === "patch" && !(await context.worktrees.isRepo().catch(() => false))) {
      reporter.notify("Max patch mode needs a git repository (each candidate works in its own worktree); this turn runs in plan mode.", "warning");
      mode = "plan";
    }
    if (!state.noticeShown && store.turns(turn.sessionId).length === 0) reporter.notify(expectedNotice(), "info");
    state.noticeShown = true;
    const controller = new AbortController();
    state.active = controller;
    let timedOut = false;
    // Our own limit comes before the hook's: past it the turn must not go on without us (or apply a change late).
    const deadline = setTimeout(() => ((timedOut = true), controller.abort()), turnBudgetMs - 5000);
    (deadline as { unref?: () => void }).unref?.();
    try {
      const scouts = usesScouts(settings) ? ` (${settings.scouts} scouts first)` : "";
      reporter.notify(`Max Mode (${mode}): ${settings.candidates} candidates${scouts} are working… (/max stop cancels)`, "info");
      const end = await turns.play(turn, task, mode, controller.signal, () => timedOut);
      if (end === "cancelled" && !state.stopRequested) state.abortNextTurn = true;
    } finally {
      clearTimeout(deadline);
      state.active = undefined;
      state.stopRequested = false;
    }
  };

  /**
   * `/max stop`, or `stop` typed to the max agent: cancels the session's running Max turn (candidates, checks,
   * judge) as an abort does; its message then only carries the cancel part.
   */
  const stopRunning = (sessionId: string): string => {
    const state = sessions.peek(sessionId)?.get(maxSlot);
    if (!state?.active) return "No Max turn is running in this session.";
    state.stopRequested = true;
    state.active.abort();
    return "Stopping Max Mode: its candidates, checks and judge are cancelled and nothing is applied.";
  };

  /**
   * `/max apply N`: the user takes a change Max held back because its checks failed. From the changes kept in this
   * session (the saved copies are redacted records), and refused like any apply when the working tree moved.
   */
  const applyHeld = async (sessionId: string, index: number): Promise<{ text: string; ok: boolean }> => {
    const held = sessions.peek(sessionId)?.get(maxSlot).held;
    if (!held) return { ok: false, text: "No change is held back in this session: /max apply N takes one of the changes of the last Max patch turn whose checks failed." };
    const change = held.changes.find((c) => c.index === index);
    if (!change) return { ok: false, text: `Candidate ${index} has no held change; held: ${held.changes.map((c) => c.index).join(", ") || "none"}.` };
    const applied = await context.worktrees.apply(change.diff, { expectFingerprint: held.fingerprint, label: `max candidate ${index} (checks failed)` });
    if (!applied.ok) return { ok: false, text: `Candidate ${index}'s change was NOT applied: ${applied.reason}.${applied.conflicts.length ? ` Files in conflict: ${applied.conflicts.join(", ")}.` : ""} The diff is saved at ${applied.savedTo}.` };
    stateOf(sessionId).held = undefined;
    return { ok: true, text: `Applied candidate ${index}'s change at your request (files: ${applied.files.join(", ") || "none"}). Its checks had failed:\n${change.checks}` };
  };

  const onUserTurn = async (turn: UserTurn) => {
    if (sessions.helperOf(turn.sessionId)) return;
    const state = stateOf(turn.sessionId);
    let request: { task: string; mode: MaxMode } | undefined;
    if (state.pending && turn.text === state.pending.task) {
      request = { task: state.pending.task, mode: state.pending.mode ?? settings.mode };
      state.pending = undefined;
    } else if (turn.agent === MAIN_AGENT && turn.origin === "person" && turn.text) {
      const parsed = parseMaxArgs(turn.text);
      if (parsed.kind === "stop") {
        // `stop` typed to the max agent is answered here: no model call (the local report model says it).
        const said = stopRunning(turn.sessionId);
        if (!turn.answerLocally?.(said)) reporter.notify(said, "info");
        return;
      }
      if (parsed.kind === "apply") {
        const applied = await applyHeld(turn.sessionId, parsed.index);
        return reporter.notify(applied.text, applied.ok ? "info" : "warning");
      }
      request = parsed.kind === "task" ? { task: parsed.task, mode: parsed.mode ?? settings.mode } : { task: turn.text, mode: settings.mode };
    }
    if (!request) return;
    try {
      await runTurn(turn, request.task, request.mode);
    } catch (error) {
      reporter.problem("max:turn", `Max Mode failed in ${turn.sessionId}; the turn runs normally: ${errorText(error)}`);
      turn.addPart(failurePart([errorText(error)], 0));
    }
  };

  // ---- /max --------------------------------------------------------------------------------------------------

  const report = (text: string, variant: "info" | "warning" = "info"): CommandReply => ({ kind: "report", text: `${MARK} ${text}`, variant });

  const onCommand = async (sessionId: string, raw: string): Promise<CommandReply> => {
    const parsed = parseMaxArgs(raw);
    if (parsed.kind === "error") return report(parsed.message, "warning");
    if (parsed.kind === "stop") return report(stopRunning(sessionId));
    if (parsed.kind === "apply") {
      const applied = await applyHeld(sessionId, parsed.index);
      return report(applied.text, applied.ok ? "info" : "warning");
    }
    if (parsed.kind === "stats") {
      const ledger = context.ledger?.stats({ projectId: context.project.id, sessionId }).features.max;
      const ledgerLine = ledger ? `Ledger (feature max): ${ledger.runs} runs · ${ledger.inputTokens.toLocaleString("en-US")} in · ${ledger.outputTokens.toLocaleString("en-US")} out${ledger.cost ? ` · $${ledger.cost.toFixed(4)}` : ""}` : undefined;
      return { kind: "report", text: sessionReport(store.turns(sessionId), ledgerLine) };
    }
    if (!(await sessions.isMain(sessionId))) return report("Max Mode runs in a main session; this is a child session.", "warning");
    stateOf(sessionId).pending = { task: parsed.task, mode: parsed.mode };
    return { kind: "prompt", text: parsed.task };
  };

  // ---- session events ------------------------------------------------------------------------------------------

  sessions.on("max", "turn.failed", (event) => {
    // The user stopped the session while its candidates run: all of them, and the judge, stop.
    if (event.aborted) sessions.peek(event.sessionId)?.get(maxSlot).active?.abort();
  });
  sessions.on("max", "session.deleted", (event) => sessions.peek(event.sessionId)?.get(maxSlot).active?.abort());
  // A Max turn runs for minutes before the message is stored: its own limit, not the hook's usual one.
  sessions.on("max", "turn.started", (event) => onUserTurn({ ...event, addPart: event.addContext }), { timeoutMs: turnBudgetMs });
  return {
    config(cfg) {
      agentModels.candidate = cfg.agent?.[CANDIDATE_AGENT]?.model;
      agentModels.judge = cfg.agent?.[JUDGE_AGENT]?.model;
    },
    tools: { [PLAN_TOOL]: planChannel.tool, [PATCH_TOOL]: patchChannel.tool, [VERDICT_TOOL]: verdictChannel.tool },
    modelCall(call) {
      const diverse = call.agent === CANDIDATE_AGENT || call.agent === BUILDER_AGENT;
      if (diverse && sessions.helperOf(call.sessionId)?.feature === "max") call.setTemperature?.(settings.temperature);
    },
    commands: { max: ({ sessionId, arguments: args }) => onCommand(sessionId, args) },
    // The user aborted a Max turn: the turn OpenCode starts for that message is stopped before its first request.
    async requestMessages(sessionId) {
      const state = sessions.peek(sessionId)?.get(maxSlot);
      if (!state?.abortNextTurn) return;
      state.abortNextTurn = false;
      await host.abort(sessionId).catch(() => undefined);
    },
    // OpenCode is shutting down: a check still running (without a sandbox to take it along) ends now.
    dispose: () => killRunningChecks(),
  };
}
