// The engine's shapes: what it asks of its ports (agents, merge, check), what callers pass and get back, and the
// state of one run that the lifecycle, the script host and the agent/merge calls share.
import type { CheckPort } from "./check-call.ts";
import type { ProjectFiles } from "./files.ts";
import type { Journal, RunRecord, RunStore } from "./journal.ts";
import type { WorkflowLoader } from "./loader.ts";
import type { Budget, Sandbox } from "./sandbox.ts";

export interface AgentCall {
  runId: string;
  workflow: string;
  prompt: string;
  schema?: Record<string, unknown>;
  agent: string;
  model?: string;
  label: string;
  phase?: string;
  timeoutMs: number;
  isolation?: "worktree";
  parentSessionId?: string;
  signal: AbortSignal;
}

export type AgentAnswer = { ok: true; value: unknown; tokens: number } | { ok: false; message: string; tokens: number };

export interface AgentPort {
  run(call: AgentCall): Promise<AgentAnswer>;
}

export interface WorkflowLimits {
  memoryMiB: number;
  sliceMs: number;
  maxStackKiB: number;
  activeMs: number;
  deadlineMs: number;
  agentTimeoutMs: number;
}

export type ProgressKind = "started" | "phase" | "agent" | "finished";

/** merge(changes): applies isolated agents' diffs to the user's working tree (compose's merge-back in OpenCode). */
export type MergePort = (changes: unknown) => Promise<{ ok: boolean } & Record<string, unknown>>;

export interface EngineOptions {
  loader: WorkflowLoader;
  merge?: MergePort;
  /** check(command): runs a project command by code, confined (worktreeCheckPort in OpenCode). */
  check?: CheckPort;
  store: RunStore;
  projectDir: string;
  dataDir?: string; // the pack's data dir: scripts never write there
  /** Asked before every script write (the user's OpenCode `edit` permission in OpenCode): why not, or undefined. */
  writePolicy?: (rel: string, agent: string | undefined) => string | undefined;
  agents: AgentPort;
  limits: WorkflowLimits;
  defaultAgent?: string;
  onProgress?(run: RunRecord, kind: ProgressKind): void;
  log?(level: "info" | "warn", message: string): void;
}

export interface StartRequest {
  target: string;
  args?: unknown;
  parentSessionId?: string;
  /** The agent that asked for the run: its own OpenCode edit permission applies to the script's writes. */
  agent?: string;
  /** Math.random's seed; random when not given (tests and benchmarks pin it). */
  seed?: number;
}

export interface StartedRun {
  record: RunRecord;
  done: Promise<RunRecord>;
  /** Said once when resuming: why the journal was dropped. */
  notice?: string;
}

/** One run in this process. */
export interface ActiveRun {
  record: RunRecord;
  journal: Journal;
  budget: Budget;
  controller: AbortController;
  sandboxes: Set<Sandbox>;
  files: ProjectFiles;
  /** agent() calls still out: a stopped run waits (briefly) for them to wind down before it reports its end. */
  inflight: Set<Promise<unknown>>;
  done: Promise<RunRecord>;
}

/** What a script's host calls need: the engine's options and the run they act on. */
export interface RunScope {
  options: EngineOptions;
  run: ActiveRun;
}

/** Counts calls with the same identity within one script, so repeated identical calls get distinct journal keys. */
export type Occurrence = (identity: string) => number;
