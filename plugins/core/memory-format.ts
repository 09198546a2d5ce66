// Markdown memory files as a list of entries (a bullet, or a paragraph under a heading), and the few edits
// the pack makes to them. Pure text in, text out: files are hand-edited, so nothing here may throw on odd input.
import { createHash } from "node:crypto";

export interface MemoryEntry {
  /** `m-…` from the entry's tag, or `h-…` derived from its text when a person wrote it without one. */
  id: string;
  kind: "bullet" | "paragraph";
  /** Nearest heading of level 1 or 2: the MEMORY.md section the entry belongs to. */
  section: string;
  /** Full heading path, e.g. "Rules > Testing". */
  heading: string;
  /** 1-based, inclusive. */
  lineStart: number;
  lineEnd: number;
  /** Display text: bullet marker and tag removed, continuation lines joined with "\n". */
  text: string;
  date?: string;
  session?: string;
  /** Set when an earlier entry of the file has the same id: `id` is then `<that id>~<n>` (see uniqueIds). */
  duplicateOf?: string;
}

export const PROJECT_SECTIONS = [
  "Project context",
  "Rules",
  "Architecture decisions",
  "Discovered durable knowledge",
] as const;
export const GLOBAL_SECTIONS = ["Preferences", "Rules"] as const;

const HEADING = /^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$/;
const BULLET = /^[ ]{0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const FENCE = /^[ ]{0,3}(`{3,}|~{3,})/;
const ONLY_COMMENT = /^\s*<!--.*-->\s*$/;
const TAG =
  /\s*<!--\s*id:([A-Za-z0-9_~-]{1,64})(?:\s*[·|]\s*(\d{4}-\d{2}-\d{2}))?(?:\s*[·|]\s*([^\s·|>]{1,128}))?\s*-->\s*/;

export function splitLines(content: string): string[] {
  return content.split(/\r?\n/);
}

/** Parses a memory file into entries; never throws. */
export function parseEntries(content: string): MemoryEntry[] {
  const lines = splitLines(content);
  const entries: MemoryEntry[] = [];
  const headings: { level: number; text: string }[] = [];
  let current: { kind: MemoryEntry["kind"]; start: number; lines: string[] } | undefined;
  let fence: string | undefined;
  let commentOpen = false;

  const close = () => {
    if (!current) return;
    const entry = buildEntry(current.kind, current.lines, current.start + 1, headings);
    if (entry) entries.push(entry);
    current = undefined;
  };

  lines.forEach((line, index) => {
    if (fence) {
      current?.lines.push(line);
      if (line.trim().startsWith(fence)) fence = undefined;
      return;
    }
    if (commentOpen) {
      if (line.includes("-->")) commentOpen = false;
      return;
    }
    const fenceMatch = FENCE.exec(line);
    if (fenceMatch) {
      fence = fenceMatch[1]!.slice(0, 3);
      if (!current) current = { kind: "paragraph", start: index, lines: [] };
      current.lines.push(line);
      return;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      close();
      const level = heading[1]!.length;
      while (headings.length && headings.at(-1)!.level >= level) headings.pop();
      headings.push({ level, text: heading[2]!.trim() });
      return;
    }
    if (!line.trim()) {
      close();
      return;
    }
    if (!current && ONLY_COMMENT.test(line) && !TAG.test(line)) return;
    if (!current && line.trimStart().startsWith("<!--") && !line.includes("-->")) {
      commentOpen = true;
      return;
    }
    const nestedBullet = current?.kind === "bullet" && /^\s{2,}/.test(line);
    if (BULLET.test(line.trimStart()) && !nestedBullet) {
      close();
      current = { kind: "bullet", start: index, lines: [line] };
      return;
    }
    if (current) {
      current.lines.push(line);
      return;
    }
    current = { kind: "paragraph", start: index, lines: [line] };
  });
  close();
  return uniqueIds(entries);
}

/**
 * Two entries of a file with the same id (a copied line, a hand edit, two identical untagged lines): the first keeps
 * it, the next ones are addressed as `<id>~2`, `<id>~3` in file order, so every entry can be forgotten or rewritten
 * on its own. `~` never occurs in a generated id, and a tag may carry it: an entry rewritten under `<id>~2` keeps
 * that id for good.
 */
function uniqueIds(entries: MemoryEntry[]): MemoryEntry[] {
  const seen = new Set(entries.map((e) => e.id));
  const counts = new Map<string, number>();
  return entries.map((entry) => {
    const n = (counts.get(entry.id) ?? 0) + 1;
    counts.set(entry.id, n);
    if (n === 1) return entry;
    let suffix = n;
    while (seen.has(`${entry.id}~${suffix}`)) suffix++;
    const id = `${entry.id}~${suffix}`;
    seen.add(id);
    return { ...entry, id, duplicateOf: entry.id };
  });
}

/** The duplicated ids of a file's entries: each with the ids its entries are addressed by and their lines. */
export function duplicateIds(
  entries: readonly MemoryEntry[],
): { id: string; entries: { id: string; line: number }[] }[] {
  const groups = new Map<string, { id: string; line: number }[]>();
  for (const entry of entries) {
    const base = entry.duplicateOf ?? entry.id;
    const group = groups.get(base) ?? [];
    group.push({ id: entry.id, line: entry.lineStart });
    groups.set(base, group);
  }
  return [...groups.entries()].filter(([, group]) => group.length > 1).map(([id, group]) => ({ id, entries: group }));
}

function buildEntry(
  kind: MemoryEntry["kind"],
  lines: string[],
  lineStart: number,
  headings: { level: number; text: string }[],
): MemoryEntry | undefined {
  const raw = lines.join("\n");
  const tag = TAG.exec(raw);
  const withoutTag = tag ? raw.replace(TAG, " ") : raw;
  const text = displayText(kind, withoutTag);
  if (!text) return undefined;
  const sectionHeading = [...headings].reverse().find((h) => h.level <= 2);
  return {
    id: tag?.[1] ?? derivedId(text),
    kind,
    section: sectionHeading?.text ?? "",
    heading: headings.map((h) => h.text).join(" > "),
    lineStart,
    lineEnd: lineStart + lines.length - 1,
    text,
    date: tag?.[2],
    session: tag?.[3],
  };
}

function displayText(kind: MemoryEntry["kind"], raw: string): string {
  const lines = raw.split("\n").map((line, i) => {
    if (i === 0 && kind === "bullet") return (BULLET.exec(line)?.[1] ?? line).trim();
    return line.trim();
  });
  return lines
    .filter((l) => l.length > 0)
    .join("\n")
    .trim();
}

/** Ids of untagged, hand-written entries: stable while their text is unchanged. */
export function derivedId(text: string): string {
  return "h-" + createHash("sha1").update(normalizeForCompare(text)).digest("hex").slice(0, 8);
}

export function newEntryId(random: () => string = () => Math.random().toString(36).slice(2)): string {
  const chars = (random() + random()).replace(/[^a-z0-9]/g, "");
  return "m-" + chars.padEnd(8, "0").slice(0, 8);
}

export interface EntryTag {
  id: string;
  date: string;
  session: string;
}

export function formatTag(tag: EntryTag): string {
  const session = tag.session.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 128) || "unknown";
  return `<!-- id:${tag.id} · ${tag.date} · ${session} -->`;
}

/** One bullet: the first line carries the text, further lines are indented continuations, the tag closes it. */
export function formatBullet(text: string, tag: EntryTag): string {
  const lines = text
    .replace(/\r/g, "")
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim().length > 0);
  const [first = "", ...rest] = lines;
  const body = [`- ${first.replace(/^[-*+]\s+/, "")}`, ...rest.map((l) => `  ${l.trimStart()}`)];
  body[body.length - 1] += " " + formatTag(tag);
  return body.join("\n");
}

/** Lowercased words only: what "near-identical" compares. */
export function normalizeForCompare(text: string): string {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** True when two texts say the same thing up to case, punctuation and a word or two. */
export function nearIdentical(a: string, b: string): boolean {
  const na = normalizeForCompare(a);
  const nb = normalizeForCompare(b);
  if (!na || !nb) return false;
  if (na === nb) return true;
  const wa = new Set(na.split(" "));
  const wb = new Set(nb.split(" "));
  let shared = 0;
  for (const w of wa) if (wb.has(w)) shared++;
  const union = wa.size + wb.size - shared;
  return union > 0 && shared / union >= 0.85 && Math.abs(wa.size - wb.size) <= 2;
}

/** Finds the canonical section name for what a model or person typed ("rules", "decisions", …). */
export function resolveSection(name: string, allowed: readonly string[]): string | undefined {
  const wanted = normalizeForCompare(name);
  if (!wanted) return undefined;
  const exact = allowed.find((s) => normalizeForCompare(s) === wanted);
  if (exact) return exact;
  const aliases: Record<string, string> = {
    rule: "Rules",
    decision: "Architecture decisions",
    decisions: "Architecture decisions",
    architecture: "Architecture decisions",
    knowledge: "Discovered durable knowledge",
    "durable knowledge": "Discovered durable knowledge",
    facts: "Discovered durable knowledge",
    context: "Project context",
    preference: "Preferences",
  };
  const alias = aliases[wanted];
  return alias && allowed.includes(alias) ? alias : undefined;
}

export function memoryTemplate(kind: "project" | "global"): string {
  const title = kind === "project" ? "# Project memory" : "# Global memory";
  const sections = kind === "project" ? PROJECT_SECTIONS : GLOBAL_SECTIONS;
  const intro =
    "<!-- Plain markdown: edit freely. Each bullet is one entry; the trailing id comment lets the memory tool forget it. -->";
  return [title, "", intro, "", ...sections.flatMap((s) => [`## ${s}`, ""])].join("\n");
}

/** Headings outside code fences: a "## x" inside a fenced block is text, not a section boundary. */
function headingsOf(lines: string[]): { index: number; level: number; text: string }[] {
  const found: { index: number; level: number; text: string }[] = [];
  let fence: string | undefined;
  lines.forEach((line, index) => {
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      if (line.trim().startsWith(fence)) fence = undefined;
      return;
    }
    if (fenceMatch) {
      fence = fenceMatch[1]!.slice(0, 3);
      return;
    }
    const heading = HEADING.exec(line);
    if (heading) found.push({ index, level: heading[1]!.length, text: heading[2]! });
  });
  return found;
}

/** [start, end) line indexes of a level-2 section's body, start being the line after its heading. */
function findSection(lines: string[], section: string): { start: number; end: number } | undefined {
  const headings = headingsOf(lines);
  const at = headings.findIndex((h) => h.level === 2 && normalizeForCompare(h.text) === normalizeForCompare(section));
  if (at === -1) return undefined;
  const next = headings.slice(at + 1).find((h) => h.level <= 2);
  return { start: headings[at]!.index + 1, end: next ? next.index : lines.length };
}

const eolOf = (content: string) => (content.includes("\r\n") ? "\r\n" : "\n");

/** Appends an entry at the end of a level-2 section, creating the section (or the whole file) when missing. */
export function appendToSection(content: string, section: string, entryText: string, template: string): string {
  const base = content.trim() ? content : template;
  const eol = eolOf(base);
  const lines = splitLines(base);
  const range = findSection(lines, section);
  if (!range) {
    const trimmed = base.replace(/\s+$/, "");
    return [trimmed, "", `## ${section}`, "", ...splitLines(entryText), ""].join(eol);
  }
  let insertAt = range.end;
  while (insertAt > range.start && !lines[insertAt - 1]!.trim()) insertAt--;
  const before = lines.slice(0, insertAt);
  const after = lines.slice(insertAt);
  while (after.length && !after[0]!.trim()) after.shift();
  const gap = insertAt === range.start ? [""] : [];
  const rest = after.length ? ["", ...after] : [];
  return withFinalNewline([...before, ...gap, ...splitLines(entryText), ...rest].join(eol), eol);
}

function withFinalNewline(text: string, eol: string): string {
  return text.replace(/(\r?\n)*$/, eol);
}

/** Removes lines [lineStart, lineEnd] (1-based) and collapses the blank lines left behind. */
export function removeLines(content: string, lineStart: number, lineEnd: number): string {
  const lines = splitLines(content);
  lines.splice(lineStart - 1, lineEnd - lineStart + 1);
  const at = lineStart - 1;
  // Only the gap the removal left is collapsed; the rest of the person's formatting stays as it was.
  if (at > 0 && at < lines.length && !lines[at - 1]!.trim() && !lines[at]!.trim()) lines.splice(at, 1);
  return lines.join(eolOf(content));
}

/** Lines of one level-2 section's body (for budget checks): [start, end) as 0-based line indexes. */
export function sectionRange(content: string, section: string): { start: number; end: number } | undefined {
  return findSection(splitLines(content), section);
}

export function topicSlug(section: string): string {
  return normalizeForCompare(section).replace(/\s+/g, "-").slice(0, 48) || "misc";
}

/** C0 controls other than tab, newline and carriage return, DEL, and C1 controls: never meaningful in memory text. */
export const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** One entry is one or a few lines of plain text: headings and runs of blank lines would break the file's structure. */
export function cleanEntryText(text: string): string {
  return withoutLoneSurrogates(text)
    .replace(/\r/g, "")
    .replace(CONTROL_CHARS, "")
    .split("\n")
    .map((line) => line.replace(/^\s*#{1,6}\s+/, "").trimEnd())
    .filter((line) => line.trim().length > 0)
    .join("\n")
    .replace(/<!--|-->/g, "")
    .trim();
}

/** Half of a surrogate pair has no UTF-8 form: written to a file it would silently become U+FFFD. */
export function withoutLoneSurrogates(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "");
}
