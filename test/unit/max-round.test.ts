// One Max round without OpenCode: scouts and the consensus exit, the judge, fallbacks, aborts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runRound, type CandidateOutcome, type JudgeOutcome, type RoundDeps } from "../../plugins/max/round.ts";

type R = { text: string; passed?: boolean };
const spend = { tokens: 100, cost: 0, estimated: false };

function deps(
  results: Record<number, R | string>,
  judge: (valid: number[]) => JudgeOutcome | Promise<JudgeOutcome>,
  extra: Partial<RoundDeps<R>> = {},
) {
  const started: number[] = [];
  const judged: number[][] = [];
  const d: RoundDeps<R> = {
    candidate: async (index): Promise<CandidateOutcome<R>> => {
      started.push(index);
      await new Promise((r) => setTimeout(r, 1));
      const r = results[index];
      if (r === undefined || typeof r === "string")
        return { index, spend, durationMs: 1, ok: false, failure: "error", message: r ?? "no result" };
      return { index, spend, durationMs: 1, ok: true, result: r };
    },
    judge: async (valid) => {
      judged.push(valid.map((v) => v.index));
      return judge(valid.map((v) => v.index));
    },
    agree: (a, b) => a.text === b.text,
    passed: (r) => r.passed,
    ...extra,
  };
  return { d, started, judged };
}

const settings = { candidates: 5, scouts: 2, consensus: "scouts" as const };
const verdict = (winner: number): JudgeOutcome => ({
  spend,
  ok: true,
  verdict: { winner, scores: [], rationale: "because" },
});

test("two agreeing scouts: no other candidate and no judge", async () => {
  const { d, started, judged } = deps({ 1: { text: "same" }, 2: { text: "same" }, 3: { text: "x" } }, () => verdict(3));
  const round = await runRound(settings, d, new AbortController().signal);
  assert.deepEqual(started, [1, 2]);
  assert.deepEqual(judged, []);
  assert.deepEqual(round.consensus, { indexes: [1, 2] });
  assert.equal(round.winner!.index, 1);
  assert.equal(round.started, 2);
});

test("scouts differ: the rest start, the judge sees every valid candidate and its pick wins", async () => {
  const { d, started, judged } = deps(
    { 1: { text: "a" }, 2: { text: "b" }, 3: { text: "c" }, 4: "timeout", 5: { text: "e" } },
    () => verdict(3),
  );
  const round = await runRound(settings, d, new AbortController().signal);
  assert.deepEqual(started, [1, 2, 3, 4, 5]);
  assert.deepEqual(judged, [[1, 2, 3, 5]]);
  assert.equal(round.winner!.index, 3);
  assert.equal(round.winner!.how, "judge");
  assert.equal(round.outcomes.filter((o) => !o.ok).length, 1);
});

test("consensus off (or one scout): all candidates start at once", async () => {
  for (const s of [
    { ...settings, consensus: "off" as const },
    { ...settings, scouts: 1 },
    { ...settings, scouts: 5 },
  ]) {
    const order: string[] = [];
    const { d } = deps(
      { 1: { text: "same" }, 2: { text: "same" }, 3: { text: "c" }, 4: { text: "d" }, 5: { text: "e" } },
      () => (order.push("judge"), verdict(2)),
    );
    const inner = d.candidate;
    d.candidate = async (i, signal) => (order.push(`start ${i}`), inner(i, signal));
    const round = await runRound(s, d, new AbortController().signal);
    assert.deepEqual(order, ["start 1", "start 2", "start 3", "start 4", "start 5", "judge"], JSON.stringify(s));
    assert.equal(round.consensus, undefined);
  }
});

test("an unusable verdict falls back and says so; one valid candidate needs no judge; none gives no winner", async () => {
  const failing = deps({ 1: { text: "a" }, 2: { text: "b" }, 3: { text: "c" } }, () => ({
    spend,
    ok: false,
    message: "no result within 60 s (timeout)",
  }));
  const fallback = await runRound({ ...settings, candidates: 3 }, failing.d, new AbortController().signal);
  assert.equal(fallback.winner!.index, 1);
  assert.match(fallback.winner!.note!, /no usable verdict \(no result within 60 s \(timeout\)\); the first valid/);

  const single = deps({ 2: { text: "only" } }, () => verdict(2));
  const one = await runRound({ ...settings, candidates: 3 }, single.d, new AbortController().signal);
  assert.deepEqual(single.judged, []);
  assert.equal(one.winner!.index, 2);

  const none = deps({}, () => verdict(1));
  const empty = await runRound(settings, none.d, new AbortController().signal);
  assert.equal(empty.winner, undefined);
  assert.equal(empty.outcomes.length, 5);
});

test("patch mode: the judge's failing pick loses to the passing candidate", async () => {
  const { d } = deps(
    { 1: { text: "a", passed: false }, 2: { text: "b", passed: true }, 3: { text: "c", passed: false } },
    () => verdict(3),
  );
  const round = await runRound({ ...settings, candidates: 3 }, d, new AbortController().signal);
  assert.equal(round.winner!.index, 2);
  assert.equal(round.winner!.how, "checks");
});

test("an abort while the scouts run: the rest never start, no judge, the round says aborted", async () => {
  const controller = new AbortController();
  const { d, started, judged } = deps({ 1: { text: "a" }, 2: { text: "b" } }, () => verdict(1));
  const inner = d.candidate;
  d.candidate = async (i, signal) => {
    if (i === 2) controller.abort();
    return inner(i, signal);
  };
  const round = await runRound(settings, d, controller.signal);
  assert.equal(round.aborted, true);
  assert.deepEqual(started, [1, 2]);
  assert.deepEqual(judged, []);
  assert.equal(round.winner, undefined);
});
