// What a patch turn does with its winner: apply it to the user's working tree (refused when the tree moved since the
// turn started), or, when no candidate passed the checks, apply nothing and hold every valid change back for
// `/max apply N`. Either way the user's turn gets one part saying what happened.
import { join } from "node:path";
import type { UserTurn } from "../core/feature.ts";
import { fileStamp } from "../core/file-stamp.ts";
import { redact } from "../core/redaction.ts";
import { errorText } from "../core/report.ts";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { clipDiff, type CheckResult, type Patch } from "./patch.ts";
import { patchAppliedPart, patchesFailedPart, patchRefusedPart } from "./prompts.ts";
import type { RoundResult } from "./round.ts";
import type { HeldChanges, TurnKit } from "./turn-kit.ts";

type Winner = NonNullable<RoundResult<Patch>["winner"]>;

/** Applies the winner's diff; true when it went in. `why` says how it was chosen. */
export async function applyWinner(
  kit: TurnKit,
  turn: UserTurn,
  winner: Winner,
  why: string,
  fingerprint: string,
  checks: string[],
): Promise<boolean> {
  const { context, settings } = kit;
  const patch = winner.result;
  const applied = await context.worktrees.apply(patch.diff, {
    expectFingerprint: fingerprint,
    label: `max candidate ${winner.index}`,
  });
  if (applied.ok) {
    turn.addPart(
      patchAppliedPart({
        winner: winner.index,
        total: settings.candidates,
        why,
        files: applied.files,
        checks: checkText(patch.checks, checks),
        summary: patch.summary,
      }),
    );
    return true;
  }
  turn.addPart(
    patchRefusedPart({
      winner: winner.index,
      total: settings.candidates,
      reason: applied.reason,
      conflicts: applied.conflicts,
      savedTo: applied.savedTo,
    }),
  );
  context.reporter.notify(
    `Max Mode did not apply candidate ${winner.index}'s change: ${applied.reason}. Saved to ${applied.savedTo}.`,
    "warning",
  );
  return false;
}

/**
 * No candidate passed the checks: nothing is applied, whatever the judge preferred. Every valid change is saved
 * (redacted, as a record) and kept in memory for `/max apply N`; the turn shows each with its check output.
 */
export function holdBackFailed(
  kit: TurnKit,
  turn: UserTurn,
  round: RoundResult<Patch>,
  fingerprint: string,
  checks: string[],
): void {
  const dir = join(kit.context.projectPaths.session(turn.sessionId), "max");
  const stamp = fileStamp();
  const perDiff = Math.max(2000, Math.floor(24_000 / Math.max(1, round.outcomes.length)));
  const changes: HeldChanges["changes"] = [];
  for (const outcome of round.outcomes) {
    if (!outcome.ok) continue;
    const patch = outcome.result;
    let savedTo: string | undefined = join(dir, `${stamp}-candidate-${outcome.index}.diff`);
    try {
      writeStoredFile(savedTo, patch.diff);
    } catch (error) {
      kit.log.log("warn", `could not save candidate ${outcome.index}'s diff: ${errorText(error)}`);
      savedTo = undefined;
    }
    changes.push({
      index: outcome.index,
      diff: patch.diff,
      summary: patch.summary,
      checks: checkText(patch.checks, checks),
      ...(savedTo ? { savedTo } : {}),
    });
  }
  kit.holdBack(turn.sessionId, { fingerprint, at: new Date().toISOString(), changes });
  turn.addPart(
    patchesFailedPart({
      total: kit.settings.candidates,
      candidates: changes.map((c) => ({ ...c, diff: clipDiff(redact(c.diff), perDiff) })),
    }),
  );
  kit.context.reporter.notify(
    `Max Mode applied nothing: the checks failed on all ${changes.length} changes. /max apply N takes one anyway.`,
    "warning",
  );
}

/** One line per check for the judge and the main agent: command, pass/fail, and the output's end when it failed. */
export function checkText(results: readonly CheckResult[], configured: readonly string[]): string {
  if (configured.length === 0) return "none configured or detected";
  if (results.length === 0) return "not run";
  return results
    .map(
      (r) =>
        `\`${r.command}\` ${r.passed ? "passed" : r.timedOut ? "timed out" : `failed (exit ${r.exitCode ?? "?"})`}${r.passed ? "" : `:\n${r.tail.slice(-800)}`}`,
    )
    .join("\n");
}
