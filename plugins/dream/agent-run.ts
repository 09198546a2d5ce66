// The agent's part of one dream: a draft of MEMORY.md and a prompt of the window's sessions, the hidden dream agent
// run through the shared helper run, then code's checks and the write (settle.ts). The record is finished here.
import type { FeatureContext, MemoryServices } from "../core/feature.ts";
import type { HelperRun } from "../core/helper-run.ts";
import type { ResultChannel } from "../core/helpers.ts";
import { duplicateIds, parseEntries } from "../core/memory-format.ts";
import { MemoryDraft } from "./draft.ts";
import { renderSessions, type SessionMaterial } from "./inputs.ts";
import { lineCount, type DreamLimits } from "./limits.ts";
import { inputBudgetChars } from "./preflight.ts";
import { dreamPrompt } from "./prompt.ts";
import type { DreamRecord } from "./records.ts";
import { type DreamReport, retryPrompt } from "./report.ts";
import type { DreamRequest } from "./run.ts";
import { settleDream } from "./settle.ts";
import { DREAM_AGENT, type ActiveDraft } from "./tool.ts";

/** What every dream of this process shares. */
export interface DreamKit {
  context: FeatureContext;
  memory: MemoryServices;
  now: () => Date;
  /** The dream's folder in the pack's data dir. */
  dir: string;
  limits: DreamLimits;
  runs: HelperRun<ActiveDraft, DreamRecord>;
  channel: ResultChannel<DreamReport, ActiveDraft>;
}

export async function dreamOnce(
  kit: DreamKit,
  request: DreamRequest,
  record: DreamRecord,
  sessions: SessionMaterial[],
): Promise<DreamRecord> {
  const { context, memory, now, limits, runs, channel } = kit;
  const settings = context.config.dream;
  const { file, bytes, text } = memory.projectMemory();
  const today = now().toISOString().slice(0, 10);
  const draft = new MemoryDraft(text, today, new Set(sessions.map((s) => s.sessionId)));
  const duplicates = duplicateIds(parseEntries(text)).map(
    (d) => `${d.id}: ${d.entries.map((e) => `line ${e.line} as ${e.id}`).join(", ")}`,
  );
  if (duplicates.length) record.duplicates = duplicates;
  const rendered = renderSessions(sessions, inputBudgetChars(settings.budgetTokens));
  record.sessions = rendered.shown;
  const prompt = dreamPrompt({
    today,
    windowDays: settings.windowDays,
    focus: request.focus,
    entries: draft.entries(),
    lines: lineCount(text),
    bytes: Buffer.byteLength(text),
    limits,
    sessionsText: rendered.text,
    sessionIds: rendered.shown,
    droppedSessions: rendered.dropped,
  });
  const outcome = await runs.run(
    record,
    { draft, limits },
    {
      agent: DREAM_AGENT,
      parentSessionId: request.parentSessionId,
      title: `dream${request.dryRun ? " (dry run)" : ""}`,
      prompt,
      channel,
      timeoutMs: settings.timeoutMs,
      retryPrompt,
      reason: request.reason,
    },
  );
  const original = { file, text, bytes };
  const settled = await settleDream({
    record,
    outcome,
    draft,
    limits,
    original,
    dryRun: request.dryRun,
    dir: kit.dir,
    projectRoot: context.project.root,
    now,
    replaceFile: memory.replaceFile,
  });
  return runs.finish(settled);
}
