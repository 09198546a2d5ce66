// The /workflow command: list, status, cancel, or start/resume a run whose end is posted in the session.
import type { CommandReply } from "../core/feature.ts";
import { errorText } from "../core/report.ts";
import { parseArgsText, runList, runSummary } from "./format.ts";
import { overview, type WorkflowParts } from "./tool.ts";

export function workflowCommand(parts: WorkflowParts) {
  const { context, engine, notices } = parts;
  /** The report that started a run: once it has settled, the run's end may be posted in the session. */
  const settledReport = (sessionId: string, body: string): CommandReply => ({
    kind: "report",
    text: `[continuum /workflow] ${body}`,
    settled: () => notices.unhold(sessionId),
  });
  return async ({ sessionId, arguments: raw }: { sessionId: string; arguments: string }): Promise<CommandReply> => {
    const [verb = "", rest = ""] = splitFirst(raw.trim());
    const report = (body: string, variant?: "info" | "warning"): CommandReply => ({
      kind: "report",
      text: `[continuum /workflow] ${body}`,
      variant,
    });
    try {
      if (!verb || verb === "list") return report(overview(parts));
      if (verb === "status") {
        if (!rest) return report(runList(engine.list(), (id) => engine.isActive(id)));
        const run = engine.get(rest);
        return run ? report(runSummary(run, engine.isActive(run.id))) : report(`No workflow run ${rest}.`, "warning");
      }
      if (verb === "cancel")
        return engine.cancel(rest, "cancelled with /workflow cancel")
          ? report(`Cancelling run ${rest}.`)
          : report(`No running workflow run ${rest || "(give a run id)"}.`, "warning");
      notices.hold(sessionId);
      const started =
        verb === "resume"
          ? engine.resume(rest, sessionId)
          : engine.start({ target: verb, args: parseArgsText(rest), parentSessionId: sessionId });
      // `opencode run` exits when this turn ends: a run left in the background would be cut off, so the answer waits.
      if (context.host.oneShot) {
        const record = await started.done.finally(() => notices.unhold(sessionId));
        return report(
          `${started.notice ? `Note: ${started.notice}.\n` : ""}${runSummary(record, false)}`,
          record.status === "done" ? undefined : "warning",
        );
      }
      notices.announce(started.record.id);
      return settledReport(
        sessionId,
        `${verb === "resume" ? "Resumed" : "Started"} run ${started.record.id} of ${started.record.name}${started.notice ? ` (${started.notice})` : ""}. Progress shows as toasts and in /agents; the result is posted here when it ends. /workflow status ${started.record.id}, /workflow cancel ${started.record.id}.`,
      );
    } catch (error) {
      notices.unhold(sessionId);
      return report(errorText(error), "warning");
    }
  };
}

function splitFirst(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  return match ? [match[1]!, match[2]!.trim()] : ["", ""];
}
