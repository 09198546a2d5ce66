// What every feature module receives from the entry, and what it gives back. Host-neutral: features see the
// session layer, the helper runner, the ledger and the host API, never OpenCode's hooks or events.
import type { ContinuumConfig, FeatureName } from "./config-schema.ts";
import type { Continuation } from "./continuation.ts";
import type { EditPermissions } from "./edit-permission.ts";
import type { HelperRunner } from "./helpers.ts";
import type { HostApi } from "./host.ts";
import type { HostMessage } from "./host-types.ts";
import type { InternalTool } from "./internal-tools.ts";
import type { MergeReport } from "./merge-report.ts";
import type { Ledger } from "./ledger.ts";
import type { PackPaths, ProjectPaths } from "./paths.ts";
import type { ProjectIdentity } from "./project-id.ts";
import type { Reporter } from "./report.ts";
import type { Sandbox } from "./sandbox.ts";
import type { SessionLayer } from "./sessions.ts";
import type { Database } from "./storage/database.ts";
import type { PackTool } from "./tool.ts";
import type { Worktrees } from "./worktrees.ts";

/** What memory offers the other features. */
export interface MemoryServices {
  /** The project's Rules section of MEMORY.md, as text ("" when none). */
  projectRules(): string;
  /** The memory files a rebuild dump shows. */
  rebuildFiles(sessionId: string): {
    projectMemory: string;
    globalMemory: string;
    notes: string;
    memoryIndex: string[];
  };
  /** The context was rebuilt: the next request gets a freshly assembled block. */
  contextRebuilt(sessionId: string): void;
  /** A memory block for another agent's session (a `task` subagent): ranked by `query`, within `budgetTokens`. */
  blockFor(sessionId: string, query: string, budgetTokens: number): { text: string; tokens: number };
  /**
   * The project MEMORY.md (dream): its path, its bytes now (undefined when there is none yet) and its text as the
   * memory reads it (stray bytes cleaned; what replaceFile's `expect` is compared with); `unreadable` when not text.
   */
  projectMemory(): { file: string; bytes: Uint8Array | undefined; text: string; unreadable?: string };
  /**
   * Replaces a memory file's whole text if it still holds `expect`: redacted, locked, previous version kept, atomic.
   * `versionFile` is the kept previous version (none when the file did not exist).
   */
  replaceFile(
    file: string,
    text: string,
    expect: string,
  ): Promise<{ ok: true; content: string; versionFile: string | undefined } | { ok: false; reason: string }>;
  /** Puts exact bytes back (undefined removes the file) if its bytes still hash to `expectSha256`; keeps a version. */
  restoreFile(
    file: string,
    bytes: Uint8Array | undefined,
    expectSha256: string,
  ): Promise<{ ok: true } | { ok: false; reason: string }>;
}

/** What the task tree offers the other features: read-only views of a session's tree. */
export interface TaskServices {
  /** How many tasks the session has, and whether every one is done or abandoned. */
  summary(sessionId: string): { count: number; allSettled: boolean };
  /** The tree as the checkpoint's task ledger section shows it. */
  ledger(sessionId: string): string;
  /** The tree with statuses and notes, as the goal judge reads it. */
  tree(sessionId: string): string;
  /** Tasks still open, in progress or blocked. */
  unfinished(sessionId: string): { id: string; title: string; status: string }[];
}

/** What compose offers the other features (a workflow's merge of its isolated agents' diffs). */
export interface ComposeServices {
  /**
   * Applies the diffs to the user's working tree in order, all or nothing: their uncommitted work is copied aside
   * first, a change that does not apply stops the merge before anything is touched, with its files named.
   * Untrusted input is checked (labels, diff sizes); a bad call resolves to a report with the reason.
   */
  mergeBack(changes: unknown): Promise<MergeReport>;
}

/** What the workflow engine offers /agents: the runs in progress in this process. */
export interface WorkflowServices {
  /** One line per run in progress: name, id, phase, agents running/finished and tokens so far. */
  running(): { id: string; line: string }[];
  cancel(runId: string): boolean;
}

/** The user's OpenCode permissions, as the host's live config gives them (filled by the adapter, not a feature). */
export interface PermissionServices {
  /** Undefined until the host handed over its config. */
  edit: EditPermissions | undefined;
}

/** What the checkpoint feature offers the other features (and the CLI): a session's latest checkpoint.md. */
export interface CheckpointServices {
  /** The session's latest checkpoint.md and when it was written; undefined when there is none or it is unreadable. */
  latest(sessionId: string): { text: string; writtenAt: number } | undefined;
  /**
   * The latest checkpoint's sections by key (active_intent, next_action, directives, task_tree, current_work, files,
   * knowledge, errors, live_resources, decisions, open_notes); a section reading "(none)" is absent.
   */
  sections(sessionId: string): { sections: Readonly<Record<string, string>>; writtenAt: number } | undefined;
}

/** What the subagents feature offers: the `task` children it tracks, and their cancellation. */
export interface SubagentServices {
  /** Subagents still running under this root session (its own children and theirs), oldest first. */
  active(rootSessionId: string): Array<{
    sessionId: string;
    agent: string;
    description: string;
    startedAt: number;
    tokens: number;
  }>;
  /** Stops one subagent (by its session id or ledger run id) and only it; false when no such running subagent. */
  cancel(id: string): Promise<boolean>;
}

/** The services a feature can provide, by name: one provider each, declared in its module's `provides`. */
export interface ProvidedServices {
  memory: MemoryServices;
  tasks: TaskServices;
  checkpoint: CheckpointServices;
  workflow: WorkflowServices;
  compose: ComposeServices;
  subagents: SubagentServices;
}

export type ServiceName = keyof ProvidedServices;

/**
 * What a feature sees of the others: the services it declared in `needs` (always there) and `uses` (undefined when
 * their provider is off), plus the host's permissions. Boot starts providers first, so these are set at `create`.
 */
export type FeatureServices = Partial<ProvidedServices> & { permissions?: PermissionServices };

export interface FeatureContext {
  config: ContinuumConfig;
  project: ProjectIdentity;
  paths: PackPaths;
  projectPaths: ProjectPaths;
  /** Git worktrees of this project for helpers that change code (under the pack's data dir). */
  worktrees: Worktrees;
  /** Undefined when storage is unavailable; features that need it are then not started. */
  db: Database | undefined;
  reporter: Reporter;
  /** The OS sandbox for helpers' shells and the project's checks (detected on first use). */
  sandbox(): Sandbox;
  host: HostApi;
  sessions: SessionLayer;
  /** The one sender of "go on" prompts at idle: features register their pure deciders here. */
  continuation: Continuation;
  helpers: HelperRunner;
  ledger: Ledger | undefined;
  services: FeatureServices;
  /** Offers a service this feature declared in `provides` (during `create`; kept only if `create` succeeds). */
  provide<K extends ServiceName>(name: K, service: ProvidedServices[K]): void;
}

/** One model call about to be made (OpenCode: chat.params). */
export interface ModelCall {
  sessionId: string;
  agent: string;
  providerID: string;
  modelID: string;
  limit: { context: number; input?: number; output: number };
  /** Sets this call's sampling temperature (a feature's own hidden agents only); absent when the model takes none. */
  setTemperature?(value: number): void;
}

/**
 * A user message about to be stored, as Max's turn runner takes it (built from the session layer's turn.started).
 * `addPart` adds one synthetic text part to it (persisted with the message); the turn starts once it returns.
 */
export interface UserTurn {
  sessionId: string;
  agent?: string;
  model?: { providerID: string; modelID: string };
  origin: "person" | "pack" | "empty";
  text: string;
  addPart(text: string): void;
  /**
   * Answers this turn with a fixed text and no model call (the local report model); false when the host cannot
   * (no report model configured), and the turn then goes to the model as usual.
   */
  answerLocally?(text: string): boolean;
}

/** The system prompt of one model call; `add` appends a separate entry (the first stays cache-stable). */
export interface SystemPromptCall {
  sessionId: string;
  /** OpenCode's own title/summary helpers share the session id; nothing of the pack belongs there. */
  hostHelper: boolean;
  add(text: string): void;
}

/**
 * A command's answer: a report shown without a model call, or a prompt that starts real work (`notice`, when given,
 * is shown first, as a report).
 */
export type CommandReply =
  | {
      kind: "report";
      text: string;
      variant?: "info" | "warning";
      /**
       * Called once the report has been shown and the session is back on its own model. A message stored in the
       * session before then would land inside the report's turn (and cost a model call).
       */
      settled?: () => void;
    }
  | { kind: "prompt"; text: string; notice?: string };

export type CommandHandler = (call: { sessionId: string; arguments: string }) => Promise<CommandReply> | CommandReply;

/** A tool as the host takes it (core/tool.ts's PackTool, or the host's own tool() shape). */
export type HostTool = {
  description: string;
  args: Record<string, unknown>;
  execute(args: any, context: any): Promise<unknown>;
};

export interface FeatureParts {
  tools?: Record<string, HostTool | PackTool>;
  modelCall?(call: ModelCall): void | Promise<void>;
  systemPrompt?(call: SystemPromptCall): void | Promise<void>;
  /** The messages of the next request, to edit in place (never persisted). */
  requestMessages?(sessionId: string, messages: HostMessage[]): void | Promise<void>;
  /** OpenCode is about to compact the session: add lines to its summary prompt. */
  compacting?(sessionId: string, add: (text: string) => void): void | Promise<void>;
  commands?: Record<string, CommandHandler>;
  /** A command handler allowed to run this long (one that waits for its run under a one-shot host). */
  commandTimeoutMs?: number;
  /** The host's merged configuration, read once at start (agents the user defined). */
  config?(config: { agent?: Record<string, { model?: string } | undefined> }): void;
  dispose?(): void | Promise<void>;
}

export interface FeatureAssets {
  agents?: string[];
  commands?: string[];
  /** Pack skills (skills/<name>/) offered only while this feature is on. */
  skills?: string[];
}

export interface FeatureModule {
  name: FeatureName;
  needsDatabase: boolean;
  /** Services this feature offers through `context.provide` (it starts before every feature that needs or uses them). */
  provides?: ServiceName[];
  /** Services this feature cannot start without: it is off, with a message, when their provider is off. */
  needs?: ServiceName[];
  /** Services this feature reads when their provider is on (undefined otherwise). */
  uses?: ServiceName[];
  /**
   * Services read only after start-up (in hooks and events, never in `create`): no start-up order, so two features
   * may read each other's (a provider that uses this feature's service starts after it); undefined when off.
   */
  usesLater?: ServiceName[];
  assets?: FeatureAssets;
  /** Tools only one of the feature's hidden agents may call; denied to every other agent. */
  internalTools?: InternalTool[];
  create(context: FeatureContext): Promise<FeatureParts> | FeatureParts;
}
