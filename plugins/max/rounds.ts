// The two kinds of Max round: plan mode (read-only candidates record a plan, the judge compares plans) and patch mode
// (each builder changes its own git worktree; code takes the diff, runs the project's checks on it, then removes the
// worktree). round.ts decides who runs and who wins; this gives it the candidates and the judge.
import { detectProjectChecks, runChecks } from "../core/checks.ts";
import { errorText } from "../core/report.ts";
import type { Worktree } from "../core/worktrees.ts";
import { candidateRun, failed, judgeRun, spendOf } from "./helper-runs.ts";
import { lensFor } from "./lenses.ts";
import { BUILDER_AGENT, CANDIDATE_AGENT } from "./names.ts";
import { checkText } from "./patch-result.ts";
import { clipDiff, diffFileList, patchesAgree, type Patch } from "./patch.ts";
import type { Plan } from "./plan.ts";
import { builderPrompt, candidatePrompt, judgePrompt, patchJudgePrompt } from "./prompts.ts";
import { runRound, type CandidateOutcome, type RoundResult } from "./round.ts";
import { comparePlans } from "./similarity.ts";
import type { TurnKit, TurnSetup } from "./turn-kit.ts";

export function runPlanRound(kit: TurnKit, setup: TurnSetup, signal: AbortSignal): Promise<RoundResult<Plan>> {
  const { settings, channels } = kit;
  return runRound<Plan>(
    settings,
    {
      candidate: async (index, abort): Promise<CandidateOutcome<Plan>> => {
        const prompt = candidatePrompt({
          task: setup.task,
          context: setup.contextText,
          lens: lensFor(index),
          index,
          total: settings.candidates,
        });
        const outcome = await candidateRun(kit, setup, index, abort, CANDIDATE_AGENT, channels.plan, prompt);
        if (!outcome.ok) return failed(index, outcome, outcome.failure, outcome.message);
        return {
          index,
          spend: spendOf(outcome),
          durationMs: outcome.usage.durationMs,
          ok: true,
          result: outcome.value,
        };
      },
      judge: (valid, abort) =>
        judgeRun(
          kit,
          setup,
          valid.map((v) => v.index),
          judgePrompt({
            task: setup.task,
            context: setup.contextText,
            plans: valid.map((v) => ({ index: v.index, plan: v.result })),
          }),
          abort,
        ),
      agree: (a, b) => comparePlans(a, b).agree,
      progress: (message) => kit.log.log("info", `${setup.turn.sessionId}: ${message}`),
    },
    signal,
  );
}

/** The checks a patch is held to: the configured ones, else those the project's files name (package.json, …). */
export function projectChecks(kit: TurnKit): string[] {
  return kit.settings.checks ?? detectProjectChecks(kit.context.host.directory);
}

export function runPatchRound(
  kit: TurnKit,
  setup: TurnSetup,
  checks: string[],
  signal: AbortSignal,
): Promise<RoundResult<Patch>> {
  return runRound<Patch>(
    kit.settings,
    {
      candidate: (index, abort) => buildPatch(kit, setup, checks, index, abort),
      judge: (valid, abort) => {
        const perDiff = Math.max(2000, Math.floor(48_000 / valid.length));
        const patches = valid.map((v) => ({
          index: v.index,
          summary: v.result.summary,
          diff: clipDiff(v.result.diff, perDiff),
          checks: checkText(v.result.checks, checks),
        }));
        return judgeRun(
          kit,
          setup,
          valid.map((v) => v.index),
          patchJudgePrompt({ task: setup.task, context: setup.contextText, patches }),
          abort,
        );
      },
      agree: patchesAgree,
      passed: (patch) => patch.passed,
      progress: (message) => kit.log.log("info", `${setup.turn.sessionId}: ${message}`),
    },
    signal,
  );
}

/** One builder, start to end: its own worktree, its run, its diff and checks; the worktree is always removed. */
async function buildPatch(
  kit: TurnKit,
  setup: TurnSetup,
  checks: string[],
  index: number,
  abort: AbortSignal,
): Promise<CandidateOutcome<Patch>> {
  const { context, settings } = kit;
  let worktree: Worktree;
  try {
    worktree = await context.worktrees.create("max", `builder ${index}`);
  } catch (error) {
    return failed(index, undefined, "error", `could not create its worktree: ${errorText(error)}`);
  }
  try {
    const prompt = builderPrompt({
      task: setup.task,
      context: setup.contextText,
      lens: lensFor(index),
      index,
      total: settings.candidates,
      checks,
    });
    const confinement = { worktree: { dir: worktree.dir, projectDir: context.host.directory } };
    const outcome = await candidateRun(
      kit,
      setup,
      index,
      abort,
      BUILDER_AGENT,
      kit.channels.patch,
      prompt,
      confinement,
    );
    if (!outcome.ok) return failed(index, outcome, outcome.failure, outcome.message);
    if (abort.aborted) return failed(index, outcome, "aborted", "aborted");
    const diff = await context.worktrees.diff(worktree);
    if (!diff.trim()) return failed(index, outcome, "no-change", "it changed nothing");
    const results = checks.length
      ? await runChecks(checks, worktree.dir, settings.checkTimeoutMs, abort, context.sandbox())
      : [];
    const passed = checks.length ? results.length === checks.length && results.every((r) => r.passed) : undefined;
    return {
      index,
      spend: spendOf(outcome),
      durationMs: outcome.usage.durationMs,
      ok: true,
      result: { summary: outcome.value, diff, files: diffFileList(diff), checks: results, passed },
    };
  } catch (error) {
    return failed(index, undefined, "error", errorText(error));
  } finally {
    await context.worktrees
      .remove(worktree)
      .catch((error) => kit.log.log("warn", `could not remove worktree ${worktree.dir}: ${errorText(error)}`));
  }
}
