// Text as the FTS5 index sees it, and queries it can never choke on. unicode61 keeps a run of CJK
// characters as one token, so CJK runs are rewritten (in documents and queries alike) as overlapping
// character bigrams plus the run's last character: "机器学习" -> "机器 器学 学习 习".

import { FTS_SEPARATOR_RANGES } from "./fts-separators.ts";

// Scripts written without spaces between words (CJK, Thai, Lao, Khmer, Myanmar) get the bigram treatment.
const CJK_RUN =
  /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\u{20000}-\u{2fa1f}\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]+/gu;
/**
 * A word is a run of what the FTS5 tokenizer keeps in a token, taken from the tokenizer itself (fts-separators.ts).
 * Unicode's own letter classes disagree with unicode61's older tables (emoji, newer scripts and unassigned code
 * points are token characters there, some combining marks are not), and a query word split where the index does
 * not split never matches: an entry could be remembered and then not found by its own words.
 */
const WORD = wordPattern();

function wordPattern(): RegExp {
  const hex = (n: number) => `\\u{${n.toString(16)}}`;
  const ranges = FTS_SEPARATOR_RANGES.split(",").map((range) => {
    const [a, b = a] = range.split("-").map((n) => parseInt(n, 36));
    return a === b ? hex(a!) : `${hex(a!)}-${hex(b!)}`;
  });
  // Lone surrogates are no characters at all.
  return new RegExp(`[^${ranges.join("")}\\u{d800}-\\u{dfff}]+`, "gu");
}
const MAX_TERMS = 24;
const MAX_TERM_LENGTH = 64;

/** English function words: they match nearly every document and only dilute the ranking of the words that matter. */
const STOPWORDS = new Set(
  (
    "a about above after again against all also am an and any are as at be because been before being below between both but by can " +
    "could did do does doing down during each few for from further had has have having he her here hers herself him himself his how " +
    "i if in into is it its itself just let lets me more most my myself no nor not now of off on once only or other our ours ourselves " +
    "out over own please same she should so some such than that the their theirs them themselves then there these they this those " +
    "through to too under until up us very was we were what when where which while who whom why will with would you your yours " +
    "yourself yourselves use using make need want"
  ).split(" "),
);

function cjkBigrams(run: string): string {
  const chars = [...run];
  if (chars.length === 1) return chars[0]!;
  const grams: string[] = [];
  for (let i = 0; i < chars.length - 1; i++) grams.push(chars[i]! + chars[i + 1]!);
  grams.push(chars.at(-1)!);
  return grams.join(" ");
}

/** What is stored in the FTS column for a document's text. */
export function indexableText(text: string): string {
  // Same normalization as queries, or compatibility forms (e.g. Thai SARA AM) would never match.
  return text.normalize("NFKC").replace(CJK_RUN, (run) => ` ${cjkBigrams(run)} `);
}

export type MatchMode = "any" | "all";

export interface QueryTerm {
  /** The FTS5 expression for this term, already quoted. */
  expression: string;
  /** Lowercased plain form, for counting coverage in JS. */
  plain: string;
}

/** Splits free text (from a user or a model) into safe terms; FTS5 syntax characters never survive. */
export function queryTerms(text: string, options: { dropStopwords?: boolean } = {}): QueryTerm[] {
  const terms: QueryTerm[] = [];
  const seen = new Set<string>();
  const add = (expression: string, plain: string) => {
    if (seen.has(expression) || terms.length >= MAX_TERMS) return;
    seen.add(expression);
    terms.push({ expression, plain });
  };
  const normalized = text.normalize("NFKC");
  let lastIndex = 0;
  for (const match of normalized.matchAll(CJK_RUN)) {
    addWords(normalized.slice(lastIndex, match.index), add, options.dropStopwords ?? false);
    const run = match[0];
    const chars = [...run];
    // A phrase of bigrams finds the run as written; a single character matches as a prefix of any bigram.
    if (chars.length === 1) add(`"${run}"*`, run);
    else add(`"${cjkBigrams(run).split(" ").slice(0, -1).join(" ")}"`, run);
    lastIndex = (match.index ?? 0) + run.length;
  }
  addWords(normalized.slice(lastIndex), add, options.dropStopwords ?? false);
  return terms;
}

function addWords(text: string, add: (expression: string, plain: string) => void, dropStopwords: boolean): void {
  for (const match of text.matchAll(WORD)) {
    const word = match[0].toLowerCase().slice(0, MAX_TERM_LENGTH);
    if (dropStopwords && (STOPWORDS.has(word) || word.length < 2)) continue;
    // Double quotes make every word a string token: NEAR, AND, OR, NOT, column names and '-' lose meaning.
    const quoted = word.replace(/"/g, "");
    // The porter stemmer turns a final y into i ("deploy" -> "deploi"), which is no prefix of "deployment"'s stem
    // ("deploy"): the word without its y is, so both are asked for.
    if (/[a-z]{3}y$/.test(quoted)) add(`("${quoted}"* OR "${quoted.slice(0, -1)}"*)`, word);
    else add(`"${quoted}"*`, word);
  }
}

/**
 * The one query processing of memory and history search: free text to terms without stop words (the index stems
 * them: FTS5's porter tokenizer), or with them when the text holds nothing else ("what is it" still searches).
 */
export function searchTerms(text: string): QueryTerm[] {
  const meaningful = queryTerms(text, { dropStopwords: true });
  return meaningful.length ? meaningful : queryTerms(text);
}

/** The MATCH expression, or undefined when the text holds no searchable letters at all. */
export function buildMatchQuery(
  text: string,
  mode: MatchMode = "any",
  options: { dropStopwords?: boolean } = {},
): string | undefined {
  const terms = queryTerms(text, options);
  if (terms.length === 0) return undefined;
  return terms.map((t) => t.expression).join(mode === "all" ? " AND " : " OR ");
}

/** How many of the terms occur in `text` (prefix-wise for words): a guard against one stray common word. */
export function termCoverage(text: string, terms: QueryTerm[]): number {
  const haystack = text.normalize("NFKC").toLowerCase();
  const words = new Set(haystack.match(WORD) ?? []);
  let count = 0;
  for (const term of terms) {
    if (term.expression.endsWith("*") && !CJK_TEST.test(term.plain)) {
      const stem = crudeStem(term.plain);
      for (const w of words) {
        if (w.startsWith(stem)) {
          count++;
          break;
        }
      }
    } else if (haystack.includes(term.plain)) count++;
  }
  return count;
}

/** The index stems (porter); coverage counted in JS treats "deploys", "deployed" and "deploying" as one word too. */
function crudeStem(word: string): string {
  const cut = word.replace(/(ing|ed|es|s|ies|y)$/, "");
  return cut.length >= 3 ? cut : word;
}

const CJK_TEST =
  /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]/u;

/** A short excerpt around the first term found, on one line. */
export function snippetOf(text: string, terms: QueryTerm[], width = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= width) return flat;
  const lower = flat.toLowerCase();
  let at = -1;
  for (const term of terms) {
    const i = lower.indexOf(term.plain);
    if (i !== -1 && (at === -1 || i < at)) at = i;
  }
  const start = Math.max(0, (at === -1 ? 0 : at) - Math.floor(width / 3));
  const piece = flat.slice(start, start + width);
  return (start > 0 ? "…" : "") + piece + (start + width < flat.length ? "…" : "");
}
