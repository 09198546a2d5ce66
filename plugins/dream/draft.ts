// The dream's working copy of the project MEMORY.md: every change the dream agent makes lands here, in memory,
// never in the file. Code checks the finished draft (limits, deletions, stale paths) and only then writes it in
// one atomic replacement through the memory service, so a refused, failed or aborted run leaves the file as it was.
// Pure text in, text out.
import {
  appendToSection,
  memoryTemplate,
  newEntryId,
  parseEntries,
  PROJECT_SECTIONS,
  removeLines,
  resolveSection,
  splitLines,
  type MemoryEntry,
} from "../core/memory-format.ts";
import { cleanEntryText } from "../core/memory-format.ts";

/** Sections a dream may write: the memory's own, plus the two a consolidation adds. */
export const DREAM_SECTIONS = [...PROJECT_SECTIONS, "Patterns", "Gotchas"] as const;
export const MAX_ENTRY_LINES = 3;
export const MAX_ENTRY_CHARS = 600;
const SESSION_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** The tag's session field holds at most 128 characters (memory/entries.ts). */
const TAG_SESSIONS_CHARS = 128;

export class DraftError extends Error {
  override name = "DraftError";
}

export interface DraftEntry {
  id: string;
  section: string;
  text: string;
  date?: string;
  sessions: string[];
  lines: number;
}

export interface DraftChanges {
  added: string[];
  rewritten: string[];
  forgotten: string[];
  /** Entries that went into a merge and are gone (a merge of n entries removes n - 1 of them, plus rewrites one). */
  mergedAway: string[];
}

export class MemoryDraft {
  text: string;
  readonly originalIds: ReadonlySet<string>;
  readonly changes: DraftChanges = { added: [], rewritten: [], forgotten: [], mergedAway: [] };
  /** Entries the dream wrote: these must be 1-3 lines with a date and their sessions. */
  readonly written = new Set<string>();

  constructor(
    readonly original: string,
    private readonly today: string,
    private readonly knownSessions: ReadonlySet<string>,
    private readonly newId: () => string = () => newEntryId(),
  ) {
    this.text = original;
    this.originalIds = new Set(parseEntries(original).map((e) => e.id));
  }

  entries(): DraftEntry[] {
    return parseEntries(this.text).map(toDraftEntry);
  }

  find(id: string): MemoryEntry | undefined {
    const wanted = id.trim();
    return parseEntries(this.text).find((e) => e.id === wanted);
  }

  remember(sectionName: string, text: string, sessions: string[]): string {
    const section = this.section(sectionName);
    const clean = this.entryText(text);
    const sources = this.sources(sessions, []);
    const id = this.freshId();
    this.text = appendToSection(this.text, section, bullet(clean, id, this.today, sources), memoryTemplate("project"));
    this.changes.added.push(id);
    this.written.add(id);
    return id;
  }

  forget(id: string): string {
    const entry = this.need(id);
    this.text = removeLines(this.text, entry.lineStart, entry.lineEnd);
    if (this.originalIds.has(entry.id)) this.changes.forgotten.push(entry.id);
    this.written.delete(entry.id);
    return entry.text;
  }

  /** New text for one entry; it keeps its id and its sessions, plus the ones given. */
  replace(id: string, text: string, sessions: string[] = []): string {
    const entry = this.need(id);
    const clean = this.entryText(text);
    const sources = this.sources(sessions, splitSessions(entry.session));
    this.swap(entry, bullet(clean, entry.id, this.today, sources));
    this.noteRewrite(entry.id);
    return entry.id;
  }

  /** Several entries become one: the first keeps its id and place and takes every source session. */
  merge(ids: string[], text: string, sessions: string[] = []): string {
    const unique = [...new Set(ids.map((i) => i.trim()))];
    if (unique.length < 2) throw new DraftError("merge needs at least two different entry ids");
    const entries = unique.map((id) => this.need(id));
    const clean = this.entryText(text);
    const inherited = entries.flatMap((e) => splitSessions(e.session));
    const sources = this.sources(sessions, inherited);
    const [keep, ...rest] = entries;
    // Remove from the bottom up so line numbers of the ones still to go stay right, then rewrite the kept one.
    for (const gone of [...rest].sort((a, b) => b.lineStart - a.lineStart)) {
      const current = this.need(gone.id);
      this.text = removeLines(this.text, current.lineStart, current.lineEnd);
      if (this.originalIds.has(gone.id)) this.changes.mergedAway.push(gone.id);
      this.written.delete(gone.id);
    }
    this.swap(this.need(keep!.id), bullet(clean, keep!.id, this.today, sources));
    this.noteRewrite(keep!.id);
    return keep!.id;
  }

  /** Code's own edit after the run: appends a note to an entry's text, keeping its tag (id, date, sessions). */
  annotate(id: string, note: string): void {
    const entry = this.need(id);
    const sessions = splitSessions(entry.session);
    const text = `${entry.text} ${note}`;
    if (entry.date && sessions.length) this.swap(entry, bullet(text, entry.id, entry.date, sessions));
    else
      this.swap(
        entry,
        bullet(
          text,
          entry.id,
          entry.date ?? this.today,
          sessions.length ? sessions : ["unknown"],
          !entry.id.startsWith("m-"),
        ),
      );
  }

  changed(): boolean {
    return this.text !== this.original;
  }

  private need(id: string): MemoryEntry {
    const entry = this.find(id);
    if (!entry) throw new DraftError(`no entry "${id.slice(0, 80)}" in the draft; action "list" shows the ids`);
    return entry;
  }

  private swap(entry: MemoryEntry, replacement: string): void {
    const lines = splitLines(this.text);
    lines.splice(entry.lineStart - 1, entry.lineEnd - entry.lineStart + 1, ...splitLines(replacement));
    this.text = lines.join(this.text.includes("\r\n") ? "\r\n" : "\n");
  }

  private noteRewrite(id: string): void {
    if (this.originalIds.has(id) && !this.changes.rewritten.includes(id)) this.changes.rewritten.push(id);
    this.written.add(id);
  }

  private section(name: string): string {
    const section = resolveSection(name, DREAM_SECTIONS);
    if (!section)
      throw new DraftError(`unknown section "${name.slice(0, 60)}"; use one of: ${DREAM_SECTIONS.join(", ")}`);
    return section;
  }

  private entryText(text: string): string {
    const clean = cleanEntryText(text).replace(/<!--|-->/g, "");
    if (!clean) throw new DraftError("text is empty");
    const lines = clean.split("\n").length;
    if (lines > MAX_ENTRY_LINES)
      throw new DraftError(`an entry is 1-${MAX_ENTRY_LINES} lines; this one has ${lines}: shorten it`);
    if (clean.length > MAX_ENTRY_CHARS)
      throw new DraftError(`an entry holds at most ${MAX_ENTRY_CHARS} characters; this one has ${clean.length}`);
    return clean;
  }

  /** Source sessions: at least one, each one the dream was shown (or the entry already had). */
  private sources(given: string[], inherited: string[]): string[] {
    const unknown = given.filter((s) => !SESSION_ID.test(s) || (!this.knownSessions.has(s) && !inherited.includes(s)));
    if (unknown.length)
      throw new DraftError(
        `unknown source session(s): ${unknown.map((s) => s.slice(0, 40)).join(", ")}; use the session ids shown in the input`,
      );
    const all = [...new Set([...inherited.filter((s) => s !== "unknown"), ...given])];
    if (all.length === 0) throw new DraftError("sessions: give every session the fact comes from (at least one)");
    return all.sort();
  }

  private freshId(): string {
    const taken = new Set(parseEntries(this.text).map((e) => e.id));
    for (;;) {
      const id = this.newId();
      if (!taken.has(id)) return id;
    }
  }
}

function toDraftEntry(entry: MemoryEntry): DraftEntry {
  return {
    id: entry.id,
    section: entry.section,
    text: entry.text,
    date: entry.date,
    sessions: splitSessions(entry.session),
    lines: entry.lineEnd - entry.lineStart + 1,
  };
}

export function splitSessions(field: string | undefined): string[] {
  return (field ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * One bullet with its tag: `- text <!-- id:… · date · ses_a,ses_b -->`. The tag's session field is capped: sessions
 * that do not fit are counted in the text, so none is dropped silently. A hand-written entry keeps having no tag.
 */
function bullet(text: string, id: string, date: string, sessions: string[], untagged = false): string {
  const [first = "", ...rest] = text.split("\n");
  const lines = [`- ${first.replace(/^[-*+]\s+/, "")}`, ...rest.map((l) => `  ${l.trimStart()}`)];
  if (untagged) return lines.join("\n");
  const kept: string[] = [];
  for (const s of sessions) {
    if ([...kept, s].join(",").length > TAG_SESSIONS_CHARS) break;
    kept.push(s);
  }
  const more = sessions.length - kept.length;
  if (more > 0)
    lines[lines.length - 1] +=
      ` (and ${more} more source session${more === 1 ? "" : "s"}: ${sessions.slice(kept.length).join(", ")})`;
  lines[lines.length - 1] += ` <!-- id:${id} · ${date} · ${kept.join(",")} -->`;
  return lines.join("\n");
}
