// The one secret redactor of the pack. Every durable write (memory files, notes, checkpoints, the history index)
// passes its text through `redactSecrets` first, so a secret printed by a tool never reaches the disk.
// Pure and host-independent. Every pattern is bounded (no nested quantifiers over overlapping classes), so a
// multi-megabyte tool output is scanned in linear time. Placeholders never match any rule: redaction is idempotent.

export interface RedactionFinding {
  kind: string;
  count: number;
}

export interface RedactionResult {
  text: string;
  findings: RedactionFinding[];
}

// The values' classification and the rule table live in their own modules; the names callers used from here stay
// reachable from this path.
export {
  HIGH_ENTROPY_MIN_BITS,
  HIGH_ENTROPY_MIN_LENGTH,
  PRIVATE_PLACEHOLDER,
  isHighEntropySecret,
  isPunctuationSecret,
  keyWords,
  placeholder,
  secretKindOfKey,
  shannonEntropy,
} from "./redaction-values.ts";
import { PRIVATE_PLACEHOLDER } from "./redaction-values.ts";
import { RULES, type Count, type Rule } from "./redaction-rules.ts";

// ---------------------------------------------------------------------------------------------------------------
// Entry points

// `<private>` spans, also an unclosed one (to the end of the text): the user said never store it. A tag written
// as inline code (`` `<private>` ``) is a mention of the feature, not markup, and is left alone.
const PRIVATE_SPAN = /(?<!`)<private(?:\s[^>]{0,200})?>[\s\S]*?(?:<\/private\s*>|$)/gi;

/** Removes `<private>…</private>` spans (case-insensitive, multi-line, unclosed to the end) → `[PRIVATE]`. */
export function stripPrivate(text: string): string {
  return stripPrivateCounted(text, () => {});
}

function stripPrivateCounted(text: string, count: Count): string {
  if (!/<private/i.test(text)) return text;
  return text.replace(PRIVATE_SPAN, () => {
    count("private");
    return PRIVATE_PLACEHOLDER;
  });
}

/**
 * Replaces the matches of one rule. A match the rule keeps is not skipped over: scanning resumes one character
 * later, so `"command": "… apiKey: 'x' …"` (kept: `command` is no secret) still lets the inner `apiKey` match.
 */
function applyRule(text: string, rule: Rule, count: Count): string {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  let out = "";
  let copied = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const replacement = rule.replace(count, match[0], match.slice(1));
    if (replacement === match[0]) {
      pattern.lastIndex = match.index + 1;
      continue;
    }
    out += text.slice(copied, match.index) + replacement;
    copied = match.index + match[0].length;
    pattern.lastIndex = Math.max(copied, match.index + 1);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// What every rule needs to see before it can match (a key word, a token's prefix, `://`, `=` before a long value, a
// private tag): text with none of them holds nothing to redact, and skips the ~30 rule passes. Every store's write
// goes through the redactor, so this keeps a bulk index or a state file rewrite cheap. The corpus tests run every
// secret through this gate.
const MAY_HOLD_SECRET =
  /pass|pwd|secret|token|key|<private|-----BEGIN|:\/\/|eyJ|sk-|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|cbt|soat)-|xox|xapp-|_live_|_test_|whsec_|AIza|GOCSPX-|ya29\.|npm_|SG\.|hf_|pypi-|shp|lin_api_|ops_ey|dckr_pat_|dapi|figd_|cf(?:k|ut|at)_|bearer|basic|identified by|(?:^|\s|\\[nrt])(?:-u|--user)\b|=[A-Za-z0-9+/=_\-.~]{24}/i;
const AWS_KEY_ID = /(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}/;

export function mayHoldSecret(text: string): boolean {
  return MAY_HOLD_SECRET.test(text) || AWS_KEY_ID.test(text);
}

/** Strips private spans and replaces every detected secret with a typed placeholder such as `[REDACTED:aws-key]`. */
export function redactSecrets(text: string): RedactionResult {
  if (typeof text !== "string" || text.length === 0)
    return { text: typeof text === "string" ? text : "", findings: [] };
  if (!mayHoldSecret(text)) return { text, findings: [] };
  const counts = new Map<string, number>();
  const count: Count = (kind) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
  let out = stripPrivateCounted(text, count);
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    out = applyRule(out, rule, count);
  }
  const findings = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => ({ kind, count: n }));
  return { text: out, findings };
}

/** Convenience: the redacted text only. */
export function redact(text: string): string {
  return redactSecrets(text).text;
}
