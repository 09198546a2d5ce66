// The checkpoint writer's input: the previous checkpoint, only the messages since the watermark (compact,
// truncated, redacted) and the facts code computed. Bounded: delta + previous checkpoint + ~3,000 tokens. Pure.
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";
import { isPackText, renderCompact, userTextOf, type HostMessage, type Redact } from "./transcript.ts";
import type { DeterministicFacts } from "./sections.ts";

export interface WriterInputSources {
  sessionId: string;
  previous: string | undefined;
  delta: readonly HostMessage[];
  facts: DeterministicFacts;
  /** The session's first user message (the original request) when it is outside the delta. */
  firstRequest: string | undefined;
  redact: Redact;
  /** Upper bound for the rendered delta (tokens); the newest part is kept. */
  maxDeltaTokens: number;
}

const FACTS_CAP = 1800;

export function buildWriterInput(sources: WriterInputSources): string {
  const delta = fitDelta(sources);
  const facts = truncateToTokens(
    [
      `§4 Task tree:\n${sources.facts.taskTree}`,
      `§6 Files:\n${sources.facts.files}`,
      `§8 Errors:\n${sources.facts.errors}`,
      `§9 Live resources:\n${sources.facts.liveResources}`,
    ].join("\n\n"),
    FACTS_CAP,
  );
  const first = sources.firstRequest
    ? `\n\n## The session's first user message (for context)\n${sources.redact(truncateToTokens(sources.firstRequest, 400))}`
    : "";
  return [
    `Update the checkpoint of session ${sources.sessionId}. Call the checkpoint_write tool exactly once with every section.`,
    "Keep what still holds from the previous checkpoint, add what the new messages changed, drop what is obsolete.",
    "§1 says what the user wants now; code adds the verbatim quote of the user's latest request, do not quote it yourself.",
    "Copy exact values (DSNs, URLs, ports, paths, commands, ids, version pins) byte for byte. §4, §6, §8 and §9 are generated from the facts below: leave them empty or add a one-line note.",
    "",
    "## Previous checkpoint",
    sources.previous?.trim() || "(none: this is the first checkpoint)",
    "",
    "## Facts computed by code",
    facts + first,
    "",
    "## New messages since the previous checkpoint",
    delta || "(no new messages)",
  ].join("\n");
}

function fitDelta(sources: WriterInputSources): string {
  const rendered = renderCompact(sources.delta, { toolOutputTokens: 250, textTokens: 1500, redact: sources.redact });
  if (estimateTokens(rendered) <= sources.maxDeltaTokens) return rendered;
  // Too long: keep the newest messages, and say that older ones were left out.
  const blocks = rendered.split("\n\n[");
  const kept: string[] = [];
  let used = 0;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = (i === 0 ? "" : "[") + blocks[i]!;
    const cost = estimateTokens(block);
    if (used + cost > sources.maxDeltaTokens) break;
    kept.unshift(block);
    used += cost;
  }
  return `[… ${blocks.length - kept.length} older messages left out to fit the writer's budget]\n\n${kept.join("\n\n")}`;
}

/** Every user message of the session as typed, the pack's own pushes left out (for §1 and the exact values). */
export function userTexts(messages: readonly HostMessage[]): string[] {
  return messages
    .filter((m) => m.info.role === "user")
    .map(userTextOf)
    .filter((t) => t && !isPackText(t));
}
