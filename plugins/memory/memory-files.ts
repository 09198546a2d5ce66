// Which markdown files make up the memory, and reading one of them defensively: a person may leave a
// binary, a 50 MB log or invalid UTF-8 in the folder, and none of that may stop indexing of the rest.
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";

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

/**
 * Lists memory files with one stat per file. Directory listings are reused while the directory's mtime is
 * unchanged (adding, removing or renaming a file changes it), so a quiet reconcile reads no directory twice.
 */
export class MemoryFileLister {
  private readonly listings = new Map<string, { mtimeMs: number; files: string[]; dirs: string[] }>();

  list(roots: MemoryRoots): MemoryFile[] {
    const files: MemoryFile[] = [];
    for (const path of this.markdownIn(roots.globalDir, 0)) pushFile(files, path, "global", "", "");
    for (const path of this.markdownIn(roots.projectDir, 0)) pushFile(files, path, "project", roots.projectId, roots.projectId);
    for (const session of this.listing(roots.sessionsDir).dirs) {
      for (const path of this.markdownIn(join(roots.sessionsDir, session), MAX_SESSION_DEPTH)) {
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

/** Reads at most MAX_INDEXED_BYTES; binary files are not indexed, invalid UTF-8 is replaced and noted. */
export function readMemoryFile(path: string, size: number, cap = MAX_INDEXED_BYTES): ReadResult {
  const bytes = readHead(path, Math.min(size, cap));
  const hash = createHash("sha1").update(bytes).update(String(size)).digest("hex");
  if (looksBinary(bytes)) return { text: "", hash, note: "binary file, not indexed", indexable: false };
  const notes: string[] = [];
  let text = decode(bytes, notes, size > cap);
  if (size > cap) {
    const lastNewline = text.lastIndexOf("\n");
    if (lastNewline > 0) text = text.slice(0, lastNewline);
    notes.push(`large file (${(size / 1024 / 1024).toFixed(1)} MB): only the first ${Math.round(cap / 1024)} KB are indexed`);
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

function looksBinary(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return true;
  let control = 0;
  for (const byte of head) if (byte < 9 || (byte > 13 && byte < 32)) control++;
  return head.length > 0 && control / head.length > 0.1;
}

function decode(bytes: Buffer, notes: string[], partial: boolean): string {
  try {
    // stream: a capped read may end inside a multi-byte character; that is not invalid UTF-8.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: partial });
  } catch {
    notes.push("invalid UTF-8: bad bytes shown as U+FFFD");
    return new TextDecoder("utf-8").decode(bytes);
  }
}
