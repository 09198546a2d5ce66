// The session context each candidate and the judge get: the latest checkpoint, the task tree and the most recent
// messages, redacted and bounded in tokens, so N candidates do not each pay for the whole transcript.
import { estimateTokens, truncateToTokens } from "../core/tokens.ts";
import type { HostMessage } from "../core/host-types.ts";

export const CONTEXT_BUDGET = { checkpoint: 2000, tasks: 600, messages: 2400, perMessage: 400, recent: 8 } as const;

export interface ContextSources {
  checkpoint?: string;
  tasks?: string;
  messages: readonly HostMessage[];
  redact(text: string): string;
}

export function renderContext(sources: ContextSources): string {
  const sections: string[] = [];
  const checkpoint = sources.checkpoint?.trim();
  if (checkpoint)
    sections.push(`## Latest checkpoint\n${truncateToTokens(sources.redact(checkpoint), CONTEXT_BUDGET.checkpoint)}`);
  const tasks = sources.tasks?.trim();
  if (tasks) sections.push(`## Task tree\n${truncateToTokens(sources.redact(tasks), CONTEXT_BUDGET.tasks)}`);
  const recent = recentMessages(sources.messages, sources.redact);
  if (recent) sections.push(`## Recent messages (oldest first)\n${recent}`);
  return sections.join("\n\n");
}

function recentMessages(messages: readonly HostMessage[], redact: (t: string) => string): string {
  const lines: string[] = [];
  for (const m of messages) {
    if (m.info.summary) continue;
    const text = m.parts
      .filter((p) => p.type === "text" && !p.ignored && typeof p.text === "string" && p.text.trim())
      .map((p) => p.text!.trim())
      .join("\n");
    if (!text) continue;
    lines.push(`${m.info.role}: ${truncateToTokens(redact(text), CONTEXT_BUDGET.perMessage)}`);
  }
  // The newest messages matter most: drop from the oldest end until the budget holds.
  const kept = lines.slice(-CONTEXT_BUDGET.recent);
  while (kept.length > 1 && estimateTokens(kept.join("\n\n")) > CONTEXT_BUDGET.messages) kept.shift();
  return truncateToTokens(kept.join("\n\n"), CONTEXT_BUDGET.messages);
}
