// Who may call goal_verdict, set through OpenCode's config hook. Pure edits of the config object, fill-only:
// a rule the user wrote for the tool always wins.

export const VERDICT_TOOL = "goal_verdict";
export const JUDGE_AGENT = "goal-judge";

type Permission = string | Record<string, unknown> | undefined;

interface ConfigShape {
  permission?: unknown;
  agent?: Record<string, { permission?: unknown } | undefined>;
}

/**
 * Denies the verdict tool to every agent, so the worker never sees it; and keeps it allowed for the judge even
 * when the user's own goal-judge.md replaces the pack's permission block (otherwise no verdict could ever land).
 */
export function restrictVerdictTool(cfg: ConfigShape): void {
  cfg.permission = withDefault(cfg.permission as Permission, "deny");
  const judge = cfg.agent?.[JUDGE_AGENT];
  if (judge && judge.permission !== undefined) judge.permission = withDefault(judge.permission as Permission, "allow");
}

function withDefault(permission: Permission, action: "allow" | "deny"): Permission {
  if (typeof permission === "string") return permission;
  const rules = permission ?? {};
  if (rules[VERDICT_TOOL] === undefined) rules[VERDICT_TOOL] = action;
  return rules;
}
