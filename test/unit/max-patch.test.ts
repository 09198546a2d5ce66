// Patch mode's pure parts and its check runner: when two diffs are the same change, which checks a project has,
// and that a check is bounded in time and leaves nothing running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { runCheck, runChecks } from "../../plugins/core/checks.ts";
import { changedLines, clipDiff, detectChecks, diffFileList, patchesAgree } from "../../plugins/max/patch.ts";

const diff = (file: string, lines: string[]) =>
  [
    `diff --git a/${file} b/${file}`,
    "index 1..2 100644",
    `--- a/${file}`,
    `+++ b/${file}`,
    "@@ -1 +1 @@",
    ...lines,
  ].join("\n");

test("patchesAgree: the same change up to whitespace agrees; other files, other lines or a failing check do not", () => {
  const a = diff("src/a.ts", ["-const x=1;", "+const x = 2;", " context"]);
  const spaced = diff("src/a.ts", ["-const  x=1;", "+const x=2;   ", " other context"]);
  assert.equal(patchesAgree({ diff: a, passed: undefined }, { diff: spaced, passed: undefined }), true);
  assert.equal(
    patchesAgree({ diff: a, passed: true }, { diff: diff("src/b.ts", ["-const x=1;", "+const x = 2;"]), passed: true }),
    false,
  );
  assert.equal(
    patchesAgree({ diff: a, passed: true }, { diff: diff("src/a.ts", ["-const x=1;", "+const x = 3;"]), passed: true }),
    false,
  );
  assert.equal(
    patchesAgree({ diff: a, passed: false }, { diff: a, passed: false }),
    false,
    "a failing change never takes the consensus exit",
  );
  assert.equal(
    patchesAgree({ diff: "", passed: true }, { diff: "", passed: true }),
    false,
    "no change is no agreement",
  );
  const many = Array.from({ length: 20 }, (_, i) => `+line ${i}`);
  assert.equal(
    patchesAgree(
      { diff: diff("a", many), passed: true },
      { diff: diff("a", [...many.slice(0, 19), "+line 99"]), passed: true },
    ),
    true,
    "near-identical and both passing",
  );
  assert.equal(
    patchesAgree(
      { diff: diff("a", many), passed: undefined },
      { diff: diff("a", [...many.slice(0, 19), "+line 99"]), passed: undefined },
    ),
    false,
    "near-identical needs passing checks",
  );
});

test("changedLines and diffFileList read only what changed", () => {
  const d = [diff("x y.ts", ["- a b", "+ab", "+  ", " keep"]), diff("new.ts", ["+fresh"])].join("\n");
  assert.deepEqual(changedLines(d), ["-ab", "+ab", "+fresh"]);
  assert.deepEqual(diffFileList(d), ["new.ts", "x y.ts"]);
  assert.match(clipDiff("x".repeat(50), 10), /^x{10}\n\[… diff cut at 10 of 50 characters\]$/);
});

test("property: patchesAgree is symmetric and reflexive for a passing, non-empty change", () => {
  const line = fc.stringMatching(/^[+-][a-z =;]{0,12}$/);
  fc.assert(
    fc.property(
      fc.array(line, { minLength: 1, maxLength: 8 }),
      fc.array(line, { minLength: 1, maxLength: 8 }),
      fc.option(fc.boolean(), { nil: undefined }),
      (la, lb, passed) => {
        const a = { diff: diff("f.ts", la), passed };
        const b = { diff: diff("f.ts", lb), passed };
        assert.equal(patchesAgree(a, b), patchesAgree(b, a));
        if (passed !== false) assert.equal(patchesAgree(a, a), true);
      },
    ),
  );
});

test("detectChecks: a real npm test script, else the language's runner, else none", () => {
  const has = (names: string[]) => (name: string) => names.includes(name);
  assert.deepEqual(detectChecks({ packageJson: JSON.stringify({ scripts: { test: "node --test" } }), has: has([]) }), [
    "npm test",
  ]);
  assert.deepEqual(
    detectChecks({
      packageJson: JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }),
      has: has([]),
    }),
    [],
  );
  assert.deepEqual(detectChecks({ packageJson: "{ not json", has: has(["go.mod"]) }), ["go test ./..."]);
  assert.deepEqual(detectChecks({ has: has(["Cargo.toml"]) }), ["cargo test"]);
  assert.deepEqual(detectChecks({ has: has(["pyproject.toml"]) }), ["python -m pytest -q"]);
  assert.deepEqual(detectChecks({ packageJson: JSON.stringify({ scripts: { test: 42 } }), has: has([]) }), []);
});

test("runChecks: pass and fail with the output's tail; a timeout or an abort kills the whole process group", async () => {
  const dir = mkdtempSync(join(tmpdir(), "max-checks-"));
  try {
    writeFileSync(join(dir, "ok.sh"), "echo fine\n");
    const passed = await runChecks(["sh ok.sh", "echo second"], dir, 5000);
    assert.deepEqual(
      passed.map((r) => [r.passed, r.exitCode, r.tail.trim()]),
      [
        [true, 0, "fine"],
        [true, 0, "second"],
      ],
    );
    const failed = await runChecks(["echo broken >&2; exit 3", "echo never"], dir, 5000);
    assert.equal(failed.length, 1, "stops at the first failure");
    assert.deepEqual([failed[0]!.passed, failed[0]!.exitCode, failed[0]!.tail.trim()], [false, 3, "broken"]);
    const pidFile = join(dir, "child.pid");
    const slow = await runCheck(`sh -c 'echo $$ > ${pidFile}; sleep 30' & wait`, dir, 300);
    assert.equal(slow.timedOut, true);
    assert.equal(slow.passed, false);
    assert.match(slow.tail, /stopped after 0 s \(timeout\)/);
    const grandchild = Number((await import("node:fs")).readFileSync(pidFile, "utf8"));
    const alive = () => {
      try {
        process.kill(grandchild, 0);
        return true;
      } catch {
        return false;
      }
    };
    // A killed process lingers until it is reaped: wait for that, briefly.
    for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), false, "the grandchild was killed with its group");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await runCheck("sleep 30", dir, 60000, controller.signal);
    assert.equal(aborted.passed, false);
    assert.ok(aborted.durationMs < 10000);
    const big = await runCheck("yes line | head -c 100000", dir, 5000);
    assert.ok(big.tail.length <= 2000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
