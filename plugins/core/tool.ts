// The one way a pack tool is defined. OpenCode 1.18.33 hands `execute` whatever the model sent (wrong types, a
// bare string, extra keys), so every tool validates its raw arguments with its zod shape first, answers bad input
// with a message naming the argument, and caps what it returns. Host-neutral: the shape is what OpenCode's
// `tool()` produces, so the entry passes these through unchanged.
import { z } from "zod";
import { ToolInputError } from "./compose.ts";

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
      const parsed = schema.safeParse(asObject(raw));
      if (!parsed.success) throw new ToolInputError(describeInvalid(name, parsed.error, raw, Object.keys(spec.args)));
      return capOutput(await spec.execute(parsed.data as z.infer<z.ZodObject<Shape>>, context), cap);
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

export function describeInvalid(name: string, error: z.ZodError, raw: unknown, accepted: string[]): string {
  const lines = error.issues.slice(0, 5).map((issue) => `- ${issueText(issue, raw)}`);
  if (error.issues.length > 5) lines.push(`- … and ${error.issues.length - 5} more`);
  const takes = accepted.length ? `${name} takes: ${accepted.join(", ")}.` : `${name} takes no arguments.`;
  return `Invalid arguments for ${name}:\n${lines.join("\n")}\n${takes} Fix the call and try again.`;
}

function issueText(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") return `unknown argument${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${abbreviate(k, 40)}"`).join(", ")}`;
  if (!path) return `the arguments must be an object with named fields, got ${describeValue(raw)}`;
  const got = valueAt(raw, issue.path);
  if (issue.code === "invalid_type") return got === undefined ? `${path}: required (${issue.expected})` : `${path}: expected ${issue.expected}, got ${describeValue(got)}`;
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
  if (typeof value === "string") return `a string of ${value.length} characters ${JSON.stringify(abbreviate(value, 40))}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${abbreviate(String(value), 40)}`;
}

/** Keeps the first `max` characters, control characters made visible, and says how much was left out. */
export function abbreviate(text: string, max: number): string {
  const visible = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return visible.length <= max ? visible : `${visible.slice(0, max)}… (${visible.length - max} more)`;
}

export function capOutput(output: string, maxChars: number): string {
  if (output.length <= maxChars) return output;
  const note = `\n[… output cut at ${maxChars} of ${output.length} characters]`;
  return output.slice(0, Math.max(0, maxChars - note.length)) + note;
}
