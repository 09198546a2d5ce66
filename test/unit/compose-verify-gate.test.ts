// The compose verification check: a turn that changed files may not end without a check run after the change.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decideVerify,
  freshVerifyState,
  isCheckCommand,
  observeToolPart,
  onTurnStarted,
  VERIFY_MARKER,
  type ToolPart,
  type VerifyState,
} from "../../plugins/compose/verify-gate.ts";

let call = 0;
const part = (
  tool: string,
  input: Record<string, unknown> = {},
  status = "completed",
  metadata?: Record<string, unknown>,
): ToolPart => ({
  callID: `c${++call}`,
  tool,
  state: { status, input, metadata },
});
const feed = (parts: ToolPart[], state = freshVerifyState()): VerifyState =>
  parts.reduce((s, p) => observeToolPart(s, p), state);

test("check commands are recognised across ecosystems; ordinary commands are not", () => {
  for (const command of [
    "npm test",
    "npm run test -- --grep x",
    "pnpm lint",
    "yarn typecheck",
    "npx tsc --noEmit",
    "tsc -p .",
    "pytest -q",
    "python -m pytest tests/",
    "cargo test",
    "go test ./...",
    "make test",
    "make",
    "bun test",
    "node --test test/",
    "cd app && npm test",
    "node test/run.mjs unit",
    "./gradlew check",
    "dotnet test",
    "vitest run",
  ]) {
    assert.ok(isCheckCommand(command), command);
  }
  for (const command of [
    "ls -la",
    "cat package.json",
    "git diff",
    "echo test",
    "grep -r test src",
    "npm install",
    "rm -rf build",
    "mkdir tests",
  ]) {
    assert.ok(!isCheckCommand(command), command);
  }
});

test("the project's own check commands count too, as a command of the line, not as a substring", () => {
  assert.ok(!isCheckCommand("./ci.sh"));
  assert.ok(isCheckCommand("./ci.sh", ["./ci.sh"]));
  assert.ok(isCheckCommand("cd x && ./ci.sh --fast", ["./ci.sh"]));
  assert.ok(!isCheckCommand("echo ./ci.sh", ["./ci.sh"]));
  assert.ok(!isCheckCommand("./ci.shx", ["./ci.sh"]));
  const state = observeToolPart(
    observeToolPart(freshVerifyState(), part("edit")),
    part("bash", { command: "./ci.sh" }, "completed", { exit: 0 }),
    ["./ci.sh"],
  );
  assert.equal(decideVerify(state, 2).push, false);
});

test("no edit, nothing to verify; an edit with no check afterwards is sent back with the reason", () => {
  assert.deepEqual(decideVerify(feed([part("read"), part("bash", { command: "ls" })]), 2), {
    push: false,
    reason: "no file changed",
  });
  const decision = decideVerify(feed([part("edit", { filePath: "a.ts" })]), 2);
  assert.equal(decision.push, true);
  assert.ok(decision.push && decision.text.startsWith(`${VERIFY_MARKER} (1/2)`));
  assert.ok(decision.push && /no check command/.test(decision.text));
});

test("a passing check after the last edit verifies; an edit after it makes it stale; a failing one does not count", () => {
  const verified = feed([part("write"), part("bash", { command: "npm test" }, "completed", { exit: 0 })]);
  assert.deepEqual(decideVerify(verified, 2), { push: false, reason: "verified by npm test" });
  const stale = feed([part("edit")], verified);
  const staleDecision = decideVerify(stale, 2);
  assert.ok(staleDecision.push && /after the last check \(`npm test`\)/.test(staleDecision.text));
  const failed = feed([part("bash", { command: "npm test" }, "completed", { exit: 1 })], stale);
  const failedDecision = decideVerify(failed, 2);
  assert.ok(failedDecision.push && /failed: `npm test`/.test(failedDecision.text));
  const errored = feed([part("bash", { command: "pytest" }, "error")], stale);
  assert.equal(decideVerify(errored, 2).push, true, "a tool error is no pass");
});

test("a part reported again while running or after it finished is counted once; a failed edit is no change", () => {
  const edit = part("edit");
  const running: ToolPart = { ...edit, state: { status: "running" } };
  const state = feed([running, edit, part("bash", { command: "npm test" }, "completed", { exit: 0 }), edit]);
  assert.equal(decideVerify(state, 2).push, false, "the repeated edit part did not count as a new change");
  assert.equal(decideVerify(feed([part("edit", {}, "error")]), 2).push, false);
});

test("pushes are capped; only a person's message resets the count; an aborted turn is never pushed", () => {
  let state = feed([part("edit")]);
  state = { ...state, pushes: 2 };
  assert.equal(decideVerify(state, 2).push, false);
  assert.equal(onTurnStarted(state, "pack").pushes, 2, "another feature's push does not reset the cap");
  assert.equal(onTurnStarted(state, "person").pushes, 0);
  assert.equal(decideVerify({ ...state, pushes: 0, lastTurnFailed: true }, 2).push, false);
  assert.equal(onTurnStarted({ ...state, lastTurnFailed: true }, "pack").lastTurnFailed, false);
});

test("hostile tool parts change nothing and never throw", () => {
  fc.assert(
    fc.property(fc.anything(), (value) => {
      const before = freshVerifyState();
      const after = observeToolPart(before, value as ToolPart);
      return after.step >= 0 && after.lastEdit <= after.step;
    }),
  );
  fc.assert(fc.property(fc.string(), (command) => typeof isCheckCommand(command) === "boolean"));
  const state = observeToolPart(freshVerifyState(), {
    tool: "bash",
    state: { status: "completed", input: { command: 42 } },
  });
  assert.equal(state.lastCheck, undefined);
});

test("the seen list stays bounded over a long session", () => {
  let state = freshVerifyState();
  for (let i = 0; i < 1000; i++) state = observeToolPart(state, part("read"));
  assert.ok(state.seen.length <= 200);
});

test("a check whose bash result carries no exit code is not a pass (a killed or timed-out command reports none)", () => {
  const unproven = feed([part("edit"), part("bash", { command: "npm test" }, "completed")]);
  const decision = decideVerify(unproven, 2);
  assert.equal(decision.push, true);
  assert.ok(decision.push && /no exit code/.test(decision.text));
  const withExit = feed([part("edit"), part("bash", { command: "npm test" }, "completed", { exit: 0 })]);
  assert.equal(decideVerify(withExit, 2).push, false);
});
