// The one runner for every hidden agent the pack starts (checkpoint writer, goal judge, and the features to come).
// A run is a child session of the session it works for; its only result channel is a tool whose arguments are
// validated (prose is never parsed). Once a valid result is in, the run ends: the child's next model call is
// stopped before it is sent. Timeouts, retries, aborts and a process-wide concurrency limit live here, and every
// run is recorded in the ledger with what the host says it cost.
import { z } from "zod";
import { ToolInputError } from "./tool.ts";
import type { Confinement } from "./confinement.ts";
import { NO_TOKENS, type CallTokens, type HostMessage } from "./host-types.ts";
import { errorText } from "./report.ts";
import { slot } from "./sessions.ts";
import { estimateTokens, totalTokens } from "./tokens.ts";
import { defineTool } from "./tool.ts";

import type {
  HelperFailure,
  HelperUsage,
  HelperOutcome,
  ResultChannelSpec,
  ResultChannel,
  HelperRequest,
  RunView,
  HelperRunnerOptions,
} from "./helper-types.ts";
export type {
  HelperFailure,
  HelperUsage,
  HelperOutcome,
  Acceptance,
  ResultChannelSpec,
  ResultChannel,
  HelperRequest,
  RunState,
  RunView,
  HelperRunnerOptions,
} from "./helper-types.ts";

interface ActiveRun {
  view: RunView;
  request: HelperRequest<unknown, unknown>;
  value?: unknown;
  hasValue: boolean;
  lastProblem?: string;
  turnError?: string;
  sentText: string;
  /** Holds one of the process-wide slots. */
  acquired: boolean;
  settle(outcome: { ok: true } | { ok: false; failure: HelperFailure; message: string }): void;
  timer?: ReturnType<typeof setTimeout>;
}

const RECENT_KEPT = 50;

/**
 * On the helper (child) session's own record, not the parent's: the run is that session's whole purpose, and a tool
 * call reaches the runner by the child's id. Dropped when the child session is deleted.
 */
interface HelperSessionState {
  /** The run this child session serves, until the run finishes. */
  run?: ActiveRun;
  /** The worktree the child is confined to; kept past the run's end (a late tool call must not escape). */
  worktree?: Confinement;
}
export const helperSessionSlot = slot<HelperSessionState>("helpers", () => ({}));

export class HelperRunner {
  /** Keyed by run id: runs are the runner's own (bounded by the queue and the concurrency limit), not a session's. */
  private readonly active = new Map<string, ActiveRun>();
  private readonly recent: RunView[] = [];
  private readonly waiting: { run: ActiveRun; resolve(): void }[] = [];
  private runningCount = 0;
  private counter = 0;
  private readonly now: () => number;

  /** The child session's own state, without creating a record for a session never seen. */
  private childState(sessionId: string): HelperSessionState | undefined {
    const record = this.options.sessions.peek(sessionId);
    return record?.has(helperSessionSlot) ? record.get(helperSessionSlot) : undefined;
  }

  private runOf(sessionId: string): ActiveRun | undefined {
    return this.childState(sessionId)?.run;
  }

  constructor(private readonly options: HelperRunnerOptions) {
    this.now = options.now ?? Date.now;
    const { sessions } = options;
    sessions.on("helpers", "turn.ended", (event) => this.onChildTurnEnded(event.sessionId, event.how, event.error));
    sessions.on("helpers", "turn.failed", (event) => {
      const run = this.runOf(event.sessionId);
      if (run) run.turnError = event.error;
      // The user stopped a session: its helpers stop too, so no child is left busy.
      else if (event.aborted) this.cancelFor(event.sessionId, "the parent session was aborted");
    });
    sessions.on(
      "helpers",
      "session.deleted",
      (event) => void this.cancelFor(event.sessionId, "the parent session was deleted"),
    );
    sessions.on("helpers", "assistant.finished", (event) => {
      // Each call's spend goes to the ledger now: a run whose process dies still shows what it cost.
      const run = this.runOf(event.sessionId);
      if (run) this.options.ledger?.addRunSpend(run.view.runId, event.tokens, event.cost);
      this.cancelRequested();
    });
  }

  private lastCancelCheck = 0;
  /** `continuum agents cancel` (another process) leaves a request in the ledger; looked at most once a second. */
  private cancelRequested(): void {
    if (!this.options.ledger || this.active.size === 0 || this.now() - this.lastCancelCheck < 1000) return;
    this.lastCancelCheck = this.now();
    for (const runId of this.options.ledger.cancelRequests(process.pid))
      this.cancel(runId, "cancelled with continuum agents cancel");
  }

  /** Defines the result tool of one kind of run; register `channel.tool` with the feature's tools. */
  resultChannel<Shape extends z.ZodRawShape, T, C>(
    name: string,
    spec: ResultChannelSpec<Shape, T, C>,
  ): ResultChannel<T, C> {
    const tool = defineTool(name, {
      description: spec.description,
      args: spec.args,
      execute: (args, ctx) => {
        const run = this.runOf(ctx.sessionID);
        if (!run || run.request.channel?.name !== name) throw new ToolInputError(spec.reserved);
        if (run.hasValue) return "Already recorded. You are done.";
        const accepted = spec.accept(args, run.request.context as C);
        if (!accepted.ok) {
          run.lastProblem = accepted.problems.join("; ");
          throw new ToolInputError(
            `NOT recorded. Fix these and call ${name} again:\n- ${accepted.problems.join("\n- ")}`,
          );
        }
        run.value = accepted.value;
        run.hasValue = true;
        return accepted.reply;
      },
    });
    return { name, tool };
  }

  /** Runs one helper to its end; never throws. */
  async run<T, C>(request: HelperRequest<T, C>): Promise<HelperOutcome<T>> {
    const runId = `run_${this.now().toString(36)}_${(++this.counter).toString(36)}`;
    const view: RunView = {
      runId,
      feature: request.feature,
      agent: request.agent,
      parentSessionId: request.parentSessionId,
      childSessionId: undefined,
      state: "queued",
      reason: request.reason,
      startedAt: this.now(),
      attempts: 0,
      tokens: 0,
    };
    let settle!: ActiveRun["settle"];
    const settled = new Promise<Parameters<ActiveRun["settle"]>[0]>((resolve) => (settle = resolve));
    const run: ActiveRun = {
      view,
      request: request as HelperRequest<unknown, unknown>,
      hasValue: false,
      sentText: "",
      acquired: false,
      settle: (o) => settle(o),
    };
    this.active.set(runId, run);
    const onAbort = () => this.cancel(runId, "aborted by its feature");
    request.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (request.signal?.aborted)
        return this.finish(run, { ok: false, failure: "aborted", message: "aborted before it started" });
      const nested = this.helperAbove(request.parentSessionId);
      if (nested)
        return this.finish(run, {
          ok: false,
          failure: "error",
          message: `helpers do not start helpers (${nested} is one): a helper holds a slot while it waits, so nested helpers could hold every slot waiting on each other`,
        });
      await this.acquire(run);
      if (view.state !== "queued")
        return this.finish(run, {
          ok: false,
          failure: "aborted",
          message: `cancelled while queued: ${view.outcome ?? ""}`.trim(),
        });
      view.state = "running";
      view.startedAt = this.now();
      const started = await this.start(run);
      if (!started.ok) return this.finish(run, started);
      run.timer = setTimeout(
        () =>
          void this.stop(run, {
            ok: false,
            failure: "timeout",
            message: `no result within ${Math.round(request.timeoutMs / 1000)} s (timeout)`,
          }),
        request.timeoutMs,
      );
      (run.timer as { unref?: () => void }).unref?.();
      return this.finish(run, await settled);
    } finally {
      request.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Called before every model request of a session. True when the session is a helper whose result is already in:
   * the adapter then stops that request (the "done" turn nobody needs).
   */
  shouldStop(sessionId: string): boolean {
    return this.runOf(sessionId)?.hasValue === true;
  }

  /** The worktree a helper session must stay in, if any. */
  confinementOf(sessionId: string): Confinement | undefined {
    return this.childState(sessionId)?.worktree;
  }

  isHelperSession(sessionId: string): boolean {
    return this.runOf(sessionId) !== undefined;
  }

  /**
   * The helper session this session is or descends from (OpenCode's task tool makes sub-sessions), if any. A helper
   * run asked for from there is refused: it would wait for a slot while its ancestor holds one.
   */
  helperAbove(sessionId: string): string | undefined {
    let id: string | undefined = sessionId;
    for (let depth = 0; id && depth < 32; depth++) {
      if (this.runOf(id)) return id;
      id = this.options.sessions.parentOf(id);
    }
    return undefined;
  }

  /** Running and recent runs of this process, newest first. */
  list(): RunView[] {
    const running = [...this.active.values()].map((r) => ({ ...r.view }));
    return [...running.reverse(), ...this.recent.map((v) => ({ ...v }))];
  }

  /** Cancels one run by id (or its child session id); false when no such run is active. */
  cancel(id: string, why = "cancelled by the user"): boolean {
    const run = this.active.get(id) ?? this.runOf(id);
    if (!run) return false;
    if (run.view.state === "queued") {
      run.view.state = "failed";
      run.view.outcome = why;
      const index = this.waiting.findIndex((w) => w.run === run);
      if (index >= 0) this.waiting.splice(index, 1)[0]!.resolve();
      return true;
    }
    void this.stop(run, { ok: false, failure: "aborted", message: why });
    return true;
  }

  cancelFor(parentSessionId: string, why: string): number {
    let count = 0;
    for (const run of [...this.active.values()]) {
      if (run.view.parentSessionId === parentSessionId && this.cancel(run.view.runId, why)) count++;
    }
    return count;
  }

  activeCount(): number {
    return this.active.size;
  }

  // ---- inside a run -------------------------------------------------------------------------------------

  private async start(run: ActiveRun): Promise<{ ok: true } | { ok: false; failure: HelperFailure; message: string }> {
    const { host, sessions, ledger } = this.options;
    const request = run.request;
    try {
      const childId = await host.createChild(request.parentSessionId, request.title);
      run.view.childSessionId = childId;
      sessions.markHelper(childId, request.parentSessionId, { feature: request.feature, agent: request.agent });
      const state = sessions.session(childId).get(helperSessionSlot);
      state.run = run;
      if (request.worktree) state.worktree = request.worktree;
      ledger?.startRun({ ...run.view, projectId: this.options.projectId });
      request.onStarted?.(run.view.runId, childId);
      await this.send(run, request.prompt);
      this.options.log(
        "info",
        `${request.feature}: ${request.agent} ${run.view.runId} started in ${childId} for ${request.parentSessionId}`,
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, failure: "error", message: `could not start: ${errorText(error)}` };
    }
  }

  private async send(run: ActiveRun, text: string): Promise<void> {
    run.view.attempts++;
    run.sentText += text;
    const tools = run.request.tools;
    await this.options.host.sendPrompt(run.view.childSessionId!, {
      text,
      agent: run.request.agent,
      model: run.request.model,
      ...(tools ? { tools } : {}),
    });
  }

  private async onChildTurnEnded(sessionId: string, how: string, error: string | undefined): Promise<void> {
    const run = this.runOf(sessionId);
    if (!run || run.view.state !== "running") return;
    if (run.hasValue) return this.stop(run, { ok: true }, true);
    if (!run.request.channel && how === "idle") await this.takeFinalText(run);
    if (run.hasValue) return this.stop(run, { ok: true }, true);
    const failedTurn = how === "error" ? (error ?? run.turnError ?? "the model call failed") : undefined;
    run.turnError = undefined;
    if (run.view.attempts <= run.request.retries) {
      const retry =
        run.request.retryPrompt?.(run.lastProblem) ??
        (run.request.channel
          ? `You did not record a result. Call ${run.request.channel.name} now.`
          : "You ended without an answer. Reply with your final answer as text.");
      try {
        return await this.send(run, retry);
      } catch (sendError) {
        return this.stop(run, { ok: false, failure: "error", message: `retry failed: ${errorText(sendError)}` });
      }
    }
    if (run.lastProblem)
      return this.stop(
        run,
        {
          ok: false,
          failure: "invalid-result",
          message: `no valid result after ${run.view.attempts} attempts: ${run.lastProblem}`,
        },
        true,
      );
    if (failedTurn) return this.stop(run, { ok: false, failure: "error", message: failedTurn }, true);
    const missing = run.request.channel
      ? `ended without calling ${run.request.channel.name}`
      : "ended without a final text answer";
    return this.stop(run, { ok: false, failure: "no-result", message: missing }, true);
  }

  /** Final-text mode: the child's last assistant text becomes the run's value (none: no value yet). */
  private async takeFinalText(run: ActiveRun): Promise<void> {
    const messages = await this.options.host.messages(run.view.childSessionId!).catch(() => [] as HostMessage[]);
    const text = finalAssistantText(messages);
    if (run.view.state !== "running" || text === undefined) return;
    run.value = text;
    run.hasValue = true;
  }

  /** Ends a running run: aborts its child (unless its turn just ended), then settles. */
  private async stop(
    run: ActiveRun,
    outcome: { ok: true } | { ok: false; failure: HelperFailure; message: string },
    childIdle = false,
  ): Promise<void> {
    if (run.view.state !== "running") return;
    // A result recorded in time wins over a timeout or cancel that raced it.
    const final = run.hasValue && !outcome.ok ? ({ ok: true } as const) : outcome;
    run.view.state = final.ok ? "done" : "failed";
    clearTimeout(run.timer);
    const childId = run.view.childSessionId;
    // Aborting an idle session is harmless; not aborting a busy one would leave it running.
    if (childId && !childIdle) await this.options.host.abort(childId).catch(() => undefined);
    run.settle(final);
  }

  private async finish<T>(
    run: ActiveRun,
    outcome: { ok: true } | { ok: false; failure: HelperFailure; message: string },
  ): Promise<HelperOutcome<T>> {
    const usage = await this.usage(run);
    const childId = run.view.childSessionId;
    // A confined child stays confined (its worktree stays in its record): it is aborted by now, but a tool call
    // already under way must not escape.
    const state = childId ? this.childState(childId) : undefined;
    if (state?.run === run) state.run = undefined;
    this.active.delete(run.view.runId);
    run.view.state = outcome.ok ? "done" : "failed";
    run.view.tokens = totalTokens(usage.tokens);
    run.view.outcome = outcome.ok ? "ok" : outcome.failure;
    this.recent.unshift({ ...run.view });
    this.recent.length = Math.min(this.recent.length, RECENT_KEPT);
    if (run.acquired) this.release();
    if (childId)
      this.options.ledger?.endRun(run.view.runId, {
        outcome: run.view.outcome,
        usage,
        detail: outcome.ok ? undefined : outcome.message,
      });
    if (!outcome.ok)
      this.options.log(
        "warn",
        `${run.request.feature}: ${run.request.agent} ${run.view.runId} failed (${outcome.failure}): ${outcome.message}`,
      );
    const base = { runId: run.view.runId, childSessionId: childId, usage, attempts: run.view.attempts };
    return outcome.ok
      ? { ...base, ok: true, value: run.value as T }
      : { ...base, ok: false, failure: outcome.failure, message: outcome.message };
  }

  /** What the child's model calls cost, as the host recorded them; estimated from what was sent when it says nothing. */
  private async usage(run: ActiveRun): Promise<HelperUsage> {
    const durationMs = Math.max(0, this.now() - run.view.startedAt);
    const childId = run.view.childSessionId;
    const messages = childId ? await this.options.host.messages(childId).catch(() => [] as HostMessage[]) : [];
    const summed = sumUsage(messages);
    if (summed.requests > 0 && summed.tokens.input + summed.tokens.output + summed.tokens.cacheRead > 0)
      return { ...summed, durationMs, estimated: false };
    if (!run.sentText) return { ...summed, durationMs, estimated: false };
    return {
      tokens: { ...NO_TOKENS, input: estimateTokens(run.sentText) },
      cost: 0,
      requests: Math.max(1, summed.requests),
      durationMs,
      estimated: true,
    };
  }

  // ---- concurrency ---------------------------------------------------------------------------------------

  private acquire(run: ActiveRun): Promise<void> {
    if (this.runningCount < this.options.maxConcurrent) {
      this.runningCount++;
      run.acquired = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push({ run, resolve }));
  }

  private release(): void {
    this.runningCount = Math.max(0, this.runningCount - 1);
    const next = this.waiting.shift();
    if (!next) return;
    this.runningCount++;
    next.run.acquired = true;
    next.resolve();
  }
}

/** The text of the last assistant message that has any (its text parts joined); undefined when none does. */
export function finalAssistantText(messages: readonly HostMessage[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const { info, parts } = messages[i]!;
    if (info.role !== "assistant" || info.summary) continue;
    const text = parts
      .filter((p) => p.type === "text" && !p.synthetic && !p.ignored && typeof p.text === "string")
      .map((p) => p.text!)
      .join("\n")
      .trim();
    if (text) return text;
  }
  return undefined;
}

/** Sums the assistant calls of a session: tokens, cost, count. */
export function sumUsage(messages: readonly HostMessage[]): { tokens: CallTokens; cost: number; requests: number } {
  const tokens = { ...NO_TOKENS };
  let cost = 0;
  let requests = 0;
  for (const { info } of messages) {
    if (info.role !== "assistant") continue;
    requests++;
    // Parsed by the host adapter (HostApi.messages): core never reads the host's own token shape.
    const t = info.callTokens;
    cost += Number(info.cost ?? 0) || 0;
    if (!t) continue;
    tokens.input += t.input;
    tokens.output += t.output;
    tokens.reasoning += t.reasoning;
    tokens.cacheRead += t.cacheRead;
    tokens.cacheWrite += t.cacheWrite;
  }
  return { tokens, cost, requests };
}
