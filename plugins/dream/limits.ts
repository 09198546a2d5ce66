// What code refuses about a dream's result, whatever the model says: a MEMORY.md over its line or byte limit,
// entries the dream wrote that break the entry rules, or more of the existing entries changed (removed, merged or
// rewritten) than dream.maxDeleteFraction allows: a rewrite can erase an entry's meaning as surely as a deletion.
// A refused run writes nothing.
import type { MemoryDraft } from "./draft.ts";
import { MAX_ENTRY_LINES } from "./draft.ts";

export interface DreamLimits {
  maxLines: number;
  maxBytes: number;
  maxDeleteFraction: number;
}

export function lineCount(text: string): number {
  if (!text) return 0;
  const lines = text.split(/\r?\n/);
  return lines.at(-1) === "" ? lines.length - 1 : lines.length;
}

/** How many of the original entries the draft removed (forgotten, or merged into another). */
export function deletions(draft: MemoryDraft): { removed: number; of: number; fraction: number } {
  const of = draft.originalIds.size;
  const removed = draft.changes.forgotten.length + draft.changes.mergedAway.length;
  return { removed, of, fraction: of === 0 ? 0 : removed / of };
}

/** How many of the original entries the draft changed at all: removed, merged (every entry of a merge) or rewritten. */
export function changesToExisting(draft: MemoryDraft): {
  changed: number;
  removed: number;
  rewritten: number;
  of: number;
  fraction: number;
} {
  const of = draft.originalIds.size;
  const { forgotten, mergedAway, rewritten } = draft.changes;
  const changed = new Set([...forgotten, ...mergedAway, ...rewritten].filter((id) => draft.originalIds.has(id))).size;
  return {
    changed,
    removed: forgotten.length + mergedAway.length,
    rewritten: rewritten.length,
    of,
    fraction: of === 0 ? 0 : changed / of,
  };
}

/** Problems that refuse the whole run; empty when the draft may be written. */
export function limitProblems(draft: MemoryDraft, limits: DreamLimits): string[] {
  const problems: string[] = [];
  const lines = lineCount(draft.text);
  const bytes = Buffer.byteLength(draft.text, "utf8");
  if (lines > limits.maxLines)
    problems.push(
      `MEMORY.md would have ${lines} lines; the limit is ${limits.maxLines} (dream.maxLines): merge or drop entries`,
    );
  if (bytes > limits.maxBytes)
    problems.push(
      `MEMORY.md would be ${bytes} bytes; the limit is ${limits.maxBytes} (dream.maxBytes): merge or drop entries`,
    );
  const { changed, removed, rewritten, of, fraction } = changesToExisting(draft);
  if (changed > 0 && fraction > limits.maxDeleteFraction) {
    problems.push(
      `the run changes ${changed} of ${of} existing entries (${removed} removed or merged away, ${rewritten} rewritten; ${Math.round(fraction * 100)} %); at most ${Math.round(limits.maxDeleteFraction * 100)} % may be removed or rewritten in one dream (dream.maxDeleteFraction)`,
    );
  }
  for (const entry of draft.entries()) {
    if (!draft.written.has(entry.id)) continue;
    if (entry.lines > MAX_ENTRY_LINES)
      problems.push(`entry ${entry.id} has ${entry.lines} lines; at most ${MAX_ENTRY_LINES}`);
    if (!entry.date) problems.push(`entry ${entry.id} has no date`);
    if (!entry.sessions.length) problems.push(`entry ${entry.id} names no source session`);
  }
  return problems;
}
