import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT_CODES, exitCodeFor, parseRunArgs } from "../../plugins/cli/goal-run.ts";

test("continuum run: the prompt defaults to the condition; options are checked", () => {
  const ok = parseRunArgs(["--goal", "tests pass", "--model=fake/m", "--dir", "sub", "Fix the parser"], "/work");
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, { condition: "tests pass", prompt: "Fix the parser", dir: "/work/sub", model: { providerID: "fake", modelID: "m" }, agent: undefined, timeoutMs: 3600000 });
  const plain = parseRunArgs(["--goal", "  all green  "], "/w");
  assert.ok(plain.ok && plain.value.prompt === "all green");
  const bad = (args: string[]) => {
    const r = parseRunArgs(args, "/w");
    return r.ok ? "" : r.message;
  };
  assert.match(bad([]), /--goal is required/);
  assert.match(bad(["--goal", ""]), /The goal is empty/);
  assert.match(bad(["--goal", "x".repeat(5000)]), /limit is 4000/);
  assert.match(bad(["--goal", "x", "--model", "nomodel"]), /provider\/model/);
  assert.match(bad(["--goal", "x", "--timeout-min", "0"]), /positive/);
  assert.match(bad(["--goal", "x", "--frobnicate", "1"]), /unknown option --frobnicate/);
  assert.match(bad(["--goal", "x", "a", "b"]), /one quoted argument/);
});

test("continuum run: one distinct exit code per outcome", () => {
  const codes = ["met", "impossible", "stuck", "unverified", "capped"].map((s) => exitCodeFor(s as never));
  assert.deepEqual(codes, [0, 3, 4, 5, 6]);
  assert.equal(exitCodeFor("paused"), EXIT_CODES.interrupted);
  assert.equal(exitCodeFor("cleared"), EXIT_CODES.interrupted);
  assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length);
});
