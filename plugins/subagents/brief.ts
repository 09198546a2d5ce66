// The brief a `task` subagent gets from the main session it works for: the user's directives (their exact words),
// the active intent and the decisions of the latest checkpoint, fitted to a token budget. Pure: the caller reads the
// sections through services.checkpoint.sections(rootId). The text depends only on the checkpoint, never on the
// clock, so it is byte-stable for the subagent's whole life (the provider's prefix cache holds).
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";

/** In priority order: the user's own words first, they are what a subagent most often breaks. */
const PARTS = [
  ["directives", "The user's directives (exact words; they bind you too)"],
  ["active_intent", "What the session is working on"],
  ["decisions", "Decisions already taken (do not reopen them)"],
] as const;

const HEADING_TOKENS = 12;

export interface Brief {
  text: string;
  tokens: number;
}

/** The brief, or undefined when there is no checkpoint, nothing in the three sections, or no budget. */
export function buildBrief(
  checkpoint: { sections: Readonly<Record<string, string>>; writtenAt: number } | undefined,
  budgetTokens: number,
): Brief | undefined {
  if (!checkpoint || budgetTokens <= 0) return undefined;
  const head = `Brief from the session that started you (from its checkpoint of ${new Date(checkpoint.writtenAt).toISOString()}). Your task prompt says what to do; this says what must hold while you do it.`;
  const present = PARTS.map(([key, title]) => [title, (checkpoint.sections[key] ?? "").trim()] as const).filter(
    ([, text]) => text,
  );
  if (!present.length) return undefined;
  // Estimates of the parts do not add up exactly to the whole: shrink the room until the whole fits.
  let room = budgetTokens - estimateTokens(head) - HEADING_TOKENS * present.length;
  for (let attempt = 0; attempt < 4 && room >= 20; attempt++) {
    const text = assemble(head, present, room);
    if (!text) return undefined;
    const tokens = estimateTokens(text);
    if (tokens <= budgetTokens) return { text, tokens };
    room -= tokens - budgetTokens + 4;
  }
  return undefined;
}

function assemble(head: string, present: readonly (readonly [string, string])[], room: number): string | undefined {
  const demands = present.map(([, text]) => estimateTokens(text));
  const grants = fairShares(demands, room);
  // A section cut to a few words says nothing: left out rather than sent as a stub.
  const body = present.flatMap(([title, text], i) => {
    if (grants[i]! < Math.min(8, demands[i]!)) return [];
    return [`## ${title}\n${truncateToTokens(text, grants[i]!, "\n[… cut to fit the brief]")}`];
  });
  return body.length ? [head, ...body].join("\n\n") : undefined;
}

/**
 * Splits `budget` over the demands: small demands are met in full, the rest share what remains equally; the
 * remainder of an uneven split goes to the earliest (highest priority) part.
 */
export function fairShares(demands: readonly number[], budget: number): number[] {
  const grants = demands.map(() => 0);
  let left = Math.max(0, budget);
  let open = demands.map((_, i) => i);
  while (open.length && left > 0) {
    const share = Math.floor(left / open.length);
    const small = open.filter((i) => demands[i]! <= share);
    if (!small.length) {
      open.forEach((i, k) => (grants[i] = share + (k === 0 ? left - share * open.length : 0)));
      return grants;
    }
    for (const i of small) {
      grants[i] = demands[i]!;
      left -= demands[i]!;
    }
    open = open.filter((i) => !small.includes(i));
  }
  return grants;
}
