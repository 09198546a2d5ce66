// Memory operations shared by the OpenCode adapter and the CLI: reconcile, search, remember, forget.
// Host-independent: the caller passes the database, the locations and the redactor.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { Database } from "../core/storage/database.ts";
import { ChangeWatch } from "./change-watch.ts";
import { estimateTokens } from "../core/tokens.ts";
import {
  appendToSection,
  formatBullet,
  GLOBAL_SECTIONS,
  memoryTemplate,
  nearIdentical,
  newEntryId,
  parseEntries,
  PROJECT_SECTIONS,
  removeLines,
  resolveSection,
  sectionRange,
  splitLines,
  topicSlug,
  type MemoryEntry,
} from "../core/memory-format.ts";
import { cleanEntryText, CONTROL_CHARS, withoutLoneSurrogates } from "../core/memory-format.ts";
import {
  blockCandidates,
  dropProjectFilesOutside,
  findEntry,
  migrateMemory,
  reconcile,
  recordUse,
  searchEntries,
  clearIndex,
  FingerprintCache,
  rankEntries,
  type IndexedEntry,
  type ReconcileStats,
  type SearchOptions,
  type SearchResult,
  type SearchScope,
} from "./index-store.ts";
import { inspectText, MemoryFileLister } from "./memory-files.ts";
import { queryTerms } from "./search-text.ts";
import { abbreviate } from "../core/tool.ts";
import type { MemoryLocations } from "./locations.ts";
import {
  assertNotReadOnly,
  assertWritable,
  keepVersion,
  listVersions,
  updateFile,
  withFileLock,
  writeFileAtomic,
} from "./safe-write.ts";
import { createHash } from "node:crypto";
import { unlinkSync } from "node:fs";

/** Thrown for input a caller (model, CLI user) can fix; the adapter turns it into a ToolInputError. */
export class MemoryInputError extends Error {
  override name = "MemoryInputError";
}

export interface MemoryServiceOptions {
  db: Database;
  locations: MemoryLocations;
  projectId: string;
  /** Folder holding the per-session folders (the parent of locations.sessionDir(id)). */
  sessionsDir: string;
  versionsKept: number;
  sectionBudgetTokens: number;
  redact: (text: string) => string;
  now?: () => Date;
  /** memory.location is "repo": project memory is inside the user's git repository. */
  repoMode?: boolean;
  /** Watch the memory folders so a search skips its look at every file while nothing changed (OpenCode only). */
  watch?: boolean;
}

export interface RememberInput {
  section: string;
  text: string;
  scope?: "project" | "global";
  sessionId: string;
}

export interface RememberResult {
  id: string;
  file: string;
  section: string;
  duplicateOf?: string;
  movedToTopic?: string;
  /** Set when the file held stray bytes (NUL, invalid UTF-8) that this write cleaned; tell the user. */
  repaired?: string;
}

export const MAX_ENTRY_CHARS = 2000;
export const MAX_NOTE_CHARS = 8000;

function lastTurn(notes: string): number {
  let max = 0;
  for (const match of notes.matchAll(/^## \[turn (\d+) ·/gm)) max = Math.max(max, Number(match[1]));
  return max;
}

export class MemoryService {
  readonly db: Database;
  readonly locations: MemoryLocations;
  readonly projectId: string;
  private readonly options: MemoryServiceOptions;
  private readonly lister = new MemoryFileLister();
  private fingerprints = new FingerprintCache();
  private readonly changes: ChangeWatch | undefined;

  constructor(options: MemoryServiceOptions) {
    this.options = options;
    this.db = options.db;
    this.locations = options.locations;
    this.projectId = options.projectId;
    this.changes = options.watch
      ? new ChangeWatch([options.locations.globalDir, options.locations.projectDir, options.sessionsDir])
      : undefined;
    migrateMemory(options.db);
    dropProjectFilesOutside(options.db, options.projectId, options.locations.projectDir);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Stats every memory file; re-parses only the ones whose size or mtime changed. */
  reconcile(): ReconcileStats {
    this.changes?.looking();
    const roots = {
      globalDir: this.locations.globalDir,
      projectDir: this.locations.projectDir,
      sessionsDir: this.options.sessionsDir,
      projectId: this.projectId,
    };
    const prefixes = [roots.globalDir, roots.projectDir, roots.sessionsDir].map((p) => (p.endsWith(sep) ? p : p + sep));
    return reconcile(this.db, this.lister.list(roots), prefixes, this.fingerprints);
  }

  /** Rebuilds the whole index from the files. */
  reindex(): ReconcileStats {
    clearIndex(this.db);
    this.fingerprints = new FingerprintCache();
    return this.reconcile();
  }

  /** `track: false` for internal ranking lookups that should not count as the entry being used. */
  search(options: Omit<SearchOptions, "projectId"> & { sessionId?: string; track?: boolean }): SearchResult {
    this.freshen();
    const result = searchEntries(this.db, { ...options, projectId: this.projectId });
    if (options.track !== false)
      recordUse(
        this.db,
        result.hits.map((h) => h.entryId),
        this.now(),
      );
    return result;
  }

  /** The index in line with the files before a read: a full look unless the watcher vouches that nothing changed. */
  freshen(): void {
    if (!this.changes?.quiet()) this.reconcile();
  }

  /** Stops watching the memory folders (OpenCode is shutting down). */
  close(): void {
    this.changes?.close();
  }

  private candidateCache: { generation: number; entries: IndexedEntry[] } | undefined;

  /** Project and global entries (what the memory block packs from); cached until the index changes. */
  candidates(): IndexedEntry[] {
    const generation = this.fingerprints.generation;
    if (this.candidateCache?.generation === generation) return this.candidateCache.entries;
    const entries = blockCandidates(this.db, this.projectId);
    this.candidateCache = { generation, entries };
    return entries;
  }

  /** BM25 relevance of entries to free text, by rowid, best = 1 (no use is recorded). */
  relevance(text: string, limit = 200): Map<number, number> {
    const ranked = rankEntries(this.db, text.slice(0, 2000), { limit, dropStopwords: true });
    const top = ranked[0]?.score ?? 0;
    const relevance = new Map<number, number>();
    if (top <= 0) return relevance;
    for (const r of ranked) relevance.set(r.rowid, r.score / top);
    return relevance;
  }

  find(id: string, scope: SearchScope = "all", sessionId?: string): IndexedEntry | undefined {
    return findEntry(this.db, id, { scope, projectId: this.projectId, sessionId });
  }

  async remember(input: RememberInput): Promise<RememberResult> {
    const scope = input.scope ?? "project";
    const allowed = scope === "global" ? GLOBAL_SECTIONS : PROJECT_SECTIONS;
    const section = resolveSection(input.section, allowed);
    if (!section) {
      throw new MemoryInputError(
        `unknown section "${input.section}" for ${scope} memory; use one of: ${allowed.join(", ")}`,
      );
    }
    const text = this.options.redact(cleanEntryText(input.text));
    if (!text) throw new MemoryInputError("text is empty: give the rule, decision or fact to remember");
    // An entry with no letter or digit ("....//", a lone surrogate) could never be found by memory search.
    if (queryTerms(text).length === 0) {
      throw new MemoryInputError(
        `text has no words (letters or digits), so memory search could never find it: got "${abbreviate(text, 40)}"; write the rule, decision or fact in words`,
      );
    }
    if (text.length > MAX_ENTRY_CHARS) {
      throw new MemoryInputError(
        `text is ${text.length} characters; an entry holds at most ${MAX_ENTRY_CHARS}. Split it or shorten it.`,
      );
    }
    const file = scope === "global" ? this.locations.globalFile : this.locations.projectFile;
    this.reconcile();
    const id = newEntryId();
    const tag = { id, date: this.now().toISOString().slice(0, 10), session: input.sessionId };
    let duplicateOf: string | undefined;
    let before = "";
    const written = await updateFile(
      file,
      (current) => {
        before = current;
        duplicateOf = findDuplicate(this.filesOfScope(scope, file, current), text);
        if (duplicateOf) return undefined;
        return appendToSection(current, section, formatBullet(text, tag), memoryTemplate(scope));
      },
      this.writeOptions(),
    );
    if (duplicateOf) {
      this.reconcile();
      return { id: duplicateOf, file, section, duplicateOf };
    }
    // Read back before saying "remembered": an entry the index cannot find would be a silent loss.
    const stats = this.reconcile();
    if (!this.find(id)) {
      await this.undo(file, written.content, before);
      const note = stats.notes.find((n) => n.path === file)?.note;
      throw new MemoryInputError(
        `the entry could not be read back from ${file} (${note ?? "something above the section, such as an unclosed ``` fence or <!-- comment, hides it"}), so it was not stored. Fix the file by hand (or move it aside) and try again.${repairNote(written.repaired)}`,
      );
    }
    const movedToTopic = await this.moveOverflow(file, section);
    if (scope === "project") await this.ignoreHousekeepingInRepo();
    this.reconcile();
    return {
      id,
      file,
      section,
      ...(movedToTopic ? { movedToTopic } : {}),
      ...(written.repaired ? { repaired: written.repaired } : {}),
    };
  }

  /** Puts a file back as it was before a write that could not be read back, unless someone changed it since. */
  private async undo(file: string, written: string, before: string): Promise<void> {
    await updateFile(file, (current) => (current === written ? before : undefined), this.writeOptions());
    this.reconcile();
  }

  /** Removes one entry from its file (the previous version is kept). */
  async forget(id: string): Promise<{ file: string; text: string; repaired?: string }> {
    this.reconcile();
    const entry = this.find(id.trim());
    if (!entry) throw new MemoryInputError(`no memory entry with id "${id}"; memory search shows entry ids`);
    assertWritable(entry.path, this.locations.writableRoots);
    let removed: MemoryEntry | undefined;
    const written = await updateFile(
      entry.path,
      (current) => {
        removed = parseEntries(current).find((e) => e.id === entry.entryId);
        return removed ? removeLines(current, removed.lineStart, removed.lineEnd) : undefined;
      },
      this.writeOptions(),
    );
    this.reconcile();
    if (!removed) throw new MemoryInputError(`entry "${id}" changed on disk before it could be removed; search again`);
    // A file with stray bytes is repaired by any write, a removal too: the user is told, as after remember.
    return { file: entry.path, text: removed.text, ...(written.repaired ? { repaired: written.repaired } : {}) };
  }

  /** In a repository (memory.location "repo") the versions, locks and temp files stay out of git. */
  private async ignoreHousekeepingInRepo(): Promise<void> {
    if (!this.options.repoMode) return;
    const ignore = join(this.locations.projectDir, ".gitignore");
    if (existsSync(ignore)) return;
    await updateFile(ignore, (current) => current || ".versions/\n*.lock\n.*.tmp-*\n", this.writeOptions());
  }

  private writeOptions() {
    return { roots: this.locations.writableRoots, versionsKept: this.options.versionsKept };
  }

  /** Entries already stored for a scope: the file being written (as it is now) plus its topic files. */
  private filesOfScope(scope: "project" | "global", file: string, currentMain: string): MemoryEntry[] {
    const entries = parseEntries(currentMain);
    for (const other of this.candidates().filter((c) => c.scope === scope && c.path !== file)) {
      entries.push({ id: other.entryId, text: other.text } as MemoryEntry);
    }
    return entries;
  }

  /**
   * When a section of MEMORY.md outgrows its budget, its oldest entries move to memory-<topic>.md, so
   * MEMORY.md stays small enough to read while nothing is dropped.
   */
  private async moveOverflow(file: string, section: string): Promise<string | undefined> {
    const budget = this.options.sectionBudgetTokens;
    const content = readFileSync(file, "utf8");
    const range = sectionRange(content, section);
    if (!range) return undefined;
    const body = splitLines(content).slice(range.start, range.end).join("\n");
    if (estimateTokens(body) <= budget) return undefined;
    const entries = parseEntries(content).filter((e) => e.section === section && e.lineStart > range.start);
    const moving: MemoryEntry[] = [];
    let remaining = estimateTokens(body);
    for (const entry of entries) {
      if (remaining <= budget * 0.75 || moving.length >= entries.length - 1) break;
      moving.push(entry);
      remaining -= estimateTokens(entryLines(content, entry));
    }
    if (moving.length === 0) return undefined;
    // Next to the file that overflowed: global topics stay global, project topics stay with the project.
    const topicFile = join(dirname(file), `memory-${topicSlug(section)}.md`);
    const movedText = moving.map((e) => entryLines(content, e)).join("\n");
    await updateFile(
      topicFile,
      (current) => {
        const base = current.trim()
          ? current.replace(/\s*$/, "\n")
          : `# ${section}\n\n<!-- Older entries of the "${section}" section of MEMORY.md, moved here when it outgrew its budget. -->\n\n`;
        return base + movedText + "\n";
      },
      this.writeOptions(),
    );
    const movedIds = new Set(moving.map((e) => e.id));
    await updateFile(
      file,
      (current) => {
        let next = current;
        for (const entry of parseEntries(current)
          .filter((e) => movedIds.has(e.id))
          .reverse()) {
          next = removeLines(next, entry.lineStart, entry.lineEnd);
        }
        return next;
      },
      this.writeOptions(),
    );
    return topicFile;
  }

  /**
   * Appends an entry to the session's notes.md (the agent's scratchpad), headed `## [turn N · <ISO time>]`.
   * `turn` is the session's user-turn count; a lower number than the file already has keeps the file's.
   */
  async appendNote(
    sessionId: string,
    text: string,
    turn: number,
  ): Promise<{ file: string; turn: number; repaired?: string }> {
    const body = this.options.redact(withoutLoneSurrogates(text).replace(/\r/g, "").replace(CONTROL_CHARS, "").trim());
    if (!body) throw new MemoryInputError("the note is empty");
    if (body.length > MAX_NOTE_CHARS)
      throw new MemoryInputError(`a note holds at most ${MAX_NOTE_CHARS} characters; this one has ${body.length}`);
    const file = join(this.locations.sessionDir(sessionId), "notes.md");
    let used = turn;
    let before = "";
    const written = await updateFile(
      file,
      (current) => {
        before = current;
        used = Math.max(turn, lastTurn(current));
        const heading = `## [turn ${used} · ${this.now().toISOString()}]`;
        const base = current.trim() ? current.replace(/\s*$/, "\n\n") : `# Session notes (${sessionId})\n\n`;
        // A note must not open headings of its own: they would split it into entries of other turns.
        return `${base}${heading}\n${body.replace(/^(#{1,6})\s/gm, "$1\\ ")}\n`;
      },
      this.writeOptions(),
    );
    const stats = this.reconcile();
    const added = parseEntries(written.content).at(-1);
    if (!added || !this.find(added.id, "session", sessionId)) {
      await this.undo(file, written.content, before);
      const note = stats.notes.find((n) => n.path === file)?.note;
      throw new MemoryInputError(
        `the note could not be read back from ${file} (${note ?? "the file's structure hides it"}), so it was not stored. Fix the file by hand (or move it aside) and try again.${repairNote(written.repaired)}`,
      );
    }
    return { file, turn: used, ...(written.repaired ? { repaired: written.repaired } : {}) };
  }

  readFile(path: string): string | undefined {
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }

  /** The project MEMORY.md's bytes and its text as every write reads it (stray bytes cleaned). */
  projectMemory(): { file: string; bytes: Uint8Array | undefined; text: string; unreadable?: string } {
    const file = this.locations.projectFile;
    const bytes = existsSync(file) ? readFileSync(file) : undefined;
    const inspected = bytes ? inspectText(bytes) : undefined;
    return {
      file,
      bytes,
      text: inspected?.text ?? "",
      ...(inspected?.binary ? { unreadable: `not a text file (${inspected.binary})` } : {}),
    };
  }

  /**
   * Replaces a memory file's whole text in one write (dream), only if it still holds `expect` (nothing changed it
   * since it was read): redacted, locked, the previous version kept, replaced atomically, read back.
   */
  async replaceFile(file: string, text: string, expect: string): Promise<ReplaceOutcome> {
    const next = this.options.redact(text);
    let conflict = false;
    const written = await updateFile(
      file,
      (current) => {
        if (current !== expect) {
          conflict = true;
          return undefined;
        }
        return next;
      },
      this.writeOptions(),
    );
    this.reconcile();
    if (conflict)
      return {
        ok: false,
        reason: `${file} changed while the run was working (edited by hand or by another session); nothing was written`,
      };
    if (!written.changed) return { ok: true, content: written.content, versionFile: undefined };
    return { ok: true, content: written.content, versionFile: listVersions(file).at(-1) };
  }

  /**
   * Puts exact bytes back into a memory file (undo), or removes it when `bytes` is undefined, only if the file's
   * bytes still hash to `expectSha256`. The current content is kept as a version first.
   */
  async restoreFile(
    file: string,
    bytes: Uint8Array | undefined,
    expectSha256: string,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    assertWritable(file, this.locations.writableRoots);
    assertNotReadOnly(file);
    const outcome = await withFileLock(file, () => {
      const current = existsSync(file) ? readFileSync(file) : undefined;
      const sha = current ? sha256(current) : "";
      if (sha !== expectSha256)
        return { ok: false as const, reason: `${file} changed since then; restoring would lose those changes` };
      keepVersion(file, this.options.versionsKept);
      if (bytes) writeFileAtomic(file, bytes);
      else if (current) unlinkSync(file);
      return { ok: true as const };
    });
    this.reconcile();
    return outcome;
  }
}

export type ReplaceOutcome =
  | { ok: true; content: string; versionFile: string | undefined }
  | { ok: false; reason: string };

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function entryLines(content: string, entry: MemoryEntry): string {
  return splitLines(content)
    .slice(entry.lineStart - 1, entry.lineEnd)
    .join("\n");
}

/** A refused write still keeps the repair of stray bytes it made (undo restores the repaired text): say so. */
function repairNote(repaired: string | undefined): string {
  return repaired ? ` Note: ${repaired}` : "";
}

function findDuplicate(entries: MemoryEntry[], text: string): string | undefined {
  return entries.find((e) => nearIdentical(e.text, text))?.id;
}
