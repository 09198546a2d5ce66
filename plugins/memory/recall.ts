// Relevance of memory to what the user is asking: the intent score that ranks the memory block, and the
// per-message recall that adds the few entries the block does not already show.
import { estimateTokens } from "../core/tokens.ts";
import { assembleBlock, renderEntry, type BlockLocations, type MemoryBlock } from "./block.ts";
import type { SearchHit } from "./index-store.ts";
import type { MemoryService } from "./memory-service.ts";
import { termCoverage } from "./search-text.ts";

/** BM25 relevance of matching entries to `intent`, scaled so the best is 1 (entries of any scope; the block keeps its own). */
export function intentRelevance(service: MemoryService, intent: string): Map<number, number> {
  if (!intent.trim()) return new Map();
  return service.relevance(intent);
}

export function buildMemoryBlock(
  service: MemoryService,
  intent: string,
  budgetTokens: number,
  locations: BlockLocations,
  now = new Date(),
): MemoryBlock {
  service.freshen();
  return assembleBlock({
    entries: service.candidates(),
    relevance: intentRelevance(service, intent),
    budgetTokens,
    locations,
    now,
  });
}

export interface RecallOptions {
  text: string;
  sessionId: string;
  exclude: ReadonlySet<string>;
  budgetTokens: number;
  /** Relative score floor (fraction of the best hit). */
  floor?: number;
  limit?: number;
}

/**
 * Entries relevant to one user message that the block does not show, or undefined when nothing is
 * relevant. An entry must share at least two meaningful words with the message (one when the message
 * has only one), so a single common word never drags memory into the conversation.
 */
export function recallFor(
  service: MemoryService,
  options: RecallOptions,
): { text: string; hits: SearchHit[] } | undefined {
  if (options.budgetTokens <= 0 || !options.text.trim()) return undefined;
  const result = service.search({
    query: options.text.slice(0, 2000),
    scope: "all",
    sessionId: options.sessionId,
    limit: options.limit ?? 8,
    floor: options.floor ?? 0.15,
    dropStopwords: true,
    excludeEntryIds: options.exclude,
  });
  const needed = Math.min(2, result.terms.length);
  const relevant = result.hits.filter((hit) => needed > 0 && termCoverage(hit.text, result.terms) >= needed);
  if (relevant.length === 0) return undefined;
  const title = "<continuum-recall>\nFrom memory (may be relevant to this message; ids for memory forget):";
  let used = estimateTokens(title) + estimateTokens("</continuum-recall>") + 2;
  const lines: string[] = [];
  const kept: SearchHit[] = [];
  for (const hit of relevant) {
    const line = renderEntry(hit) + (hit.scope === "session" ? " (this session's notes)" : "");
    const cost = estimateTokens(line) + 1;
    if (used + cost > options.budgetTokens) continue;
    lines.push(line);
    kept.push(hit);
    used += cost;
  }
  if (kept.length === 0) return undefined;
  return { text: [title, ...lines, "</continuum-recall>"].join("\n"), hits: kept };
}
