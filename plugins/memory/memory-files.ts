// Which markdown files make up the memory, and reading one of them defensively: a person may leave a
// binary, a 50 MB log or invalid UTF-8 in the folder, and none of that may stop indexing of the rest.
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { CONTROL_CHARS } from "../core/memory-format.ts";

export type Scope = "global" | "project" | "session";

export interface MemoryFile {
  path: string;
  scope: Scope;
  /** "" for global, the project id, or the session id. */
  scopeId: string;
  /** "" for global files; the project the file belongs to otherwise. */
  projectId: string;
  size: number;
  mtimeMs: number;
}

export interface MemoryRoots {
  globalDir: string;
  projectDir: string;
  sessionsDir: string;
  projectId: string;
}

export const MAX_INDEXED_BYTES = 1024 * 1024;
const MAX_SESSION_DEPTH = 3;
/** The checkpoint feature's file in a session folder: not memory (see list()). */
const DERIVED_CHECKPOINT = "checkpoint.md";

/**
 * Lists memory files with one stat per file. Directory listings are reused while the directory's mtime is
 * unchanged (adding, removing or renaming a file changes it), so a quiet reconcile reads no directory twice.
 */
export class MemoryFileLister {
  private readonly listings = new Map<string, { mtimeMs: number; files: string[]; dirs: string[] }>();

  list(roots: MemoryRoots): MemoryFile[] {
    const files: MemoryFile[] = [];
    for (const path of this.markdownIn(roots.globalDir, 0)) pushFile(files, path, "global", "", "");
    for (const path of this.markdownIn(roots.projectDir, 0))
      pushFile(files, path, "project", roots.projectId, roots.projectId);
    for (const session of this.listing(roots.sessionsDir).dirs) {
      const dir = join(roots.sessionsDir, session);
      for (const path of this.markdownIn(dir, MAX_SESSION_DEPTH)) {
        // The checkpoint is derived (the rebuild already carries it) and quotes the person's latest request:
        // recalling it would echo their own words back as "memory".
        if (path === join(dir, DERIVED_CHECKPOINT)) continue;
        pushFile(files, path, "session", session, roots.projectId);
      }
    }
    return files;
  }

  private listing(dir: string): { files: string[]; dirs: string[] } {
    const stats = statSync(dir, { throwIfNoEntry: false });
    if (!stats?.isDirectory()) {
      this.listings.delete(dir);
      return { files: [], dirs: [] };
    }
    const cached = this.listings.get(dir);
    // A directory changed in the last two seconds is listed again: on file systems with coarse mtimes a
    // second change within the same tick would otherwise go unseen.
    if (cached && cached.mtimeMs === stats.mtimeMs && Date.now() - stats.mtimeMs > 2000) return cached;
    const files: string[] = [];
    const dirs: string[] = [];
    try {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name.startsWith(".")) continue;
        if (entry.isFile() && entry.name.endsWith(".md")) files.push(entry.name);
        else if (entry.isDirectory()) dirs.push(entry.name);
      }
    } catch {
      return { files: [], dirs: [] };
    }
    const fresh = { mtimeMs: stats.mtimeMs, files, dirs };
    this.listings.set(dir, fresh);
    return fresh;
  }

  /** *.md files (not hidden, not temp) in dir, descending `depth` more levels. */
  private markdownIn(dir: string, depth: number): string[] {
    const { files, dirs } = this.listing(dir);
    const out = files.map((name) => join(dir, name));
    if (depth > 0) for (const sub of dirs) out.push(...this.markdownIn(join(dir, sub), depth - 1));
    return out;
  }
}

function pushFile(files: MemoryFile[], path: string, scope: Scope, scopeId: string, projectId: string): void {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats?.isFile()) return;
  files.push({ path, scope, scopeId, projectId, size: stats.size, mtimeMs: stats.mtimeMs });
}

export interface ReadResult {
  text: string;
  hash: string;
  /** Why the file was indexed only in part, or not at all. */
  note?: string;
  indexable: boolean;
}

/** Reads at most MAX_INDEXED_BYTES; binary files are not indexed; stray bytes are cleaned (see inspectText) and noted. */
export function readMemoryFile(path: string, size: number, cap = MAX_INDEXED_BYTES): ReadResult {
  const bytes = readHead(path, Math.min(size, cap));
  const hash = createHash("sha1").update(bytes).update(String(size)).digest("hex");
  const inspected = inspectText(bytes, { partial: size > cap });
  if (inspected.binary)
    return { text: "", hash, note: `binary file, not indexed (${inspected.binary})`, indexable: false };
  const notes = [...inspected.repairs];
  let text = inspected.text;
  if (size > cap) {
    const lastNewline = text.lastIndexOf("\n");
    if (lastNewline > 0) text = text.slice(0, lastNewline);
    notes.push(
      `large file (${(size / 1024 / 1024).toFixed(1)} MB): only the first ${Math.round(cap / 1024)} KB are indexed`,
    );
  }
  return { text, hash, note: notes.join("; ") || undefined, indexable: true };
}

function readHead(path: string, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, "r");
  try {
    let offset = 0;
    while (offset < length) {
      const read = readSync(fd, buffer, offset, length - offset, offset);
      if (read === 0) break;
      offset += read;
    }
    return buffer.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

export interface InspectedText {
  /** The text with invalid UTF-8 replaced by U+FFFD and control characters removed (line structure kept). */
  text: string;
  /** What was cleaned, for the user ("2 NUL bytes removed"). Empty when the bytes were clean text. */
  repairs: string[];
  /** Why the bytes are not text at all (then nothing can be repaired); undefined for text. */
  binary?: string;
}

/**
 * Tells text from binary and cleans what one stray byte would otherwise spoil: a NUL or an invalid UTF-8 sequence
 * in a hand-edited MEMORY.md must not make the whole file unreadable. More than 10 % of bad characters is binary.
 */
export function inspectText(bytes: Uint8Array, options: { partial?: boolean } = {}): InspectedText {
  let decoded: string;
  let invalid = 0;
  try {
    // stream: a capped read may end inside a multi-byte character; that is not invalid UTF-8.
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: options.partial ?? false });
  } catch {
    decoded = new TextDecoder("utf-8").decode(bytes, { stream: options.partial ?? false });
    invalid = Math.max(1, countReplacements(decoded) - literalReplacements(bytes));
  }
  const nul = countMatches(decoded, /\u0000/g);
  const control = countMatches(decoded, CONTROL_CHARS);
  const sample = decoded.length || 1;
  if (decoded.length > 0 && (invalid + control) / sample > 0.1) {
    return {
      text: "",
      repairs: [],
      binary: `${Math.round(((invalid + control) / sample) * 100)} % of it is control characters or invalid UTF-8`,
    };
  }
  const repairs: string[] = [];
  if (invalid) repairs.push(`invalid UTF-8: ${invalid} bad byte sequence${invalid === 1 ? "" : "s"} shown as U+FFFD`);
  if (nul) repairs.push(`${nul} NUL byte${nul === 1 ? "" : "s"} ignored`);
  if (control > nul) repairs.push(`${control - nul} other control character${control - nul === 1 ? "" : "s"} ignored`);
  return { text: control ? decoded.replace(CONTROL_CHARS, "") : decoded, repairs };
}

function countMatches(text: string, pattern: RegExp): number {
  let n = 0;
  for (const _ of text.matchAll(pattern)) n++;
  return n;
}

function countReplacements(text: string): number {
  return countMatches(text, /\uFFFD/g);
}

/** U+FFFD that was already in the file as valid UTF-8 (EF BF BD) is not a repair. */
function literalReplacements(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i + 2 < bytes.length; i++)
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  return n;
}
