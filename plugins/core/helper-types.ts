// The shapes of the helper runner's API: what a feature asks for (HelperRequest, ResultChannelSpec), what it gets back
// (HelperOutcome, HelperUsage) and what /agents sees (RunView). The runner itself is helpers.ts.
import type { z } from "zod";
import type { Confinement } from "./confinement.ts";
import type { HostApi } from "./host.ts";
import type { CallTokens, ModelRef } from "./host-types.ts";
import type { Ledger } from "./ledger.ts";
import type { SessionLayer } from "./sessions.ts";
import type { PackTool } from "./tool.ts";

export type HelperFailure = "timeout" | "no-result" | "invalid-result" | "aborted" | "error";

export interface HelperUsage {
  tokens: CallTokens;
  cost: number;
  durationMs: number;
  /** Model calls the child made. */
  requests: number;
  /** The host reported nothing (the call was cut off): tokens are our estimate of what was sent. */
  estimated: boolean;
}

export type HelperOutcome<T> = {
  runId: string;
  childSessionId: string | undefined;
  usage: HelperUsage;
  attempts: number;
} & ({ ok: true; value: T } | { ok: false; failure: HelperFailure; message: string });

export type Acceptance<T> = { ok: true; value: T; reply: string } | { ok: false; problems: string[] };

export interface ResultChannelSpec<Shape extends z.ZodRawShape, T, C> {
  description: string;
  args: Shape;
  /** Checks beyond the schema and any side effect of accepting (e.g. storing); runs inside the tool call. */
  accept(args: z.infer<z.ZodObject<Shape>>, context: C): Acceptance<T>;
  /** What a caller outside a run of this channel is told. */
  reserved: string;
}

export interface ResultChannel<T, C> {
  readonly name: string;
  readonly tool: PackTool;
  /** Brand only: ties a request's value type to its channel. */
  readonly _types?: { value: T; context: C };
}

export interface HelperRequest<T, C> {
  feature: string;
  agent: string;
  parentSessionId: string;
  title: string;
  prompt: string;
  /**
   * Where the result comes from. Without a channel the run is in "final text" mode: it ends when the child's turn
   * ends, and its value (T = string) is the last assistant text of the child session.
   */
  channel?: ResultChannel<T, C>;
  context: C;
  /** Tools switched on or off for this run's child session only (OpenCode's per-prompt `tools`). */
  tools?: Record<string, boolean>;
  model?: ModelRef;
  timeoutMs: number;
  /** Extra attempts after the first when no valid result came. */
  retries: number;
  retryPrompt?(problem: string | undefined): string;
  signal?: AbortSignal;
  /** Shown by /agents. */
  reason?: string;
  /** The child works in this git worktree: its file and shell tools are kept inside it (core/confinement.ts). */
  worktree?: Confinement;
  /** Told the run's id and child session as soon as the child exists (before any model call). */
  onStarted?(runId: string, childSessionId: string): void;
}

export type RunState = "queued" | "running" | "done" | "failed";

export interface RunView {
  runId: string;
  feature: string;
  agent: string;
  parentSessionId: string;
  childSessionId: string | undefined;
  state: RunState;
  reason?: string;
  startedAt: number;
  attempts: number;
  tokens: number;
  outcome?: string;
}

export interface HelperRunnerOptions {
  host: HostApi;
  sessions: SessionLayer;
  ledger?: Ledger;
  maxConcurrent: number;
  projectId: string;
  log(level: "info" | "warn", message: string): void;
  now?(): number;
}
