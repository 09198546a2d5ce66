// `/max …`: stop, apply N, stats, or a task. A task is answered with a prompt carrying it; the user message that
// prompt makes is then the Max turn (the session remembers it as pending).
import type { CommandReply, FeatureContext } from "../core/feature.ts";
import { parseMaxArgs } from "./args.ts";
import type { createControls } from "./controls.ts";
import { MARK } from "./prompts.ts";
import { maxSlot } from "./state.ts";
import { sessionReport, type MaxStatsStore } from "./stats.ts";

const report = (text: string, variant: "info" | "warning" = "info"): CommandReply => ({
  kind: "report",
  text: `${MARK} ${text}`,
  variant,
});

export function createMaxCommand(
  context: FeatureContext,
  store: MaxStatsStore,
  controls: ReturnType<typeof createControls>,
) {
  const { sessions } = context;

  /** `/max stats`: this session's Max turns, and what the ledger counted under `max`. */
  const stats = (sessionId: string): CommandReply => {
    const ledger = context.ledger?.stats({ projectId: context.project.id, sessionId }).features.max;
    const ledgerLine = ledger
      ? `Ledger (feature max): ${ledger.runs} runs · ${ledger.inputTokens.toLocaleString("en-US")} in · ${ledger.outputTokens.toLocaleString("en-US")} out${ledger.cost ? ` · $${ledger.cost.toFixed(4)}` : ""}`
      : undefined;
    return { kind: "report", text: sessionReport(store.turns(sessionId), ledgerLine) };
  };

  return async (sessionId: string, raw: string): Promise<CommandReply> => {
    const parsed = parseMaxArgs(raw);
    if (parsed.kind === "error") return report(parsed.message, "warning");
    if (parsed.kind === "stop") return report(controls.stopRunning(sessionId));
    if (parsed.kind === "apply") {
      const applied = await controls.applyHeld(sessionId, parsed.index);
      return report(applied.text, applied.ok ? "info" : "warning");
    }
    if (parsed.kind === "stats") return stats(sessionId);
    if (!(await sessions.isMain(sessionId)))
      return report("Max Mode runs in a main session; this is a child session.", "warning");
    sessions.session(sessionId).get(maxSlot).pending = { task: parsed.task, mode: parsed.mode };
    return { kind: "prompt", text: parsed.task };
  };
}
