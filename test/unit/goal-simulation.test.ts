// Drives the goal state machine through thousands of seeded random runs with injected faults: judge errors,
// garbage verdicts, aborts, user messages, restarts (state serialised and reloaded), pauses, stuck agents.
// Invariants: no run exceeds the cap, no run ends met without a valid met verdict, every run ends in a named
// final state within a bounded number of steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FINAL_STATUSES,
  isFinal,
  newGoal,
  parseVerdict,
  step,
  type GoalAction,
  type GoalInput,
  type GoalState,
} from "../../plugins/goal/state-machine.ts";

const RUNS = 2000;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface Outcome {
  state: GoalState;
  steps: number;
  continuations: number;
  metVerdictAccepted: boolean;
}

function simulate(seed: number): Outcome {
  const random = rng(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const options = { maxContinuations: 1 + Math.floor(random() * 12), maxTaskDeferrals: Math.floor(random() * 3) };
  const stuckAgent = random() < 0.3;
  const judgeQuality = random();
  let state = newGoal(`goal ${seed}`);
  let pendingJudge: number | undefined;
  let fingerprint = 0;
  let continuationsSeen = 0;
  let lastValidMetRun: number | undefined;
  let steps = 0;
  // Chaos phase: anything may happen. Calm phase: the user stops interfering and resumes once if paused.
  const chaosSteps = Math.floor(random() * 80);

  const apply = (input: GoalInput) => {
    const before = state;
    const result = step(state, input, options);
    state = JSON.parse(JSON.stringify(result.state)) as GoalState;
    steps++;
    for (const action of result.actions) observe(action, input, before);
  };
  const observe = (action: GoalAction, input: GoalInput, before: GoalState) => {
    if (action.type === "startJudge") pendingJudge = action.run;
    if (action.type === "continue") {
      continuationsSeen++;
      assert.ok(
        continuationsSeen <= options.maxContinuations,
        `seed ${seed}: continuation ${continuationsSeen} exceeds cap ${options.maxContinuations}`,
      );
    }
    if (action.type === "finished" && action.status === "met") {
      const valid =
        input.type === "verdict" &&
        input.run === before.judgeRun &&
        before.status === "judging" &&
        parseVerdict(input.verdict).ok &&
        (input.verdict as { met: boolean }).met;
      assert.ok(valid, `seed ${seed}: ended met without a valid met verdict for the current run`);
      lastValidMetRun = input.type === "verdict" ? input.run : undefined;
    }
  };

  const judgeAnswer = (run: number): GoalInput => {
    const roll = random();
    if (roll < 0.12)
      return { type: "judgeFailed", run, error: pick(["timeout", "provider error", "no verdict tool call"]) };
    if (roll < 0.22)
      return {
        type: "verdict",
        run,
        verdict: pick<unknown>([
          null,
          "met",
          { met: "yes" },
          { met: true, impossible: true, reason: "x", evidence: ["e"], missing: [] },
          { met: true, impossible: false, reason: "done", evidence: [], missing: [] },
          { met: true, impossible: false, reason: "r", evidence: ["e"], missing: ["m"] },
        ]),
      };
    if (roll < 0.22 + judgeQuality * 0.1)
      return {
        type: "verdict",
        run,
        verdict: { met: true, impossible: false, reason: "verified", evidence: ["tests pass"], missing: [] },
      };
    if (roll < 0.24 + judgeQuality * 0.1)
      return {
        type: "verdict",
        run,
        verdict: { met: false, impossible: true, reason: "blocked on a key", evidence: [], missing: [] },
      };
    // A stale answer for an older run now and then.
    if (roll < 0.28)
      return {
        type: "verdict",
        run: run - 1,
        verdict: { met: true, impossible: false, reason: "stale", evidence: ["old"], missing: [] },
      };
    return {
      type: "verdict",
      run,
      verdict: {
        met: false,
        impossible: false,
        reason: "not yet",
        evidence: [],
        missing: stuckAgent ? ["the same thing"] : [pick(["a", "b", "c"])],
      },
    };
  };

  const agentIdle = (): GoalInput => {
    if (!stuckAgent && random() < 0.7) fingerprint++;
    const roll = random();
    return {
      type: "idle",
      facts: {
        endedBy: roll < 0.03 ? "abort" : roll < 0.05 ? "error" : "normal",
        userTypedSince: false,
        openTasks: random() < 0.2 ? ["T1 open"] : [],
        fingerprint: `fp${fingerprint}`,
      },
    };
  };

  const limit = chaosSteps + 40 * (options.maxContinuations + 2) * (options.maxTaskDeferrals + 3);
  while (!isFinal(state.status)) {
    assert.ok(steps < limit, `seed ${seed}: did not end within ${limit} steps (status ${state.status})`);
    const chaos = steps < chaosSteps;
    if (chaos && random() < 0.25) {
      apply(
        pick<GoalInput>([
          { type: "userMessage" },
          { type: "abort" },
          { type: "pause" },
          { type: "resume" },
          { type: "restart" },
          { type: "restart" },
          { type: "clear" },
          agentIdle(),
        ]),
      );
      continue;
    }
    if (state.status === "paused") {
      apply({ type: "resume" });
      continue;
    }
    if (state.status === "judging" && pendingJudge !== undefined) {
      apply(judgeAnswer(pendingJudge));
      continue;
    }
    apply(agentIdle());
  }
  return { state, steps, continuations: continuationsSeen, metVerdictAccepted: lastValidMetRun !== undefined };
}

test(`${RUNS} seeded random runs with injected faults: capped, never falsely met, always a named final state`, () => {
  const endings = new Map<string, number>();
  let maxSteps = 0;
  for (let seed = 1; seed <= RUNS; seed++) {
    const outcome = simulate(seed);
    assert.ok(
      (FINAL_STATUSES as readonly string[]).includes(outcome.state.status),
      `seed ${seed}: ended ${outcome.state.status}`,
    );
    assert.ok(outcome.state.continuations <= 12);
    assert.equal(
      outcome.state.status === "met",
      outcome.metVerdictAccepted,
      `seed ${seed}: met status and met verdict disagree`,
    );
    endings.set(outcome.state.status, (endings.get(outcome.state.status) ?? 0) + 1);
    maxSteps = Math.max(maxSteps, outcome.steps);
  }
  // The fault mix must actually reach every ending, or the test proves less than it claims.
  for (const status of FINAL_STATUSES)
    assert.ok((endings.get(status) ?? 0) > 0, `no run ended ${status}: ${JSON.stringify([...endings])}`);
  console.log(
    `goal simulation: ${RUNS} runs, endings ${JSON.stringify(Object.fromEntries(endings))}, longest run ${maxSteps} steps`,
  );
});
