// The adapter of the git guard (plugins/core/shell-guard.ts): which policy a session's bash call runs under, and
// what that means in OpenCode. A hidden helper's dangerous git is refused (the throw becomes the tool result); a
// pack agent in the user's session gets its command put behind a marker line that its own `ask` rule catches, so
// OpenCode's permission prompt asks the user before anything of it runs (no plugin API raises that prompt).
import { RefuseToolCall } from "../core/tool.ts";
import type { HelperRunner } from "../core/helpers.ts";
import type { SessionLayer } from "../core/sessions.ts";
import { guardPolicy, guardShell, type GuardPolicy } from "../core/shell-guard.ts";

/** The session's policy: its own agent, a helper mark, or a guarded ancestor (a subagent started by one). */
export function policyOf(
  sessionId: string,
  sessions: Pick<SessionLayer, "peek" | "helperOf" | "parentOf">,
  helpers: Pick<HelperRunner, "isHelperSession">,
): GuardPolicy | undefined {
  const own = (id: string) => ({
    helper: helpers.isHelperSession(id) || sessions.helperOf(id) !== undefined,
    agent: sessions.peek(id)?.lastTurn.agent,
  });
  let ancestorGuarded = false;
  let parent = sessions.parentOf(sessionId);
  for (let hops = 0; parent && hops < 8 && !ancestorGuarded; hops++, parent = sessions.parentOf(parent)) {
    ancestorGuarded = guardPolicy({ ...own(parent), ancestorGuarded: false }) !== undefined;
  }
  return guardPolicy({ ...own(sessionId), ancestorGuarded });
}

/** Runs before the confinement rewrite, on the command as the agent wrote it. Edits args in place or throws. */
export function guardBashCall(
  tool: string,
  sessionId: string,
  args: unknown,
  sessions: Parameters<typeof policyOf>[1],
  helpers: Parameters<typeof policyOf>[2],
): void {
  if (tool !== "bash" || !args || typeof args !== "object") return;
  const record = args as Record<string, unknown>;
  if (typeof record.command !== "string") return;
  const policy = policyOf(sessionId, sessions, helpers);
  if (!policy) return;
  let decision;
  try {
    decision = guardShell(record.command, policy);
  } catch (error) {
    // The hook isolation would log an error and let the command run: a guard that fails must refuse instead.
    throw new RefuseToolCall(
      `The pack's git guard could not check this command (${(error as Error).message}); nothing ran.`,
    );
  }
  if (decision.action === "refuse") throw new RefuseToolCall(decision.message);
  if (decision.action === "ask") record.command = decision.command;
}
