// The user's OpenCode `edit` permission, read from the live merged config, for writes the pack makes on a script's
// behalf (a script cannot answer OpenCode's "ask"). Host-free: the adapter hands over the config it was given.
// OpenCode's semantics: a value is "allow" | "ask" | "deny" or { pattern: action }; patterns are wildcards (`*` any
// run of characters, `/` included, `?` one character) matched against the project-relative path; the global rules
// come first, the agent's after them, and the last matching rule wins. Nothing matching is "allow".
import { z } from "zod";

export type PermissionAction = "allow" | "ask" | "deny";

const action = z.enum(["allow", "ask", "deny"]);
const value = z.union([action, z.record(z.string(), action)]);
type PermissionValue = z.infer<typeof value>;

interface Rule {
  pattern: string;
  action: PermissionAction;
}

export interface EditPermissions {
  /** What OpenCode would do for an edit of this project-relative path ("/" separators) by this agent. */
  decide(rel: string, agent?: string): { action: PermissionAction; rule: string };
}

/** OpenCode's built-in agents with edit rules of their own (used when the user's config says nothing for them). */
const BUILT_IN: Record<string, Rule[]> = { plan: [{ pattern: "*", action: "deny" }] };

/** The edit rules of a merged OpenCode config (global `permission`, every `agent.<name>.permission`). */
export function editPermissions(config: unknown): EditPermissions {
  const cfg = (config ?? {}) as { permission?: unknown; agent?: Record<string, { permission?: unknown } | undefined> };
  const global = rulesOf(cfg.permission);
  const agents = new Map<string, Rule[] | undefined>();
  for (const [name, agent] of Object.entries(cfg.agent ?? {}))
    agents.set(name, agent?.permission === undefined ? undefined : rulesOf(agent.permission));
  return {
    decide(rel, agent) {
      const own = agent === undefined ? undefined : (agents.get(agent) ?? BUILT_IN[agent]);
      const rules = [...(global ?? []), ...(own ?? [])];
      for (let i = rules.length - 1; i >= 0; i--) {
        if (wildcardMatch(rel, rules[i]!.pattern)) return { action: rules[i]!.action, rule: rules[i]!.pattern };
      }
      return { action: "allow", rule: "(none: OpenCode's default)" };
    },
  };
}

/** Only the `edit` key counts (a bare string applies to every tool, edit included); anything unreadable is no rule. */
function rulesOf(permission: unknown): Rule[] | undefined {
  if (typeof permission === "string") {
    const parsed = action.safeParse(permission);
    return parsed.success ? [{ pattern: "*", action: parsed.data }] : undefined;
  }
  if (!permission || typeof permission !== "object") return undefined;
  const edit = value.safeParse((permission as Record<string, unknown>).edit);
  if (!edit.success) return undefined;
  return toRules(edit.data);
}

function toRules(edit: PermissionValue): Rule[] {
  if (typeof edit === "string") return [{ pattern: "*", action: edit }];
  return Object.entries(edit).map(([pattern, act]) => ({ pattern, action: act }));
}

/** OpenCode's wildcard: the whole text must match; `*` is any run of characters, `?` one, the rest literal. */
export function wildcardMatch(text: string, pattern: string): boolean {
  let source = "";
  for (const char of pattern)
    source += char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  return new RegExp(`^${source}$`, "s").test(text);
}

/** Why a script may not write `rel`, or undefined when OpenCode's edit permission allows it. */
export function scriptWriteRefusal(
  permissions: EditPermissions | undefined,
  rel: string,
  agent?: string,
): string | undefined {
  if (!permissions) return undefined;
  const { action: decided, rule } = permissions.decide(rel, agent);
  if (decided === "allow") return undefined;
  const whose = agent ? `the ${agent} agent's` : "your";
  if (decided === "deny")
    return `refused: ${whose} OpenCode edit permission denies it (rule "${rule}"); workflow scripts follow it`;
  return `refused: ${whose} OpenCode edit permission is "ask" for it (rule "${rule}") and a script cannot ask you. To let scripts write it, set "permission": { "edit": { "${rel}": "allow" } } (or a pattern such as "*.md") in opencode.json${agent ? `, or in the ${agent} agent's permission` : ""}`;
}
