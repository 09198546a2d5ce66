// The one way a pack tool is defined. OpenCode 1.18.33 hands `execute` whatever the model sent (wrong types, a
// bare string, extra keys), so every tool validates its raw arguments with its zod shape first, answers bad input
// with a message naming the argument, and caps what it returns. Host-neutral: the shape is what OpenCode's
// `tool()` produces, so the entry passes these through unchanged.
import { z } from "zod";

/**
 * Throw this on purpose to refuse: from tool.execute.before it blocks the tool call (the model sees the message),
 * from command.execute.before it cancels the command. It is the one error the isolation lets through.
 */
export class RefuseToolCall extends Error {
  override name = "RefuseToolCall";
}

/** Throw this from a tool's execute for bad input: the model sees the message, nothing is reported as a fault. */
export class ToolInputError extends Error {
  override name = "ToolInputError";
}

/** What a tool call knows about its caller (a subset of the host's tool context). */
export interface ToolCallContext {
  sessionID: string;
  messageID: string;
  agent: string;
  abort: AbortSignal;
  directory?: string;
  worktree?: string;
}

export interface PackToolSpec<Shape extends z.ZodRawShape> {
  description: string;
  args: Shape;
  /** Output longer than this is cut with a note (default 16,000 characters). */
  maxOutputChars?: number;
  /** Rules the shape cannot state (e.g. which arguments an action needs); each returned line is one problem. */
  check?(args: z.infer<z.ZodObject<Shape>>): string[];
  execute(args: z.infer<z.ZodObject<Shape>>, context: ToolCallContext): Promise<string> | string;
}

export interface PackTool<Shape extends z.ZodRawShape = z.ZodRawShape> {
  description: string;
  args: Shape;
  execute(args: unknown, context: ToolCallContext): Promise<string>;
}

export const DEFAULT_MAX_OUTPUT_CHARS = 16_000;

export function defineTool<Shape extends z.ZodRawShape>(name: string, spec: PackToolSpec<Shape>): PackTool<Shape> {
  const schema = z.object(spec.args).strict();
  const cap = spec.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
  return {
    description: spec.description,
    args: spec.args,
    async execute(raw, context) {
      const parsed = schema.safeParse(withoutNulls(asObject(raw)));
      if (!parsed.success) throw new ToolInputError(describeInvalid(name, parsed.error, raw, Object.keys(spec.args)));
      const args = parsed.data as z.infer<z.ZodObject<Shape>>;
      const problems = spec.check?.(args) ?? [];
      if (problems.length > 0) throw new ToolInputError(invalidMessage(name, problems, Object.keys(spec.args)));
      return capOutput(await spec.execute(args, context), cap);
    },
  };
}

/** A model sometimes sends the arguments as a JSON string; anything else that is not an object stays as it is. */
function asObject(raw: unknown): unknown {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Many models send `null` for an optional argument they do not use: that means "not given", not a wrong type. */
function withoutNulls(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

export function describeInvalid(name: string, error: z.ZodError, raw: unknown, accepted: string[]): string {
  return invalidMessage(
    name,
    error.issues.map((issue) => issueText(issue, raw)),
    accepted,
  );
}

function invalidMessage(name: string, problems: string[], accepted: string[]): string {
  const lines = problems.slice(0, 5).map((problem) => `- ${problem}`);
  if (problems.length > 5) lines.push(`- … and ${problems.length - 5} more`);
  const takes = accepted.length ? `${name} takes: ${accepted.join(", ")}.` : `${name} takes no arguments.`;
  return `Invalid arguments for ${name}:\n${lines.join("\n")}\n${takes} Fix the call and try again.`;
}

export interface ActionRule {
  /** Arguments the action cannot run without. */
  needs?: readonly string[];
  /** Optional arguments the action uses; any other argument given with it is refused. */
  takes?: readonly string[];
}

/**
 * The per-action part of a tool with an `action` argument: which arguments each action needs and which it
 * ignores. An argument the action would ignore is refused, so a call that mixes up two actions is never half-run.
 */
export function actionRules<Action extends string>(rules: Record<Action, ActionRule>) {
  return (args: { action: Action } & Record<string, unknown>): string[] => {
    const rule = rules[args.action];
    const needs = rule.needs ?? [];
    const allowed = new Set(["action", ...needs, ...(rule.takes ?? [])]);
    const problems = needs
      .filter((key) => args[key] === undefined)
      .map((key) => `${key}: required for action "${args.action}"`);
    const unused = Object.keys(args).filter((key) => args[key] !== undefined && !allowed.has(key));
    if (unused.length > 0) {
      const takes = [...allowed].filter((key) => key !== "action");
      problems.push(
        `${unused.join(", ")}: not used by action "${args.action}" (it takes ${takes.length ? takes.join(", ") : "no other argument"})`,
      );
    }
    return problems;
  };
}

function issueText(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys")
    return `unknown argument${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${abbreviate(k, 40)}"`).join(", ")}`;
  if (!path) return `the arguments must be an object with named fields, got ${describeValue(raw)}`;
  const got = valueAt(raw, issue.path);
  if (issue.code === "invalid_type")
    return got === undefined
      ? `${path}: required (${issue.expected})`
      : `${path}: expected ${issue.expected}, got ${describeValue(got)}`;
  if (got === undefined) return `${path}: required (${issue.message.replace(/^Invalid (input|option): /, "")})`;
  return `${path}: ${issue.message.replace(/^Invalid input: /, "")}; got ${describeValue(got)}`;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let current: unknown = typeof raw === "string" ? safeJson(raw) : raw;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A short, printable description of a value the model sent: never echoes more than a few dozen characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return `a string of ${value.length} characters "${abbreviate(value, 40)}"`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${abbreviate(String(value), 40)}`;
}

/** Keeps at most `max` characters, control characters made visible, and says how many characters were left out. */
export function abbreviate(text: string, max: number): string {
  let visible = "";
  let used = 0;
  for (const char of text) {
    const shown = /[\u0000-\u0008\u000b-\u001f\u007f]/.test(char)
      ? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`
      : char;
    if (visible.length + shown.length > max) break;
    visible += shown;
    used += char.length;
  }
  return used === text.length ? visible : `${visible}… (${text.length - used} more)`;
}

export function capOutput(output: string, maxChars: number): string {
  if (output.length <= maxChars) return output;
  const note = `\n[… output cut at ${maxChars} of ${output.length} characters]`;
  return output.slice(0, Math.max(0, maxChars - note.length)) + note;
}
