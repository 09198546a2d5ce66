// The 11 checkpoint sections: which the writer fills, which code fills, their token budgets, the checks run on
// a checkpoint_write call, and the stable markdown of checkpoint.md. Pure.
import { z } from "zod";
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";

export interface SectionSpec {
  n: number;
  key: SectionKey;
  title: string;
  /** Token budget of the writer's text for this section. */
  budget: number;
  /** Filled by code from the session; the writer may add a short note only. */
  byCode: boolean;
  hint: string;
}

export type SectionKey =
  | "active_intent"
  | "next_action"
  | "directives"
  | "task_tree"
  | "current_work"
  | "files"
  | "knowledge"
  | "errors"
  | "live_resources"
  | "decisions"
  | "open_notes";

export const SECTIONS: readonly SectionSpec[] = [
  {
    n: 1,
    key: "active_intent",
    title: "Active intent",
    budget: 600,
    byCode: false,
    hint: "what the user wants now (code adds the quote of the user's latest request)",
  },
  {
    n: 2,
    key: "next_action",
    title: "Next concrete action",
    budget: 300,
    byCode: false,
    hint: "the very next step, concrete enough to execute",
  },
  {
    n: 3,
    key: "directives",
    title: "Directives (this session)",
    budget: 1200,
    byCode: false,
    hint: "rules and constraints the user gave, exact wording",
  },
  {
    n: 4,
    key: "task_tree",
    title: "Task tree",
    budget: 150,
    byCode: true,
    hint: "rendered from the task store; optional one-line note",
  },
  {
    n: 5,
    key: "current_work",
    title: "Current work",
    budget: 1500,
    byCode: false,
    hint: "state of the work in progress, what is half done",
  },
  {
    n: 6,
    key: "files",
    title: "Files and code sections",
    budget: 600,
    byCode: true,
    hint: "files list is generated; add which functions/sections matter",
  },
  {
    n: 7,
    key: "knowledge",
    title: "Discovered knowledge (cross-task)",
    budget: 1500,
    byCode: false,
    hint: "durable facts learnt (memory candidates)",
  },
  {
    n: 8,
    key: "errors",
    title: "Errors and fixes",
    budget: 400,
    byCode: true,
    hint: "failures are generated; add the root cause if known",
  },
  {
    n: 9,
    key: "live_resources",
    title: "Live resources",
    budget: 150,
    byCode: true,
    hint: "branch, cwd, ports are generated; add anything else running",
  },
  {
    n: 10,
    key: "decisions",
    title: "Design decisions and discussion outcomes",
    budget: 1200,
    byCode: false,
    hint: "what was decided and why",
  },
  {
    n: 11,
    key: "open_notes",
    title: "Open notes",
    budget: 600,
    byCode: false,
    hint: "anything else worth keeping; questions open",
  },
];

export const sectionDescription = (spec: SectionSpec) =>
  `§${spec.n} ${spec.title}: ${spec.hint} (≤ ${spec.budget} tokens)${spec.byCode ? "; optional, code fills this section" : ""}`;

/** Argument shape of the checkpoint_write tool (one field per section), built on the given zod instance. */
export function checkpointArgsShape(zod: typeof z): Record<SectionKey, z.ZodType<string | undefined>> {
  const entries = SECTIONS.map((s) => [
    s.key,
    s.byCode ? zod.string().optional().describe(sectionDescription(s)) : zod.string().describe(sectionDescription(s)),
  ]);
  return Object.fromEntries(entries) as unknown as Record<SectionKey, z.ZodType<string | undefined>>;
}
const checkpointArgsSchema = z.object(checkpointArgsShape(z));

export type WriterSections = Partial<Record<SectionKey, string>>;

/** What code knows for certain and renders itself (§3 exact values, §4, §6, §8, §9). */
export interface DeterministicFacts {
  taskTree: string;
  files: string;
  errors: string;
  liveResources: string;
  /** Exact-form values from the user's own messages, carried byte for byte. */
  exactValues: string[];
  /** The person's own latest message (redacted), quoted at the top of §1 by code. */
  latestRequest?: string;
}

export interface StoredCheckpoint {
  sessionId: string;
  seq: number;
  writtenAt: string;
  /** Id of the last message the checkpoint covers (the watermark). */
  watermark: string | null;
  sections: Record<SectionKey, string>;
  markdown: string;
}

export interface ValidationContext {
  /** Every user message of the session, for the verbatim-quote check of §1. */
  userMessages: readonly string[];
  /** Code quotes the user's latest request in §1 itself: the writer's §1 needs no quote. */
  quoteByCode?: boolean;
}

/** A rejection names its problems and the sections to redo. */
export type Validation = { ok: true; sections: WriterSections } | { ok: false; problems: string[]; redo: SectionKey[] };

/** Checks a checkpoint_write call: shape, budgets, and a real verbatim user quote in §1. */
export function validateWriterSections(raw: unknown, context: ValidationContext): Validation {
  const parsed = checkpointArgsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${sectionLabel(String(i.path[0] ?? ""))}: ${i.message}`);
    const redo = SECTIONS.filter((s) => parsed.error.issues.some((i) => i.path[0] === s.key)).map((s) => s.key);
    return { ok: false, problems, redo };
  }
  const sections = parsed.data as WriterSections;
  const problems: string[] = [];
  const redo = new Set<SectionKey>();
  for (const spec of SECTIONS) {
    const text = (sections[spec.key] ?? "").trim();
    const tokens = estimateTokens(text);
    const problem =
      !spec.byCode && !text
        ? `§${spec.n} ${spec.title} is empty; write "none" if there is nothing to say`
        : tokens > spec.budget
          ? `§${spec.n} ${spec.title} is ${tokens} tokens, over its budget of ${spec.budget}; shorten it`
          : undefined;
    if (!problem) continue;
    problems.push(problem);
    redo.add(spec.key);
  }
  const quoteProblem = context.quoteByCode
    ? undefined
    : checkVerbatimQuote(sections.active_intent ?? "", context.userMessages);
  if (quoteProblem) {
    problems.push(quoteProblem);
    redo.add("active_intent");
  }
  return problems.length ? { ok: false, problems, redo: [...redo] } : { ok: true, sections };
}

/** How much of the user's latest request §1 quotes (tokens); a longer one is cut, with a mark. */
const QUOTE_TOKENS = 250;

/** The person's request as `> ` lines, cut to fit §1. */
export function quoteRequest(request: string): string {
  const text = truncateToTokens(request.trim(), QUOTE_TOKENS, " […]");
  return text
    .split("\n")
    .map((line) => `> ${line}`.trimEnd())
    .join("\n");
}

/** The writer's §1 without `> ` lines that quote no user message (code supplies the real quote). */
export function dropFalseQuotes(intent: string, userMessages: readonly string[]): string {
  return intent
    .split("\n")
    .filter((line) => !line.trim().startsWith(">") || !checkVerbatimQuote(line, userMessages))
    .join("\n")
    .trim();
}

const MIN_QUOTE = 8;

/** §1 must hold at least one `> ` line copied from a user message (whitespace-insensitive). */
export function checkVerbatimQuote(intent: string, userMessages: readonly string[]): string | undefined {
  if (userMessages.length === 0) return undefined;
  const quotes = intent
    .split("\n")
    .filter((line) => line.trim().startsWith(">"))
    .map((line) =>
      squash(
        line
          .trim()
          .replace(/^>\s?/, "")
          .replace(/^["“]|["”]$/g, ""),
      ),
    )
    .filter((q) => q.length > 0);
  const haystack = userMessages.map(squash);
  const real = quotes.find(
    (q) => (q.length >= MIN_QUOTE || haystack.includes(q)) && haystack.some((m) => m.includes(q)),
  );
  if (real) return undefined;
  if (quotes.length === 0)
    return '§1 Active intent must quote the user\'s request verbatim on a line starting with "> " (copy a sentence of a user message exactly)';
  return `§1 Active intent: the quote ${JSON.stringify(quotes[0]!.slice(0, 80))} is not in any user message; copy the user's words exactly, character for character`;
}

const squash = (text: string) => text.replace(/\s+/g, " ").trim();

function sectionLabel(key: string): string {
  const spec = SECTIONS.find((s) => s.key === key);
  return spec ? `§${spec.n} ${spec.title} (${key})` : key || "arguments";
}

/** Merges the writer's text with what code knows; the result has every section filled. */
export function composeSections(writer: WriterSections, facts: DeterministicFacts): Record<SectionKey, string> {
  const note = (key: SectionKey) => {
    const text = writer[key]?.trim();
    return text && text.toLowerCase() !== "none" ? `\n\nNote: ${text}` : "";
  };
  const exact = facts.exactValues.length
    ? `\n\nExact values from the user (verbatim):\n${facts.exactValues.map((v) => `- \`${v}\``).join("\n")}`
    : "";
  const quote = facts.latestRequest
    ? `The user's latest request (verbatim):\n${quoteRequest(facts.latestRequest)}\n\n`
    : "";
  return {
    active_intent: quote + writer.active_intent!.trim(),
    next_action: writer.next_action!.trim(),
    directives: writer.directives!.trim() + exact,
    task_tree: facts.taskTree + note("task_tree"),
    current_work: writer.current_work!.trim(),
    files: facts.files + note("files"),
    knowledge: writer.knowledge!.trim(),
    errors: facts.errors + note("errors"),
    live_resources: facts.liveResources + note("live_resources"),
    decisions: writer.decisions!.trim(),
    open_notes: writer.open_notes!.trim(),
  };
}

export const CHECKPOINT_HEADER = "# Checkpoint";

/** The stable markdown of checkpoint.md: a header line of metadata, then the 11 numbered sections. */
export function renderCheckpoint(
  meta: { sessionId: string; seq: number; writtenAt: string; watermark: string | null },
  sections: Record<SectionKey, string>,
): string {
  const lines = [
    CHECKPOINT_HEADER,
    `<!-- opencode-continuum checkpoint ${meta.seq} · session ${meta.sessionId} · written ${meta.writtenAt} · covers up to message ${meta.watermark ?? "(none)"} -->`,
    "",
  ];
  for (const spec of SECTIONS) lines.push(`## ${spec.n}. ${spec.title}`, "", sections[spec.key].trim() || "(none)", "");
  return lines.join("\n");
}

/** The sections of a checkpoint.md by key; a heading it does not know, or a "(none)" body, is left out. */
export function parseCheckpointSections(markdown: string): Partial<Record<SectionKey, string>> {
  const byTitle = new Map(SECTIONS.map((s) => [`${s.n}. ${s.title}`, s.key]));
  const out: Partial<Record<SectionKey, string>> = {};
  const headings = [...markdown.matchAll(/^## (\d+\. .+)$/gm)];
  headings.forEach((match, i) => {
    const key = byTitle.get(match[1]!.trim());
    if (!key) return;
    const end = i + 1 < headings.length ? headings[i + 1]!.index : markdown.length;
    const body = markdown.slice(match.index + match[0].length, end).trim();
    if (body && body !== "(none)") out[key] = body;
  });
  return out;
}

/** Checks that a checkpoint.md still has the 11 headings in order (used to spot hand edits that broke it). */
export function checkpointShapeProblems(markdown: string): string[] {
  const headings = [...markdown.matchAll(/^## (\d+)\. (.+)$/gm)].map((m) => `${m[1]}. ${m[2]!.trim()}`);
  const expected = SECTIONS.map((s) => `${s.n}. ${s.title}`);
  const missing = expected.filter((h) => !headings.includes(h));
  return missing.map((h) => `missing section "## ${h}"`);
}

/** Checkpoint text for the rebuild dump, fitted to a token cap section by section (later sections cut first). */
export function fitCheckpoint(markdown: string, cap: number): string {
  return truncateToTokens(markdown, cap, "\n[… checkpoint cut to fit the rebuild cap]");
}
