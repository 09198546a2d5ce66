// /max arguments, max_plan and max_verdict checks: hostile input gets a clear answer, never a crash.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_TASK_CHARS, parseMaxArgs } from "../../plugins/max/args.ts";
import { checkPlan, normalizePath, renderPlan, type Plan } from "../../plugins/max/plan.ts";
import { checkVerdict, chooseWinner } from "../../plugins/max/verdict.ts";
import { defineTool } from "../../plugins/core/tool.ts";
import { planArgs } from "../../plugins/max/plan.ts";
import { verdictArgs } from "../../plugins/max/verdict.ts";

test("/max: nothing is the stats; flags before or after the task; `--` keeps a task that starts with dashes", () => {
  assert.deepEqual(parseMaxArgs(""), { kind: "stats" });
  assert.deepEqual(parseMaxArgs("   \n "), { kind: "stats" });
  assert.deepEqual(parseMaxArgs(" stop "), { kind: "stop" });
  assert.deepEqual(parseMaxArgs("--stop"), { kind: "stop" });
  assert.deepEqual(parseMaxArgs("stop the server from crashing"), {
    kind: "task",
    task: "stop the server from crashing",
  });
  assert.deepEqual(parseMaxArgs("fix the parser"), { kind: "task", task: "fix the parser" });
  assert.deepEqual(parseMaxArgs("--patch fix the parser"), { kind: "task", task: "fix the parser", mode: "patch" });
  assert.deepEqual(parseMaxArgs("fix the parser --patch"), { kind: "task", task: "fix the parser", mode: "patch" });
  assert.deepEqual(parseMaxArgs("--plan   fix\tthe parser"), { kind: "task", task: "fix the parser", mode: "plan" });
  assert.deepEqual(parseMaxArgs("--patch --patch fix it"), { kind: "task", task: "fix it", mode: "patch" });
  assert.deepEqual(parseMaxArgs("explain what git apply --check does"), {
    kind: "task",
    task: "explain what git apply --check does",
  });
  assert.deepEqual(parseMaxArgs("-- --patch is a flag of ours; document it"), {
    kind: "task",
    task: "--patch is a flag of ours; document it",
  });
});

test("/max: no task, unknown flags, both modes and huge tasks are refused with what to do", () => {
  const error = (raw: string) => {
    const parsed = parseMaxArgs(raw);
    assert.equal(parsed.kind, "error", raw);
    return (parsed as { message: string }).message;
  };
  assert.match(error("--patch"), /Give the task after the option: \/max --patch <task>/);
  assert.match(error("--plan  "), /Give the task/);
  assert.match(error("--fast fix it"), /Unknown option "--fast".*--plan or --patch/);
  assert.match(error("--plan --patch fix it"), /Choose one/);
  assert.match(error("fix it --plan --patch"), /Choose one/);
  assert.match(error("x".repeat(MAX_TASK_CHARS + 1)), /at most 20,000/);
});

test("property: parseMaxArgs never throws, and a task it returns is never empty and has no control characters", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), (raw) => {
      const parsed = parseMaxArgs(raw);
      if (parsed.kind === "task") {
        assert.ok(parsed.task.length > 0);
        assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(parsed.task));
      }
    }),
  );
});

const tool = defineTool("max_plan", {
  description: "",
  args: planArgs,
  execute: (args) => JSON.stringify(checkPlan(args)),
});

test("max_plan: wrong types, empty arrays and huge values are refused naming the argument", async () => {
  const refused = async (args: unknown) => {
    await assert.rejects(
      () => tool.execute(args, {} as never),
      (e: Error) => /Invalid arguments for max_plan/.test(e.message),
    );
  };
  await refused({ summary: 42, steps: [], files: [], risks: [], tests: [] });
  await refused({ summary: "s", steps: "do it", files: [], risks: [], tests: [] });
  await refused({ summary: "s".repeat(3000), steps: ["a"], files: [], risks: [], tests: [] });
  await refused({ summary: "s", steps: Array(41).fill("a"), files: [], risks: [], tests: [] });
  await refused({ summary: "s", steps: ["a"], files: [], risks: [], tests: [], extra: 1 });
  await refused("not json");
  const emptySteps = JSON.parse(
    await tool.execute({ summary: "s", steps: [], files: [], risks: [], tests: [] }, {} as never),
  );
  assert.deepEqual(emptySteps, { ok: false, problems: ["steps: at least one step is needed"] });
});

test("checkPlan: cleans text, normalises and dedupes paths, refuses paths outside the project and blank steps", () => {
  const ok = checkPlan({
    summary: "  do\u0000 it ",
    steps: ["one", " two "],
    files: ["./a.ts", "a.ts", "src\\b.ts"],
    risks: ["", "r"],
    tests: [],
  });
  assert.deepEqual(ok, {
    ok: true,
    plan: { summary: "do it", steps: ["one", "two"], files: ["a.ts", "src/b.ts"], risks: ["r"], tests: [] },
  });
  const bad = checkPlan({
    summary: " ",
    steps: ["ok", "  "],
    files: ["/etc/passwd", "../x", "a/../../y", "C:/w"],
    risks: [],
    tests: [],
  });
  assert.equal(bad.ok, false);
  assert.deepEqual(
    (bad as { problems: string[] }).problems.map((p) => p.split(":")[0]),
    ["summary", "steps.1", "files.0", "files.1", "files.2", "files.3"],
  );
  assert.equal(normalizePath("././x//y/"), "x/y");
  assert.match(
    renderPlan((ok as unknown as { plan: Plan }).plan),
    /^Summary: do it\n1\. one\n2\. two\nFiles: a\.ts, src\/b\.ts\nRisks: r$/,
  );
});

const verdictTool = defineTool("max_verdict", { description: "", args: verdictArgs, execute: () => "ok" });
const score = (candidate: number, all = 3) => ({
  candidate,
  correct: all,
  grounded: all,
  complete: all,
  safe: all,
  tested: all,
  small: all,
});

test("max_verdict: scores out of range, unknown candidates and duplicates are refused", async () => {
  await assert.rejects(
    () => verdictTool.execute({ winner: 1, scores: [{ ...score(1), correct: "5" }], rationale: "r" }, {} as never),
    /scores\.0\.correct/,
  );
  const outOfRange = checkVerdict(
    { winner: 1, scores: [{ ...score(1), correct: 9, small: -1, safe: 2.5 }], rationale: "r" },
    [1],
  );
  assert.deepEqual((outOfRange as { problems: string[] }).problems, [
    "scores.0.correct: 9 is not a whole number from 0 to 5",
    "scores.0.safe: 2.5 is not a whole number from 0 to 5",
    "scores.0.small: -1 is not a whole number from 0 to 5",
  ]);
  await assert.rejects(
    () => verdictTool.execute({ winner: "1", scores: [], rationale: "r" }, {} as never),
    /winner: expected number/,
  );
  const checked = checkVerdict({ winner: 4, scores: [score(1), score(1), score(7)], rationale: " " }, [1, 2, 3]);
  assert.equal(checked.ok, false);
  assert.equal((checked as { problems: string[] }).problems.length, 4);
  const good = checkVerdict({ winner: 2, scores: [score(1, 2), score(2, 4)], rationale: "two is grounded" }, [1, 2]);
  assert.deepEqual(good, {
    ok: true,
    verdict: {
      winner: 2,
      scores: [
        { candidate: 1, total: 12 },
        { candidate: 2, total: 24 },
      ],
      rationale: "two is grounded",
    },
  });
});

test("chooseWinner: the judge's pick; else best score; else first; a failing patch never beats a passing one", () => {
  const plain = [{ index: 1 }, { index: 3 }, { index: 4 }];
  const verdict = {
    winner: 3,
    scores: [
      { candidate: 1, total: 10 },
      { candidate: 4, total: 20 },
    ],
    rationale: "r",
  };
  assert.deepEqual(chooseWinner(plain, verdict), { index: 3, how: "judge" });
  assert.equal(chooseWinner(plain, undefined, "timeout")!.how, "first");
  assert.match(chooseWinner(plain, undefined, "timeout")!.note!, /no usable verdict \(timeout\); the first valid/);
  assert.equal(chooseWinner([], verdict), undefined);
  const patches = [
    { index: 1, passed: false },
    { index: 3, passed: false },
    { index: 4, passed: true },
  ];
  const forced = chooseWinner(patches, verdict)!;
  assert.equal(forced.index, 4);
  assert.equal(forced.how, "checks");
  assert.match(forced.note!, /preferred candidate 3, whose checks failed/);
  assert.equal(
    chooseWinner(
      [
        { index: 1, passed: false },
        { index: 2, passed: false },
      ],
      { ...verdict, winner: 2 },
    )!.index,
    2,
    "none passed: the judge decides",
  );
});

test("property: the winner is always a contender, and a passing one whenever any passed", () => {
  const contenders = fc
    .uniqueArray(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 })
    .chain((ids) =>
      fc.tuple(
        fc.constant(ids),
        fc.array(fc.option(fc.boolean(), { nil: undefined }), { minLength: ids.length, maxLength: ids.length }),
      ),
    );
  fc.assert(
    fc.property(
      contenders,
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.record({ candidate: fc.integer({ min: 1, max: 8 }), total: fc.nat(30) }), { maxLength: 8 }),
      ([ids, passes], winner, scores) => {
        const list = ids.map((index, i) => ({ index, passed: passes[i] }));
        for (const verdict of [undefined, { winner, scores, rationale: "r" }]) {
          const choice = chooseWinner(list, verdict)!;
          assert.ok(ids.includes(choice.index));
          if (list.some((c) => c.passed === true))
            assert.equal(list.find((c) => c.index === choice.index)!.passed, true);
        }
      },
    ),
  );
});

test("`/max apply N` takes a held-back change; anything longer stays a task", () => {
  assert.deepEqual(parseMaxArgs("apply 2"), { kind: "apply", index: 2 });
  assert.deepEqual(parseMaxArgs("  APPLY 12 "), { kind: "apply", index: 12 });
  assert.deepEqual(parseMaxArgs("apply the fix to x.ts"), { kind: "task", task: "apply the fix to x.ts" });
  assert.deepEqual(parseMaxArgs("apply 0"), { kind: "task", task: "apply 0" });
  assert.deepEqual(parseMaxArgs("apply 2 --patch"), { kind: "task", task: "apply 2", mode: "patch" });
});
