// Learning by code, no model call: the durable facts a session's checkpoint already keeps verbatim (the user's
// directives and the decisions taken) become candidate memory entries. Pure: the caller reads the sections through
// the checkpoint service, redacts, and stores what this returns.

/** One fact waiting for a dream to consolidate it into MEMORY.md. */
export interface Candidate {
  /** Normalised text: what dedup compares. */
  key: string;
  text: string;
  kind: "directive" | "decision";
  sessionId: string;
  /** When the checkpoint it came from was written (ms). */
  at: number;
}

export const HARVESTED_SECTIONS = { directives: "directive", decisions: "decision" } as const;

const MAX_TEXT = 300;
const MIN_TEXT = 8;
const EMPTY = /^\(?(none|n\/a|nothing( yet)?|-)\)?\.?$/i;

/** Lower case, punctuation and markup dropped, spaces collapsed: two wordings of one fact compare equal. */
export function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Code's list of the user's exact values in §3 (sections.ts): bare values, not facts, so not harvested. */
const VALUES_LABEL = /^exact values\b/i;

/**
 * A section's items: its bullet (or numbered) lines, a continuation line joined to the item above it. A blank line
 * ends an item; a plain line ending in ":" is a label, and the items under the exact-values label are skipped.
 */
export function sectionItems(section: string): string[] {
  const items: string[] = [];
  let open = false;
  let skipping = false;
  for (const raw of section.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) {
      open = false;
      continue;
    }
    const bullet = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (!bullet && line.endsWith(":")) {
      skipping = VALUES_LABEL.test(line);
      open = false;
      continue;
    }
    if (skipping) continue;
    if (bullet) items.push(bullet[1]!.trim());
    else if (open) items[items.length - 1] += ` ${line}`;
    else items.push(line);
    open = true;
  }
  return items.filter((item) => !EMPTY.test(item));
}

export interface HarvestInput {
  sessionId: string;
  sections: Readonly<Record<string, string>>;
  writtenAt: number;
  /** MEMORY.md's text now: a fact it already holds is not a candidate. */
  memoryText: string;
  /** Keys already pending or consumed. */
  known: ReadonlySet<string>;
  /** Secrets out before anything is stored. */
  redact(text: string): string;
}

/** The new candidates of one session's latest checkpoint (deduplicated against memory, the known keys and each other). */
export function harvest(input: HarvestInput): Candidate[] {
  const memory = normalise(input.memoryText);
  const seen = new Set(input.known);
  const found: Candidate[] = [];
  for (const [name, kind] of Object.entries(HARVESTED_SECTIONS)) {
    for (const item of sectionItems(input.sections[name] ?? "")) {
      const text = input.redact(item).slice(0, MAX_TEXT).trim();
      const key = normalise(text);
      if (key.length < MIN_TEXT || seen.has(key) || memory.includes(key)) continue;
      seen.add(key);
      found.push({ key, text, kind, sessionId: input.sessionId, at: input.writtenAt });
    }
  }
  return found;
}
