// Subagents started by OpenCode's own `task` tool: linked to the session that started them by its task part, given
// a memory block and a brief from the main session's checkpoint (built once, sent unchanged), listed in /agents and
// `continuum agents` as ledger runs of their own (feature "subagent") and cancellable there. The pack's own hidden
// helpers are never linked: they never appear in a task part, and any helper session is skipped.
import type { FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { slot } from "../core/sessions.ts";
import { buildBrief } from "./brief.ts";
import { rootOf, trackSubagents } from "./lifecycle.ts";

/** The child's first prompt (the memory block's ranking query) and its frozen system entries. */
const contextSlot = slot<{ query?: string; entries?: { text: string; tokens: number }[] }>(
  "subagent-context",
  () => ({}),
);

export const subagentsFeature: FeatureModule = {
  name: "subagents",
  needsDatabase: false,
  provides: ["subagents"],
  uses: ["memory"],
  // The checkpoint reads this feature's service (the rebuild's running subagents), so it starts after this one.
  usesLater: ["checkpoint"],
  create(context) {
    return createSubagents(context);
  },
};

export default subagentsFeature;

export function createSubagents(context: FeatureContext): FeatureParts {
  const { sessions, ledger } = context;
  const settings = context.config.subagents;
  const tracker = trackSubagents(context);
  context.provide("subagents", { active: tracker.active, cancel: tracker.cancel });

  sessions.on("subagents", "turn.started", (event) => {
    const state = sessions.session(event.sessionId).get(contextSlot);
    state.query ??= event.text;
  });

  /** A task child to brief: linked, or (its link not processed yet) a child session that is no helper's. */
  const isTaskChild = (id: string) => {
    if (tracker.recordOf(id)) return true;
    const parent = sessions.parentOf(id);
    return Boolean(parent) && !sessions.helperOf(id) && !sessions.helperOf(parent!);
  };

  /** Built once at the child's first request: the same bytes on every later request keep the prefix cache. */
  const entriesFor = (id: string) => {
    const state = sessions.session(id).get(contextSlot);
    if (state.entries) return state.entries;
    const entries: { text: string; tokens: number }[] = [];
    const memory =
      settings.memoryBudgetTokens > 0
        ? context.services.memory?.blockFor(id, state.query ?? "", settings.memoryBudgetTokens)
        : undefined;
    if (memory?.text) entries.push(memory);
    const root = tracker.recordOf(id)?.rootId ?? rootOf(sessions, id);
    const brief = buildBrief(context.services.checkpoint?.sections(root), settings.briefBudgetTokens);
    if (brief) entries.push(brief);
    state.entries = entries;
    return entries;
  };

  return {
    systemPrompt(call) {
      if (call.hostHelper || !isTaskChild(call.sessionId)) return;
      const entries = entriesFor(call.sessionId);
      for (const entry of entries) call.add(entry.text);
      const tokens = entries.reduce((sum, e) => sum + e.tokens, 0);
      if (tokens) ledger?.addInjected(context.project.id, rootOf(sessions, call.sessionId), "subagents", tokens);
    },
    dispose: () => tracker.dispose(),
  };
}
