// Reading a session's messages without the host: the minimal message/part shapes OpenCode uses, the compact
// rendering the checkpoint writer reads, and the facts code extracts itself (files, errors, live resources,
// exact values). Pure.
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";

export type { HostMessage, HostPart } from "../core/host-types.ts";
import type { HostMessage, HostPart } from "../core/host-types.ts";
export { isPackText } from "../core/pack-text.ts";

export type Redact = (text: string) => string;

export const textOf = (message: HostMessage): string =>
  message.parts
    .filter((p) => p.type === "text" && !p.ignored && typeof p.text === "string")
    .map((p) => p.text!)
    .join("\n")
    .trim();

/** Text the user typed (synthetic parts such as file contents and reminders left out). */
export const userTextOf = (message: HostMessage): string =>
  message.parts
    .filter((p) => p.type === "text" && !p.synthetic && !p.ignored && typeof p.text === "string")
    .map((p) => p.text!)
    .join("\n")
    .trim();

export const isUserMessage = (m: HostMessage) => m.info.role === "user";

/** Messages after the one with id `watermark` (all when it is null or no longer present). */
export function messagesSince(messages: readonly HostMessage[], watermark: string | null): HostMessage[] {
  if (!watermark) return [...messages];
  const index = messages.findIndex((m) => m.info.id === watermark);
  return index < 0 ? [...messages] : messages.slice(index + 1);
}

export interface RenderOptions {
  /** Per tool output cap (tokens). */
  toolOutputTokens: number;
  /** Per text part cap (tokens); user text is never cut below this. */
  textTokens: number;
  redact: Redact;
}

/** Compact transcript for the writer: one block per message, tool calls as one line plus a short output. */
export function renderCompact(messages: readonly HostMessage[], options: RenderOptions): string {
  const blocks: string[] = [];
  for (const message of messages) {
    const lines: string[] = [];
    for (const part of message.parts) {
      if (part.type === "text" && part.text && !part.ignored) {
        lines.push(truncateToTokens(part.text.trim(), options.textTokens));
      } else if (part.type === "tool") {
        lines.push(renderToolPart(part, options.toolOutputTokens));
      }
    }
    if (lines.length === 0) continue;
    blocks.push(`[${message.info.role} ${message.info.id}]\n${lines.join("\n")}`);
  }
  return options.redact(blocks.join("\n\n"));
}

function renderToolPart(part: HostPart, outputTokens: number): string {
  const state = part.state ?? {};
  const input = truncateToTokens(JSON.stringify(state.input ?? {}), 200, "…");
  const head = `→ ${part.tool}(${input})`;
  if (state.status === "error") return `${head} ✗ ${truncateToTokens(String(state.error ?? "error"), outputTokens)}`;
  if (state.status !== "completed") return `${head} (${state.status ?? "pending"})`;
  const output = String(state.output ?? "").trim();
  return output ? `${head}\n  ⇒ ${truncateToTokens(output, outputTokens).replace(/\n/g, "\n    ")}` : head;
}

// ---- deterministic facts -------------------------------------------------------------------------------

const FILE_TOOLS: Record<string, "read" | "edit" | "write"> = {
  read: "read",
  edit: "edit",
  write: "write",
  multiedit: "edit",
  patch: "edit",
};

export interface FileUse {
  path: string;
  read: number;
  edit: number;
  write: number;
}

export function fileUses(messages: readonly HostMessage[]): FileUse[] {
  const uses = new Map<string, FileUse>();
  for (const part of toolParts(messages)) {
    const kind = FILE_TOOLS[part.tool ?? ""];
    const path = filePathOf(part);
    if (!kind || !path || part.state?.status !== "completed") continue;
    const use = uses.get(path) ?? { path, read: 0, edit: 0, write: 0 };
    use[kind]++;
    uses.set(path, use);
  }
  return [...uses.values()].sort(
    (a, b) => b.edit + b.write - (a.edit + a.write) || b.read - a.read || a.path.localeCompare(b.path),
  );
}

export function renderFiles(uses: readonly FileUse[], max = 40): string {
  if (uses.length === 0) return "(no files read or changed yet)";
  const lines = uses.slice(0, max).map((u) => {
    const counts = (["edit", "write", "read"] as const).filter((k) => u[k] > 0).map((k) => `${k} ×${u[k]}`);
    return `- \`${u.path}\` (${counts.join(", ")})`;
  });
  if (uses.length > max) lines.push(`- … and ${uses.length - max} more`);
  return lines.join("\n");
}

export interface ToolFailure {
  tool: string;
  target: string;
  error: string;
  fixedBy?: string;
}

/** Failed tool calls, each with the later successful call on the same target when there is one. */
export function toolFailures(messages: readonly HostMessage[]): ToolFailure[] {
  const parts = toolParts(messages);
  const failures: ToolFailure[] = [];
  parts.forEach((part, index) => {
    const failed = part.state?.status === "error" || bashFailed(part);
    if (!failed) return;
    const target = targetOf(part);
    const fix = parts
      .slice(index + 1)
      .find(
        (later) =>
          later.tool === part.tool &&
          targetOf(later) === target &&
          later.state?.status === "completed" &&
          !bashFailed(later),
      );
    const error =
      part.state?.status === "error"
        ? String(part.state.error ?? "error")
        : lastLines(String(part.state?.output ?? ""), 3);
    failures.push({
      tool: part.tool ?? "?",
      target,
      error: truncateToTokens(error.trim(), 80, "…"),
      fixedBy: fix ? `${fix.tool} ${targetOf(fix)}` : undefined,
    });
  });
  return failures;
}

export function renderFailures(failures: readonly ToolFailure[], max = 12): string {
  if (failures.length === 0) return "(no failed tool calls)";
  const shown = failures
    .slice(-max)
    .map(
      (f) =>
        `- ${f.tool} \`${f.target}\`: ${f.error.replace(/\n/g, " ")}${f.fixedBy ? ` → fixed by a later ${f.fixedBy}` : " → not fixed yet"}`,
    );
  if (failures.length > max) shown.unshift(`- (${failures.length - max} earlier failures left out)`);
  return shown.join("\n");
}

export interface LiveResources {
  branch?: string;
  cwd: string;
  ports: number[];
  background: string[];
}

/** Ports and background processes started by bash calls (commands ending in &, servers, --port flags). */
export function liveResources(messages: readonly HostMessage[], cwd: string, branch?: string): LiveResources {
  const ports = new Set<number>();
  const background: string[] = [];
  for (const part of toolParts(messages)) {
    if (part.tool !== "bash") continue;
    const command = String(part.state?.input?.command ?? "");
    const text = `${command}\n${part.state?.output ?? ""}`;
    for (const match of text.matchAll(
      /(?:--port[= ]|-p\s+|PORT=|localhost:|127\.0\.0\.1:|0\.0\.0\.0:|listening on (?:port )?:?)(\d{2,5})\b/gi,
    )) {
      const port = Number(match[1]);
      if (port >= 20 && port <= 65535) ports.add(port);
    }
    if (/&\s*$|\bnohup\b|\b(serve|server|dev|start|up -d)\b/.test(command)) background.push(command.slice(0, 200));
  }
  return { branch, cwd, ports: [...ports].sort((a, b) => a - b), background: [...new Set(background)].slice(-8) };
}

export function renderLiveResources(live: LiveResources): string {
  const lines = [`- cwd: \`${live.cwd}\``];
  if (live.branch) lines.push(`- git branch: \`${live.branch}\``);
  if (live.ports.length) lines.push(`- ports seen in bash calls: ${live.ports.join(", ")}`);
  for (const command of live.background) lines.push(`- started: \`${command}\``);
  return lines.join("\n");
}

// ---- exact-form values ---------------------------------------------------------------------------------

const EXACT_PATTERNS: RegExp[] = [
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s`'"<>)\]]+/gi, // URLs and DSNs (postgres://u:p@h:5432/db)
  /`[^`\n]{2,200}`/g, // anything the user put in backticks (commands, names)
  /(?:^|\s)((?:\.{0,2}\/|~\/)?[\w.-]+(?:\/[\w.-]+)+\.\w{1,8})\b/g, // file paths with an extension
  /\b[\w@/.-]+@\^?~?\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?\b/g, // version pins name@1.2.3
  /\b(?:localhost|127\.0\.0\.1|0\.0\.0\.0):\d{2,5}\b/g, // host:port
  /\b[A-Z][A-Z0-9_]{2,}=[^\s`'"]+/g, // ENV=value
];

/** Values in user text that must survive byte for byte (DSNs, paths, commands, ports, version pins). */
export function exactValues(texts: readonly string[], max = 40): string[] {
  const found: string[] = [];
  for (const text of texts) {
    for (const pattern of EXACT_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const value = (match[1] ?? match[0])
          .trim()
          .replace(/^`|`$/g, "")
          .replace(/[.,;:]+$/, "");
        if (value.length >= 3 && !found.includes(value)) found.push(value);
      }
    }
  }
  return dropContained(found).slice(-max);
}

/** A path inside a DSN already kept is noise: keep the longer value. */
function dropContained(values: string[]): string[] {
  return values.filter((v) => !values.some((other) => other !== v && other.includes(v)));
}

// ---- helpers -------------------------------------------------------------------------------------------

function toolParts(messages: readonly HostMessage[]): HostPart[] {
  return messages.flatMap((m) => m.parts.filter((p) => p.type === "tool"));
}

function filePathOf(part: HostPart): string | undefined {
  const input = part.state?.input ?? {};
  const path = input.filePath ?? input.path ?? input.file;
  return typeof path === "string" && path ? path : undefined;
}

function targetOf(part: HostPart): string {
  if (part.tool === "bash")
    return String(part.state?.input?.command ?? "")
      .split("\n")[0]!
      .slice(0, 120);
  return filePathOf(part) ?? truncateToTokens(JSON.stringify(part.state?.input ?? {}), 30, "…");
}

function bashFailed(part: HostPart): boolean {
  if (part.tool !== "bash" || part.state?.status !== "completed") return false;
  const exit = part.state.metadata?.exit;
  return typeof exit === "number" && exit !== 0;
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).join("\n");
}

export const estimateMessageTokens = (message: HostMessage): number => {
  let total = 4;
  for (const part of message.parts) {
    if (part.type === "text") total += estimateTokens(part.text ?? "");
    else if (part.type === "tool")
      total +=
        estimateTokens(JSON.stringify(part.state?.input ?? {})) +
        estimateTokens(String(part.state?.output ?? part.state?.error ?? "")) +
        10;
    else if (part.type === "reasoning") total += estimateTokens(String(part.text ?? ""));
  }
  return total;
};
