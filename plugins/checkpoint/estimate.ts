// Cheap per-request size estimate: part estimates are cached by part id and recomputed only when the part's
// text grows, so the transform stays fast on a 2,000-message session. Also learns the fixed overhead the
// provider counts on top of the messages (system prompt, tool schemas) from reported usage.
import { estimateTokens } from "../core/tokens.ts";
import type { HostMessage, HostPart } from "./transcript.ts";
import { inputSize } from "./rebuild.ts";

/** One per session (kept in the session's slot, dropped with it). */
export class RequestEstimator {
  private readonly cache = new Map<string, { size: number; tokens: number }>();
  /** Provider-reported input minus our estimate of the messages (system + tools + framing). */
  private overhead: number | undefined;
  private lastEstimate: number | undefined;
  private lastCheck: { estimated: number; reported: number } | undefined;

  /** Estimated tokens of messages[from…]; no copies, cached per part, so it is cheap on every call. */
  messagesTokens(messages: readonly HostMessage[], from = 0): number {
    let total = 0;
    for (let i = Math.max(0, from); i < messages.length; i++) {
      total += 4;
      for (const part of messages[i]!.parts) total += this.partTokens(part);
    }
    return total;
  }

  /** Remembers what the next provider report should be compared with. */
  noteRequest(messagesTokens: number): void {
    this.lastEstimate = messagesTokens;
  }

  /** A provider report for the last request: learn the overhead, keep the comparison for /context. */
  noteReported(reportedInput: number): void {
    const estimated = this.lastEstimate;
    if (estimated === undefined || reportedInput <= 0) return;
    // The check compares the prediction made before this report (messages + overhead learnt so far) with it.
    const known = this.overhead;
    if (known !== undefined) this.lastCheck = { estimated: estimated + known, reported: reportedInput };
    const overhead = Math.max(0, reportedInput - estimated);
    // The system prompt and tools change little: keep the larger of the recent values, so caps err safe.
    this.overhead = Math.max(overhead, Math.round((known ?? overhead) * 0.9));
  }

  /** Estimated size of the messages of the session's last request (0 before the first). */
  lastMessagesTokens(): number {
    return this.lastEstimate ?? 0;
  }

  overheadOf(fallback: number): number {
    return this.overhead ?? fallback;
  }

  check(): { estimated: number; reported: number } | undefined {
    return this.lastCheck;
  }

  private partTokens(part: HostPart): number {
    const size = partSize(part);
    if (size === 0) return 0;
    const key = part.id;
    if (key) {
      const hit = this.cache.get(key);
      if (hit && hit.size === size) return hit.tokens;
    }
    const tokens = estimatePart(part);
    if (key) this.cache.set(key, { size, tokens });
    return tokens;
  }
}

function partSize(part: HostPart): number {
  if (part.type === "text" || part.type === "reasoning") return (part.text ?? "").length;
  // The input counts too: the same part goes out with its huge argument whole or shortened.
  if (part.type === "tool")
    return (
      String(part.state?.output ?? part.state?.error ?? "").length +
      1 +
      (part.state?.input ? inputSize(part.state.input) : 0)
    );
  return 0;
}

function estimatePart(part: HostPart): number {
  if (part.type === "tool")
    return (
      estimateTokens(JSON.stringify(part.state?.input ?? {})) +
      estimateTokens(String(part.state?.output ?? part.state?.error ?? "")) +
      10
    );
  return estimateTokens(part.text ?? "");
}
