// Tools that only one of the pack's hidden agents may call (the judge's verdict, the writer's checkpoint).
// Denied to every other agent through OpenCode's permission config, so the main agent never even sees them;
// fill-only: a rule the user wrote for the tool always wins.

export interface InternalTool {
  tool: string;
  /** The one agent allowed to call it. */
  agent: string;
}

type Permission = string | Record<string, unknown> | undefined;

interface ConfigShape {
  permission?: unknown;
  agent?: Record<string, { permission?: unknown } | undefined>;
}

/**
 * Denies the tool in the global permission block and keeps it allowed for its agent, even when the user's own
 * definition of that agent replaces the pack's permission block (otherwise the agent could never record anything).
 */
export function restrictInternalTool(cfg: ConfigShape, internal: InternalTool): void {
  cfg.permission = withDefault(cfg.permission as Permission, internal.tool, "deny");
  const owner = cfg.agent?.[internal.agent];
  if (owner && owner.permission !== undefined)
    owner.permission = withDefault(owner.permission as Permission, internal.tool, "allow");
}

/**
 * A hidden helper agent (writer, judge) is not something the main agent should start through OpenCode's `task`
 * tool: `hidden` only hides it in the TUI, and the task tool lists every subagent the caller may use. A deny rule for
 * it under `permission.task` keeps it out (fill-only: a rule the user wrote for that agent wins).
 */
export function keepOutOfTaskTool(cfg: ConfigShape, agent: string): void {
  const permission = cfg.permission as Permission;
  const rules: Record<string, unknown> = typeof permission === "string" ? { "*": permission } : (permission ?? {});
  rules.task = withDefault(rules.task as Permission, agent, "deny");
  cfg.permission = rules;
}

function withDefault(permission: Permission, tool: string, action: "allow" | "deny"): Permission {
  // A blanket string ("allow") becomes the equivalent wildcard rule, so a rule for this one tool can follow it.
  const rules: Record<string, unknown> = typeof permission === "string" ? { "*": permission } : (permission ?? {});
  if (rules[tool] === undefined) rules[tool] = action;
  return rules;
}
