// The deterministic half of /distill: from the tool calls and user messages of past sessions, the workflows that
// recur. Steps are normalised (paths, numbers, ids and quoted strings abstracted), consecutive repeats collapsed,
// and every contiguous run of 2-6 steps counted by the sessions it appears in. Pure: the same input gives the same
// candidates in the same order.

export interface HistoryStep {
  sessionId: string;
  /** Tool name, or "user" for a user message. */
  tool: string;
  /** Tool arguments (parsed) or the user's text. */
  input: unknown;
  at: number;
}

export interface SequenceCandidate {
  key: string;
  steps: string[];
  sessions: string[];
  /** Times the sequence was run, over all sessions. */
  occurrences: number;
  suggestedName: string;
}

export interface RequestCandidate {
  key: string;
  sessions: string[];
  occurrences: number;
  examples: string[];
}

export interface MinerOptions {
  minSessions: number;
  minLength?: number;
  maxLength?: number;
  /** A sequence run at least this often in one session is a candidate even below minSessions (costly, recurring). */
  costlyOccurrences?: number;
  limit?: number;
}

const READ_ONLY = new Set(["read", "grep", "glob", "list", "webfetch", "todoread"]);

/** One shell command as a pattern: `npm test -- src/a.test.ts` → `npm test -- <path>`. */
export function normalizeCommand(command: string): string {
  const first = command.replace(/\r/g, "").split(/\n|&&|;|\|\|/)[0] ?? "";
  return first
    .replace(/(["'`])(?:\\.|(?!\1)[^\\])*\1/g, "<str>")
    .replace(/(?:^|\s)(?:[\w.@~:-]*\/[\w.@/~:-]*)/g, (m) => `${m.startsWith(" ") ? " " : ""}<path>`)
    .replace(/\b[\w-]+\.(?:ts|tsx|js|jsx|mjs|cjs|py|go|rs|java|rb|json|md|css|html|sh|yml|yaml|toml)\b/g, "<path>")
    .replace(/\b(?=[a-z0-9_-]*\d)(?=[a-z0-9_-]*[a-z])[a-z0-9_-]{8,}\b/gi, "<id>")
    .replace(/\b\d+(?:\.\d+)*\b/g, "<n>")
    .replace(/\s+/g, " ")
    .trim()
    .split(" ")
    .slice(0, 6)
    .join(" ");
}

/** A step as the miner compares it; undefined for steps that say nothing about a workflow. */
export function stepOf(step: HistoryStep): string | undefined {
  if (step.tool === "user") return undefined;
  const input = (step.input && typeof step.input === "object" ? step.input : {}) as Record<string, unknown>;
  if (step.tool === "bash") {
    const command = typeof input.command === "string" ? normalizeCommand(input.command) : "";
    return command ? `bash: ${command}` : undefined;
  }
  if (READ_ONLY.has(step.tool)) return undefined;
  const path = [input.filePath, input.path, input.file].find((v) => typeof v === "string") as string | undefined;
  const ext = path?.match(/\.([A-Za-z0-9]{1,8})$/)?.[1];
  return ext ? `${step.tool} *.${ext.toLowerCase()}` : step.tool;
}

function sessionSteps(steps: HistoryStep[]): Map<string, string[]> {
  const bySession = new Map<string, { at: number; i: number; step: string }[]>();
  steps.forEach((s, i) => {
    const step = stepOf(s);
    if (!step) return;
    const list = bySession.get(s.sessionId) ?? [];
    list.push({ at: s.at, i, step });
    bySession.set(s.sessionId, list);
  });
  const out = new Map<string, string[]>();
  for (const [id, list] of [...bySession.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort((a, b) => a.at - b.at || a.i - b.i);
    const collapsed: string[] = [];
    for (const { step } of list) if (collapsed.at(-1) !== step) collapsed.push(step);
    out.set(id, collapsed);
  }
  return out;
}

/** Recurring tool-call sequences, the longest first among equals; none shorter than a kept one with the same sessions. */
export function mineSequences(steps: HistoryStep[], options: MinerOptions): SequenceCandidate[] {
  const minLength = Math.max(2, options.minLength ?? 2);
  const maxLength = Math.max(minLength, options.maxLength ?? 6);
  const costly = options.costlyOccurrences ?? 4;
  const counts = new Map<
    string,
    { steps: string[]; sessions: Set<string>; occurrences: number; perSession: Map<string, number> }
  >();
  for (const [sessionId, list] of sessionSteps(steps)) {
    for (let length = minLength; length <= maxLength; length++) {
      for (let start = 0; start + length <= list.length; start++) {
        const window = list.slice(start, start + length);
        // A run of a shorter loop (build → deploy → build) is that loop, counted by its own, shorter window.
        if (new Set(window).size < 2 || isRepetition(window)) continue;
        const key = window.join(" → ");
        const entry = counts.get(key) ?? {
          steps: window,
          sessions: new Set<string>(),
          occurrences: 0,
          perSession: new Map(),
        };
        entry.sessions.add(sessionId);
        entry.occurrences++;
        entry.perSession.set(sessionId, (entry.perSession.get(sessionId) ?? 0) + 1);
        counts.set(key, entry);
      }
    }
  }
  const qualifying = [...counts.entries()].filter(
    ([, e]) => e.sessions.size >= options.minSessions || Math.max(...e.perSession.values()) >= costly,
  );
  const kept: SequenceCandidate[] = [];
  // Longest first, so a shorter sequence inside a kept longer one with the same sessions is dropped as its part.
  const ordered = qualifying.sort(
    ([ka, a], [kb, b]) => b.steps.length - a.steps.length || b.sessions.size - a.sessions.size || ka.localeCompare(kb),
  );
  for (const [key, entry] of ordered) {
    const sessions = [...entry.sessions].sort();
    const covered = kept.some(
      (k) => containsRun(k.steps, entry.steps) && sessions.every((s) => k.sessions.includes(s)),
    );
    if (covered) continue;
    kept.push({
      key,
      steps: entry.steps,
      sessions,
      occurrences: entry.occurrences,
      suggestedName: suggestName(entry.steps),
    });
  }
  return kept
    .sort(
      (a, b) =>
        b.sessions.length - a.sessions.length ||
        b.steps.length - a.steps.length ||
        b.occurrences - a.occurrences ||
        a.key.localeCompare(b.key),
    )
    .slice(0, options.limit ?? 20);
}

/** True when the steps repeat with a period shorter than their length (a → b → a → b, a → b → a). */
export function isRepetition(steps: string[]): boolean {
  for (let period = 1; period < steps.length; period++) {
    if (steps.every((s, i) => i < period || s === steps[i - period])) return true;
  }
  return false;
}

function containsRun(outer: string[], inner: string[]): boolean {
  for (let i = 0; i + inner.length <= outer.length; i++) if (inner.every((s, j) => outer[i + j] === s)) return true;
  return false;
}

const STOPWORDS = new Set(
  "a an the and or but to of in on for with at by from is are be it this that these those please can could would you we i me my our your let lets let's now then just also again some any all do does did make get run show tell what how why when where which there here".split(
    " ",
  ),
);

/** The kind of a user request: its first three content words, placeholders for paths and numbers. */
export function requestKind(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/\S*\/\S*/g, " ")
    .replace(/\d+/g, " ")
    .replace(/[^\p{L}\p{N}\s-]+/gu, " ")
    .split(/\s+/)
    .filter((w) => w.length > 1 && !STOPWORDS.has(w));
  return words.slice(0, 3).join(" ");
}

/** Kinds of user requests seen in at least minSessions sessions. */
export function mineRequests(steps: HistoryStep[], options: MinerOptions): RequestCandidate[] {
  const kinds = new Map<string, { sessions: Set<string>; occurrences: number; examples: string[] }>();
  for (const step of steps) {
    if (step.tool !== "user" || typeof step.input !== "string") continue;
    const kind = requestKind(step.input);
    if (kind.split(" ").length < 2) continue;
    const entry = kinds.get(kind) ?? { sessions: new Set<string>(), occurrences: 0, examples: [] };
    entry.sessions.add(step.sessionId);
    entry.occurrences++;
    if (entry.examples.length < 3) entry.examples.push(step.input.slice(0, 160));
    kinds.set(kind, entry);
  }
  return [...kinds.entries()]
    .filter(([, e]) => e.sessions.size >= options.minSessions)
    .map(([key, e]) => ({ key, sessions: [...e.sessions].sort(), occurrences: e.occurrences, examples: e.examples }))
    .sort(
      (a, b) => b.sessions.length - a.sessions.length || b.occurrences - a.occurrences || a.key.localeCompare(b.key),
    )
    .slice(0, options.limit ?? 20);
}

/** A skill-name suggestion from the distinctive words of the steps (`npm run lint → npm test → edit` → lint-test-fix). */
export function suggestName(steps: string[]): string {
  const words: string[] = [];
  for (const step of steps) {
    let word: string | undefined;
    if (step.startsWith("bash: ")) {
      const tokens = step
        .slice(6)
        .split(" ")
        .filter((t) => !t.startsWith("<") && !t.startsWith("-"));
      word = tokens.at(-1);
    } else if (/^(edit|write|patch|multiedit)\b/.test(step)) word = "fix";
    else word = step.split(" ")[0];
    const clean = word
      ?.toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "");
    if (clean && !words.includes(clean)) words.push(clean);
  }
  const name = words.join("-").replace(/-+/g, "-").slice(0, 40).replace(/-+$/, "");
  return name || "workflow";
}
