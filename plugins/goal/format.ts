// Pure helpers of the goal adapter: reading `/goal` arguments, the status text, judge token sums and the
// progress fingerprint. Kept apart from the host edge so they are unit-tested.
import type { GoalState } from "./state-machine.ts";
import type { JudgeTokens, VerdictRecord } from "./store.ts";
import type { TranscriptMessage } from "./judge-prompt.ts";

export type GoalCommand =
  | { kind: "status" }
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "clear" }
  | { kind: "set"; condition: string };

const CONTROL_WORDS = new Set(["status", "pause", "resume", "clear"]);

/** A single control word is a subcommand; anything else is the condition, taken as data. */
export function parseGoalArgs(raw: string): GoalCommand {
  const text = raw.trim();
  if (!text) return { kind: "status" };
  // `/goal "…"` quotes the whole condition; `/goal ""` is an empty condition, not a status request.
  const quoted = /^(["'])([\s\S]*)\1$/.exec(text);
  if (quoted) return { kind: "set", condition: quoted[2]!.trim() };
  const word = text.toLowerCase();
  if (CONTROL_WORDS.has(word)) return { kind: word } as GoalCommand;
  return { kind: "set", condition: text };
}

export function formatTokens(tokens: JudgeTokens): string {
  return `${tokens.total.toLocaleString("en-US")} tokens (in ${tokens.input.toLocaleString("en-US")}, out ${tokens.output.toLocaleString("en-US")})`;
}

export function verdictLine(verdict: VerdictRecord, index: number): string {
  const time = verdict.at.slice(11, 19);
  const lines = [
    `${index + 1}. ${time} ${verdict.outcome}: ${verdict.reason} [judge: ${formatTokens(verdict.tokens)}]`,
  ];
  if (verdict.missing.length > 0) lines.push(`   missing: ${verdict.missing.join("; ")}`);
  if (verdict.evidence.length > 0) lines.push(`   evidence: ${verdict.evidence.join("; ")}`);
  return lines.join("\n");
}

export function totalTokens(verdicts: VerdictRecord[]): JudgeTokens {
  return verdicts.reduce(
    (sum, v) => ({
      input: sum.input + v.tokens.input,
      output: sum.output + v.tokens.output,
      total: sum.total + v.tokens.total,
    }),
    { input: 0, output: 0, total: 0 },
  );
}

export function statusText(state: GoalState | undefined, verdicts: VerdictRecord[], maxContinuations: number): string {
  if (!state) return "No goal in this session. Set one with /goal <condition>.";
  const condition = state.condition.length > 500 ? `${state.condition.slice(0, 500)} …` : state.condition;
  const lines = [
    `Goal (${state.status}; ${state.continuations} of ${maxContinuations} continuations used): ${condition}`,
  ];
  if (state.note) lines.push(`Note: ${state.note}`);
  if (verdicts.length === 0) lines.push("No verdicts yet: the judge runs when the agent stops.");
  else lines.push("Verdicts:", ...verdicts.map(verdictLine), `Judge total: ${formatTokens(totalTokens(verdicts))}`);
  if (state.status === "paused") lines.push("Continue with /goal resume, or /goal clear.");
  return lines.join("\n");
}

interface TokenInfo {
  role?: string;
  tokens?: {
    total?: number;
    input?: number;
    output?: number;
    reasoning?: number;
    cache?: { read?: number; write?: number };
  };
}

/** Sums what every assistant call of a (judge) session cost, as OpenCode recorded it. */
export function sumAssistantTokens(messages: { info: TokenInfo }[]): JudgeTokens {
  let input = 0;
  let output = 0;
  let total = 0;
  for (const { info } of messages) {
    if (info.role !== "assistant" || !info.tokens) continue;
    const t = info.tokens;
    const inTokens = (t.input ?? 0) + (t.cache?.read ?? 0) + (t.cache?.write ?? 0);
    const outTokens = (t.output ?? 0) + (t.reasoning ?? 0);
    input += inTokens;
    output += outTokens;
    total += t.total || inTokens + outTokens;
  }
  return { input, output, total };
}

/** Changes when a tool result is added or the session's file diff changes: the no-progress detector's input. */
export function workFingerprint(messages: TranscriptMessage[], diffSummary: string): string {
  let results = 0;
  for (const message of messages) {
    for (const part of message.parts) {
      if (part.type === "tool" && (part.state?.status === "completed" || part.state?.status === "error")) results++;
    }
  }
  return `tools=${results};diff=${diffSummary}`;
}
