// The memory block: what the model is told about memory at the start of a session (and after a rebuild).
// Entries are ranked (section importance, relevance to the session's intent, recency, use) and packed
// whole under a token budget; what did not fit is listed by title so the model knows to search for it.
import { estimateTokens } from "../core/tokens.ts";
import type { IndexedEntry } from "./index-store.ts";

export interface BlockLocations {
  projectFile: string;
  globalFile: string;
  notesFile?: string;
}

export interface BlockInput {
  entries: IndexedEntry[];
  /** Relevance of entries (by rowid) to the session's first user message, higher is better. */
  relevance: Map<number, number>;
  budgetTokens: number;
  locations: BlockLocations;
  now: Date;
}

export interface PackedEntry {
  entry: IndexedEntry;
  group: BlockGroup;
  score: number;
  tokens: number;
}

export interface MemoryBlock {
  text: string;
  tokens: number;
  budgetTokens: number;
  included: PackedEntry[];
  omitted: PackedEntry[];
}

export type BlockGroup = "rules" | "decisions" | "knowledge" | "context" | "global" | "other";

const GROUP_ORDER: BlockGroup[] = ["rules", "decisions", "knowledge", "context", "global", "other"];
const GROUP_TITLE: Record<BlockGroup, string> = {
  rules: "Project rules",
  decisions: "Architecture decisions",
  knowledge: "Relevant durable knowledge",
  context: "Project context",
  global: "Global preferences",
  other: "Other notes",
};
const IMPORTANCE: Record<BlockGroup, number> = {
  rules: 1,
  global: 0.8,
  decisions: 0.7,
  context: 0.45,
  knowledge: 0.3,
  other: 0.2,
};

export function groupOf(entry: Pick<IndexedEntry, "scope" | "section">): BlockGroup {
  if (entry.scope === "global") return "global";
  const section = entry.section.toLowerCase();
  if (section.startsWith("rule")) return "rules";
  if (section.includes("decision")) return "decisions";
  if (section.includes("knowledge")) return "knowledge";
  if (section.includes("context")) return "context";
  return "other";
}

/** Score in [0, ~2]: importance dominates; relevance can lift knowledge above a stale decision. */
export function scoreEntry(entry: IndexedEntry, relevance: number, now: Date): number {
  const importance = IMPORTANCE[groupOf(entry)];
  const ageDays = entry.date ? Math.max(0, (now.getTime() - Date.parse(entry.date)) / 86_400_000) : 90;
  const recency = Number.isFinite(ageDays) ? Math.exp(-ageDays / 60) : 0.2;
  const use = Math.min(1, Math.log2(1 + entry.uses) / 5);
  return importance + 0.6 * relevance + 0.2 * recency + 0.1 * use;
}

export function renderEntry(entry: IndexedEntry): string {
  const [first = "", ...rest] = entry.text.split("\n");
  const lines = [`- ${first}`, ...rest.map((l) => `  ${l}`)];
  lines[lines.length - 1] += ` [${entry.entryId}]`;
  return lines.join("\n");
}

function header(locations: BlockLocations): string {
  const files = [
    `project ${locations.projectFile}`,
    `global ${locations.globalFile}`,
    ...(locations.notesFile ? [`this session's notes ${locations.notesFile}`] : []),
  ];
  return [
    "<continuum-memory>",
    `Memory of this project (opencode-continuum), markdown the user can edit: ${files.join("; ")}.`,
    "Follow the rules below. The memory tool searches for more, the history tool finds earlier words of this project's sessions.",
  ].join("\n");
}

const FOOTER = "</continuum-memory>";

function titleOf(entry: IndexedEntry): string {
  const words = entry.text.replace(/\s+/g, " ").split(" ").slice(0, 10).join(" ");
  return words.length < entry.text.length ? `${words}…` : words;
}

/**
 * Deterministic for the same input: the same files and intent always give the same bytes. With no entries there
 * is nothing to say: the text is empty and no block is sent (the memory tool's description explains memory).
 */
export function assembleBlock(input: BlockInput): MemoryBlock {
  if (input.entries.length === 0)
    return { text: "", tokens: 0, budgetTokens: input.budgetTokens, included: [], omitted: [] };
  const head = header(input.locations);
  const fixedTokens = estimateTokens(head) + estimateTokens(FOOTER) + 2;
  const scored = input.entries.map((entry) => {
    const score = scoreEntry(entry, input.relevance.get(entry.rowid) ?? 0, input.now);
    return { entry, group: groupOf(entry), score, tokens: entry.tokens };
  });
  const ranked = [...scored].sort((a, b) => b.score - a.score || a.entry.rowid - b.entry.rowid);
  // The omitted-titles list gets a slice of the budget so a full block still points at what is missing.
  const listReserve = ranked.length > 0 ? Math.min(Math.floor(input.budgetTokens * 0.1), 300) : 0;
  const groupHeaderTokens = 8;
  let available = input.budgetTokens - fixedTokens - listReserve;
  const included: PackedEntry[] = [];
  const omitted: PackedEntry[] = [];
  const groupsUsed = new Set<BlockGroup>();
  for (const item of ranked) {
    const cost = item.tokens + (groupsUsed.has(item.group) ? 0 : groupHeaderTokens);
    if (cost <= available) {
      included.push(item);
      groupsUsed.add(item.group);
      available -= cost;
    } else omitted.push(item);
  }
  const text = render(head, included, omitted, listReserve + Math.max(0, available));
  return { text, tokens: estimateTokens(text), budgetTokens: input.budgetTokens, included, omitted };
}

function render(head: string, included: PackedEntry[], omitted: PackedEntry[], listBudget: number): string {
  const parts = [head];
  for (const group of GROUP_ORDER) {
    const items = included
      .filter((i) => i.group === group)
      .sort((a, b) => a.entry.path.localeCompare(b.entry.path) || a.entry.lineStart - b.entry.lineStart);
    if (items.length === 0) continue;
    parts.push(`\n## ${GROUP_TITLE[group]}\n${items.map((i) => renderEntry(i.entry)).join("\n")}`);
  }
  if (omitted.length > 0) parts.push(omittedList(omitted, listBudget));
  parts.push(FOOTER);
  return parts.join("\n");
}

function omittedList(omitted: PackedEntry[], budget: number): string {
  const title = `\n## Not shown (over the memory budget; use memory search)`;
  const lines: string[] = [title];
  let used = estimateTokens(title) + 10;
  let shown = 0;
  for (const item of omitted) {
    const line = `- ${titleOf(item.entry)} [${item.entry.entryId}]`;
    const cost = estimateTokens(line) + 1;
    if (used + cost > budget) break;
    lines.push(line);
    used += cost;
    shown++;
  }
  if (shown < omitted.length) lines.push(`- …and ${omitted.length - shown} more`);
  return lines.join("\n");
}
