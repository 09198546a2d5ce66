// Token estimates for budgets and caps. A provider's tokenizer is not available inside a plugin, so the
// estimate errs high: ~4 characters per token for Latin text, 1 token per CJK character, and JSON/code
// punctuation counted a little heavier. Callers keep a safety margin on top (see checkpoint caps).
import type { CallTokens } from "./host-types.ts";

/** Every token a call used: what it read (fresh and cached), wrote to the cache, reasoned and answered. */
export function totalTokens(tokens: CallTokens): number {
  return tokens.input + tokens.output + tokens.reasoning + tokens.cacheRead + tokens.cacheWrite;
}

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/g;
const PUNCTUATION = /[{}[\]()<>:;,"'`=+\-*/\\|&^%$#@!?~]/g;

export function estimateTokens(text: string): number {
  if (!text) return 0;
  const cjk = text.match(CJK)?.length ?? 0;
  const punctuation = text.match(PUNCTUATION)?.length ?? 0;
  const rest = text.length - cjk;
  return Math.ceil(rest / 4 + cjk + punctuation * 0.15);
}

/** Cuts text to at most `maxTokens` (estimated), at a line boundary when one is near, marking the cut. */
export function truncateToTokens(text: string, maxTokens: number, marker = "\n[… truncated]"): string {
  if (estimateTokens(text) <= maxTokens) return text;
  const markerTokens = estimateTokens(marker);
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (estimateTokens(text.slice(0, mid)) + markerTokens <= maxTokens) low = mid;
    else high = mid - 1;
  }
  const cut = text.slice(0, low);
  const lineEnd = cut.lastIndexOf("\n");
  const body = lineEnd > low * 0.8 ? cut.slice(0, lineEnd) : cut;
  return body + marker;
}
