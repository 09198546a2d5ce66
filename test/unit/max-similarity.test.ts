// The plan-similarity measure behind Max Mode's consensus exit: examples a person can check, and properties
// (fast-check) of the measure itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  comparePlans,
  contentWords,
  fileSimilarity,
  firstAgreeingPair,
  jaccard,
  stepSimilarity,
  STEP_AGREEMENT,
} from "../../plugins/max/similarity.ts";

const plan = (files: string[], steps: string[]) => ({ files, steps });

test("two scouts that say the same in other words agree; a different approach does not", () => {
  const a = plan(
    ["src/parse.ts", "test/parse.test.ts"],
    [
      "Add a check for empty input in parseConfig in src/parse.ts",
      "Return a clear error naming the missing field",
      "Add a test for empty input to test/parse.test.ts",
    ],
  );
  const b = plan(
    ["./src/parse.ts", "test//parse.test.ts"],
    [
      "In src/parse.ts, make parseConfig check for an empty input",
      "Add a test to test/parse.test.ts covering the empty input",
      "Return an error that names the missing field",
    ],
  );
  const other = plan(
    ["src/parse.ts", "test/parse.test.ts"],
    [
      "Rewrite the tokenizer as a state machine",
      "Replace regular expressions with a hand-written scanner",
      "Benchmark the scanner against the old tokenizer",
    ],
  );
  const same = comparePlans(a, b);
  assert.equal(same.files, 1, "paths are compared after normalising ./ and //");
  assert.ok(same.steps >= STEP_AGREEMENT, `steps ${same.steps}`);
  assert.equal(same.agree, true);
  const differ = comparePlans(a, other);
  assert.equal(differ.files, 1);
  assert.ok(differ.steps < 0.3, `steps ${differ.steps}`);
  assert.equal(differ.agree, false);
});

test("different files never agree, however alike the steps", () => {
  const steps = ["Add the check", "Add a test"];
  const verdict = comparePlans(plan(["a.ts"], steps), plan(["a.ts", "b.ts"], steps));
  assert.equal(verdict.files, 0.5);
  assert.equal(verdict.agree, false);
});

test("contentWords: case, punctuation, filler words and plural/verb endings do not count", () => {
  assert.deepEqual([...contentWords("The Tests, and the TESTING of parsers!")].sort(), ["parser", "test"]);
  assert.deepEqual([...contentWords("")], []);
  assert.deepEqual([...contentWords("测试 解析器")].sort(), ["解析器", "测试"].sort());
});

test("firstAgreeingPair finds the first agreeing pair in candidate order, or none", () => {
  const x = { id: 1, plan: plan(["a.ts"], ["fix parser bug in a.ts"]) };
  const y = { id: 2, plan: plan(["b.ts"], ["rewrite everything in b.ts"]) };
  const z = { id: 3, plan: plan(["a.ts"], ["fix the parser bug in a.ts"]) };
  assert.deepEqual(
    firstAgreeingPair([x, y, z])
      ?.slice(0, 2)
      .map((p) => (p as { id: number }).id),
    [1, 3],
  );
  assert.equal(firstAgreeingPair([x, y]), undefined);
  assert.equal(firstAgreeingPair([]), undefined);
});

const words = fc.constantFrom(
  "parser",
  "config",
  "test",
  "cache",
  "lock",
  "file",
  "error",
  "retry",
  "index",
  "token",
  "the",
  "a",
  "and",
);
const step = fc.array(words, { minLength: 0, maxLength: 8 }).map((w) => w.join(" "));
const path = fc.constantFrom("src/a.ts", "./src/a.ts", "src/b.ts", "lib/c.ts", "test/a.test.ts", "README.md");
const arbPlan = fc.record({ files: fc.array(path, { maxLength: 5 }), steps: fc.array(step, { maxLength: 6 }) });

test("property: similarity is symmetric and within [0, 1]", () => {
  fc.assert(
    fc.property(arbPlan, arbPlan, (a, b) => {
      const ab = comparePlans(a, b);
      const ba = comparePlans(b, a);
      assert.ok(Math.abs(ab.steps - ba.steps) < 1e-12 && ab.files === ba.files && ab.agree === ba.agree);
      for (const v of [ab.files, ab.steps]) assert.ok(v >= 0 && v <= 1, String(v));
    }),
  );
});

test("property: a plan agrees with itself, and with itself reordered, recased and re-spaced", () => {
  fc.assert(
    fc.property(arbPlan, fc.integer(), (p, seed) => {
      assert.equal(comparePlans(p, p).agree, true);
      const shuffled = [...p.steps].sort(() => (seed % 2 ? 1 : -1));
      const noisy = {
        files: [...p.files].reverse().map((f) => (f.startsWith("./") ? f : `./${f}`)),
        steps: shuffled.map((s) => `  ${s.toUpperCase()}  .`),
      };
      const v = comparePlans(p, noisy);
      assert.equal(v.files, 1);
      assert.ok(Math.abs(v.steps - 1) < 1e-12, `steps ${v.steps}`);
    }),
  );
});

test("property: plans with no content word in common have step similarity 0 (unless both have no words at all)", () => {
  const left = fc
    .array(fc.constantFrom("alpha", "beta", "gamma"), { minLength: 1, maxLength: 4 })
    .map((w) => w.join(" "));
  const right = fc
    .array(fc.constantFrom("delta", "omega", "sigma"), { minLength: 1, maxLength: 4 })
    .map((w) => w.join(" "));
  fc.assert(
    fc.property(
      fc.array(left, { minLength: 1, maxLength: 4 }),
      fc.array(right, { minLength: 1, maxLength: 4 }),
      (a, b) => {
        assert.equal(stepSimilarity(a, b), 0);
      },
    ),
  );
});

test("property: jaccard and fileSimilarity are 1 exactly for equal sets", () => {
  fc.assert(
    fc.property(fc.array(path, { maxLength: 6 }), fc.array(path, { maxLength: 6 }), (a, b) => {
      const same =
        new Set(a.map((p) => p.replace(/^\.\//, ""))).size === new Set(b.map((p) => p.replace(/^\.\//, ""))).size &&
        a.every((p) => b.map((q) => q.replace(/^\.\//, "")).includes(p.replace(/^\.\//, "")));
      assert.equal(fileSimilarity(a, b) === 1, same);
      assert.equal(jaccard(new Set(a), new Set(a)), 1);
    }),
  );
});
