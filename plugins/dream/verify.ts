// After a dream, code checks every file path and code name an entry mentions against the project: what no longer
// exists is reported and the entry marked [unverified]. Bounded: a walk of at most MAX_FILES files (skipping
// dependency and build folders) and a read of at most MAX_SCAN_BYTES of text for code names.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

export const UNVERIFIED = "[unverified]";
const MAX_FILES = 20_000;
const MAX_FILE_BYTES = 512 * 1024;
const MAX_SCAN_BYTES = 64 * 1024 * 1024;
const SKIP_DIRS = new Set([
  ".git",
  "node_modules",
  "dist",
  "build",
  "out",
  "target",
  ".next",
  ".venv",
  "venv",
  "__pycache__",
  ".cache",
  "coverage",
]);
const EXTENSIONS =
  "ts|tsx|js|jsx|mjs|cjs|json|jsonc|md|py|go|rs|java|kt|rb|php|cs|c|h|cc|cpp|hpp|sh|yml|yaml|toml|css|scss|html|sql|swift|lua|vue|svelte|txt|lock|env";

export interface Mentions {
  paths: string[];
  names: string[];
}

/** File paths (with a folder or a known extension) and code names (in backticks) an entry's text mentions. */
export function mentionsOf(text: string): Mentions {
  const paths = new Set<string>();
  const names = new Set<string>();
  const pathPattern = new RegExp(
    String.raw`(?<![\w/.:@-])((?:\.{1,2}/)?(?:[\w@.-]+/)+[\w@.-]+|[\w-][\w.-]*\.(?:${EXTENSIONS}))(?![\w/-])`,
    "g",
  );
  for (const match of text.matchAll(pathPattern)) {
    const path = match[1]!.replace(/[.,;:]+$/, "");
    if (looksLikePath(path, text, match.index ?? 0)) paths.add(path.replace(/^\.\//, ""));
  }
  for (const match of text.matchAll(/`([^`\n]{2,80})`/g)) {
    const inner = match[1]!.trim().replace(/\(\)$/, "");
    if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(inner) && isCodeName(inner) && !paths.has(inner))
      names.add(inner);
  }
  return { paths: [...paths], names: [...names] };
}

function looksLikePath(path: string, text: string, at: number): boolean {
  if (/^\d+(\.\d+)*$/.test(path) || /^\d+\/\d+/.test(path)) return false; // numbers, dates, fractions
  if (text.slice(Math.max(0, at - 8), at).includes("://")) return false;
  if (/^(e\.g|i\.e|etc|vs)\b/i.test(path)) return false;
  if (path.startsWith("/")) return false;
  if (path.includes("/") && !/[A-Za-z]/.test(path)) return false;
  // "and/or", "read/write": two plain words with a slash are prose, not a path, unless one has an extension.
  if (/^[a-z]+\/[a-z]+$/.test(path)) return false;
  return true;
}

/** A name that is code: camelCase, PascalCase with two humps, snake_case, a dotted member, or a call. */
function isCodeName(name: string): boolean {
  const last = name.split(".").at(-1)!;
  return name.includes(".") || /[a-z][A-Z]/.test(last) || /_/.test(last) || /^[A-Z][a-z]+[A-Z]/.test(last);
}

export interface ProjectView {
  hasPath(path: string): boolean;
  hasName(name: string): boolean;
}

/** The project as the check sees it: its files, walked once, and their text, read once on the first name. */
export function projectView(root: string): ProjectView {
  const files = walk(root);
  const relPaths = new Set(files.map((f) => relative(root, f).split(sep).join("/")));
  const baseNames = new Set([...relPaths].map((p) => p.split("/").at(-1)!));
  const dirs = new Set<string>();
  for (const p of relPaths) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  let corpus: string[] | undefined;
  const text = () => (corpus ??= readTexts(files));
  return {
    hasPath(path) {
      const clean = path.replace(/^\.\//, "").replace(/\/$/, "");
      if (relPaths.has(clean) || dirs.has(clean)) return true;
      if (!clean.includes("/")) return baseNames.has(clean);
      // A path relative to some folder of the project ("memory/entries.ts" for plugins/memory/entries.ts).
      for (const p of relPaths) if (p.endsWith(`/${clean}`)) return true;
      for (const d of dirs) if (d.endsWith(`/${clean}`)) return true;
      return false;
    },
    hasName(name) {
      const last = name.split(".").at(-1)!;
      return text().some((t) => t.includes(last));
    },
  };
}

function walk(root: string): string[] {
  const out: string[] = [];
  const queue = [root];
  while (queue.length && out.length < MAX_FILES) {
    const dir = queue.shift()!;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) {
        // The memory itself (memory.location "repo") must not vouch for what it mentions.
        const memoryDir = entry.name === "memory" && dir.endsWith(`${sep}.opencode`);
        if (!SKIP_DIRS.has(entry.name) && !memoryDir) queue.push(join(dir, entry.name));
      } else if (entry.isFile() || entry.isSymbolicLink()) out.push(join(dir, entry.name)); // a link exists; it is never followed as a folder
      if (out.length >= MAX_FILES) break;
    }
  }
  return out;
}

function readTexts(files: string[]): string[] {
  const texts: string[] = [];
  let total = 0;
  for (const file of files) {
    try {
      const stats = statSync(file);
      // Regular files only: a link to a device or a pipe (/dev/zero) would never end.
      if (!stats.isFile()) continue;
      const size = stats.size;
      if (size > MAX_FILE_BYTES || total + size > MAX_SCAN_BYTES) continue;
      const bytes = readFileSync(file);
      if (bytes.includes(0)) continue;
      total += size;
      texts.push(bytes.toString("utf8"));
    } catch {
      /* unreadable: skipped */
    }
  }
  return texts;
}

/** What an entry mentions that the project no longer has. */
export function missingMentions(text: string, view: ProjectView): string[] {
  const { paths, names } = mentionsOf(text);
  return [...paths.filter((p) => !view.hasPath(p)), ...names.filter((n) => !view.hasName(n))];
}

/** Entries that already carry the mark are not looked at again. */
type Annotatable = { entries(): { id: string; text: string }[]; annotate(id: string, note: string): void };

/**
 * Every path and code name an entry mentions is looked up in the project; an entry naming something gone is marked
 * (not deleted: the fact may still hold) and returned. The project is walked only when an entry needs it.
 */
export function markMissingMentions(
  draft: Annotatable,
  projectRoot: string,
  today: string,
): { id: string; text: string; missing: string[] }[] {
  const marked: { id: string; text: string; missing: string[] }[] = [];
  let view: ProjectView | undefined;
  for (const entry of draft.entries()) {
    if (entry.text.includes(UNVERIFIED)) continue;
    view ??= projectView(projectRoot);
    const missing = missingMentions(entry.text, view);
    if (!missing.length) continue;
    draft.annotate(entry.id, `${UNVERIFIED} (${missing.join(", ").slice(0, 120)} not found on ${today})`);
    marked.push({ id: entry.id, text: entry.text.slice(0, 200), missing });
  }
  return marked;
}
