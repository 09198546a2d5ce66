// What the memory tools, the /memory command and the CLI print. Bounded: a tool result never floods the context.
import { basename } from "node:path";
import type { MemoryBlock } from "./block.ts";
import type { HistoryHit, HistoryRow } from "./history-store.ts";
import type { SearchHit, SearchScope } from "./index-store.ts";

export const MAX_TOOL_OUTPUT_CHARS = 8000;

function bounded(lines: string[], max = MAX_TOOL_OUTPUT_CHARS): string {
  const out: string[] = [];
  let length = 0;
  for (const [i, line] of lines.entries()) {
    if (length + line.length + 1 > max) {
      out.push(`[… ${lines.length - i} more lines not shown]`);
      break;
    }
    out.push(line);
    length += line.length + 1;
  }
  return out.join("\n");
}

export function formatSearch(
  query: string,
  scope: SearchScope,
  mode: string,
  hits: SearchHit[],
  empty?: boolean,
): string {
  if (empty)
    return `The query "${query}" has no searchable words. Give one or more words (any language); prefixes match, e.g. "deploy" finds "deployment".`;
  if (hits.length === 0) {
    const widen = [
      scope !== "all" ? 'scope "all" (session notes, project and global memory)' : undefined,
      mode === "all" ? 'mode "any" (any word may match)' : undefined,
      "fewer or shorter words (each word also matches as a prefix)",
      "the history tool for words said in earlier conversations",
    ].filter(Boolean);
    return `No memory entries match "${query}" (scope ${scope}, mode ${mode}). To widen the search try: ${widen.join("; ")}.`;
  }
  const lines = [
    `${hits.length} memory ${hits.length === 1 ? "entry" : "entries"} for "${query}" (scope ${scope}, best first):`,
  ];
  for (const hit of hits) {
    const where = `${basename(hit.path)}:${hit.lineStart}${hit.lineEnd > hit.lineStart ? `-${hit.lineEnd}` : ""}`;
    const meta = [
      hit.section || hit.heading || "(no heading)",
      where,
      hit.date,
      hit.scope === "session" ? `session ${hit.scopeId}` : hit.scope,
    ]
      .filter(Boolean)
      .join(" · ");
    lines.push(`- [${hit.entryId}] ${meta}\n  ${hit.snippet}`);
  }
  return bounded(lines);
}

export function formatHistorySearch(query: string, hits: HistoryHit[], empty: boolean): string {
  if (empty) return `The query "${query}" has no searchable words.`;
  if (hits.length === 0) {
    return `Nothing in this project's conversation history matches "${query}". Try fewer or other words, or the memory tool's search for curated memory. History older than the retention period is gone.`;
  }
  const lines = [
    `${hits.length} history ${hits.length === 1 ? "hit" : "hits"} for "${query}" (history around {id: message id} shows the conversation around one; history get {id: part id} the full text):`,
  ];
  for (const hit of hits) {
    lines.push(
      `- part ${hit.partId} · message ${hit.messageId} · ${hit.role}${hit.tool ? ` tool ${hit.tool}` : ""} · ${new Date(hit.createdAt).toISOString()}\n  ${hit.snippet}`,
    );
  }
  return bounded(lines);
}

export function formatAround(
  messages: { messageId: string; role: string; parts: HistoryRow[] }[],
  anchor: string,
): string {
  const lines: string[] = [];
  for (const message of messages) {
    lines.push(`${message.messageId === anchor ? "▶ " : ""}message ${message.messageId} (${message.role})`);
    for (const part of message.parts) {
      const flat = part.text.replace(/\s+/g, " ").trim();
      const cut =
        flat.length > 400
          ? `${flat.slice(0, 400)}… [history get ${part.partId} for all ${part.text.length} chars]`
          : flat;
      lines.push(`  - ${part.partId}${part.tool ? ` tool ${part.tool}` : ""}: ${cut}`);
    }
  }
  return bounded(lines);
}

export function formatPart(part: HistoryRow, offset: number, length: number): string {
  const slice = part.text.slice(offset, offset + length);
  const end = offset + slice.length;
  const more =
    end < part.text.length
      ? `\n[… ${part.text.length - end} more characters: history {action: "get", id: "${part.partId}", offset: ${end}}]`
      : "";
  return `part ${part.partId} of message ${part.messageId} (${part.role}${part.tool ? `, tool ${part.tool}` : ""}), characters ${offset}-${end} of ${part.text.length}:\n${slice}${more}`;
}

export interface StatusInput {
  block: MemoryBlock | undefined;
  budgetTokens: number;
  files: { projectFile: string; globalFile: string; projectDir: string; notesDir?: string };
  counts: { project: number; global: number; session: number };
  notes: { path: string; note: string }[];
}

export const REPORT_TITLE = "## Memory (opencode-continuum)";

/** The /memory report: what the model sees now, against the budget, and where to edit it. */
export function formatStatus(input: StatusInput): string {
  const lines = [REPORT_TITLE, ""];
  if (input.block) {
    const byGroup = new Map<string, number>();
    for (const item of input.block.included) byGroup.set(item.group, (byGroup.get(item.group) ?? 0) + 1);
    lines.push(
      `Injected in this session: ${input.block.included.length} entries, ${input.block.tokens} of ${input.budgetTokens} tokens.`,
    );
    for (const [group, count] of byGroup) lines.push(`- ${group}: ${count}`);
    for (const item of input.block.included)
      lines.push(`  - [${item.entry.entryId}] (${item.group}) ${oneLine(item.entry.text, 100)}`);
    if (input.block.omitted.length) {
      lines.push(`Not injected (over budget, searchable): ${input.block.omitted.length}`);
      for (const item of input.block.omitted.slice(0, 20))
        lines.push(`  - [${item.entry.entryId}] ${oneLine(item.entry.text, 80)}`);
    }
  } else {
    lines.push(
      `Nothing injected yet in this session (the block is built at the first model call). Budget: ${input.budgetTokens} tokens.`,
    );
  }
  lines.push(
    "",
    `Indexed entries: project ${input.counts.project}, global ${input.counts.global}, session notes ${input.counts.session}.`,
  );
  lines.push(
    "",
    "Files (plain markdown, edit with any editor):",
    `- project: ${input.files.projectFile}`,
    `- global: ${input.files.globalFile}`,
  );
  if (input.files.notesDir) lines.push(`- this session: ${input.files.notesDir}`);
  for (const note of input.notes.slice(0, 10)) lines.push(`- note: ${note.path}: ${note.note}`);
  return lines.join("\n");
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
