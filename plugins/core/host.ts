// What the pack asks of its host, in its own words. The OpenCode adapter implements it over the SDK client;
// features and the helper runner see only this.
import type { HostMessage, ModelRef } from "./host-types.ts";

export interface PromptBody {
  text: string;
  agent?: string;
  model?: ModelRef;
  /** Per-session tool switches (OpenCode turns them into the session's own permission rules). */
  tools?: Record<string, boolean>;
}

export interface HostSessionInfo {
  id: string;
  /** Set for child sessions (subagents, helpers). */
  parentId?: string;
  updatedAt: number;
}

export interface HostApi {
  /** The project directory OpenCode runs in. */
  readonly directory: string;
  /**
   * The host process ends when its first turn does (OpenCode's `opencode run`): work left running in the background
   * would be cut off, so a command that starts some waits for it instead.
   */
  readonly oneShot?: boolean;
  /** A new session under parentId; resolves with its id. */
  createChild(parentId: string, title: string): Promise<string>;
  /** Starts a turn and returns at once (the turn runs in the background). Throws when the host refuses. */
  sendPrompt(sessionId: string, body: PromptBody): Promise<void>;
  /**
   * Stores text in the session without any model call; false when the host refused. `hidden` keeps it out of the
   * model's context; agent/model make it the session's latest choice (what the next turn runs on).
   */
  showInSession(
    sessionId: string,
    text: string,
    options?: { hidden?: boolean; synthetic?: boolean; agent?: string; model?: ModelRef },
  ): Promise<boolean>;
  messages(sessionId: string): Promise<HostMessage[]>;
  /** The sessions the host has stored for this project (optional: hosts without a listing skip history backfill). */
  listSessions?(): Promise<HostSessionInfo[]>;
  abort(sessionId: string): Promise<void>;
  /** Answers a permission the host asked for in a session (a helper confined to its worktree writing there). */
  replyPermission(sessionId: string, permissionId: string, reply: "once" | "reject"): Promise<void>;
}
