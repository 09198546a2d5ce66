// A feature's internal tool (the judge's verdict, the writer's checkpoint) is denied to every agent but its owner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { keepOutOfTaskTool, restrictInternalTool } from "../../plugins/core/internal-tools.ts";

const verdict = { tool: "goal_verdict", agent: "goal-judge" };

test("denied for everyone, allowed for its agent even when the user replaced that agent's permissions", () => {
  const cfg: { permission?: unknown; agent?: Record<string, { permission?: unknown }> } = {
    agent: { "goal-judge": { permission: { bash: "deny" } }, build: {} },
  };
  restrictInternalTool(cfg, verdict);
  assert.deepEqual(cfg.permission, { goal_verdict: "deny" });
  assert.deepEqual(cfg.agent!["goal-judge"]!.permission, { bash: "deny", goal_verdict: "allow" });
  assert.deepEqual(cfg.agent!.build, {}, "other agents untouched");
});

test("a rule the user wrote for the tool wins", () => {
  const mine = { permission: { goal_verdict: "allow" }, agent: {} };
  restrictInternalTool(mine, verdict);
  assert.deepEqual(mine.permission, { goal_verdict: "allow" });
});

test("a blanket permission string keeps its meaning and the tool is still denied after it", () => {
  const allowAll: { permission?: unknown } = { permission: "allow" };
  restrictInternalTool(allowAll, verdict);
  assert.deepEqual(allowAll.permission, { "*": "allow", goal_verdict: "deny" });
  assert.deepEqual(
    Object.keys(allowAll.permission as object),
    ["*", "goal_verdict"],
    "the tool's rule comes last, so it wins",
  );
});

test("two internal tools of two features both end up denied", () => {
  const cfg: { permission?: unknown } = {};
  restrictInternalTool(cfg, verdict);
  restrictInternalTool(cfg, { tool: "checkpoint_write", agent: "checkpoint-writer" });
  assert.deepEqual(cfg.permission, { goal_verdict: "deny", checkpoint_write: "deny" });
});

test("hidden helper agents are kept out of OpenCode's task tool, unless the user wrote a rule for them", () => {
  const cfg: { permission?: unknown } = { permission: "allow" };
  keepOutOfTaskTool(cfg, "goal-judge");
  keepOutOfTaskTool(cfg, "checkpoint-writer");
  assert.deepEqual(cfg.permission, { "*": "allow", task: { "goal-judge": "deny", "checkpoint-writer": "deny" } });
  const mine: { permission?: unknown } = { permission: { task: { "goal-judge": "allow" } } };
  keepOutOfTaskTool(mine, "goal-judge");
  assert.deepEqual(mine.permission, { task: { "goal-judge": "allow" } });
  const blanket: { permission?: unknown } = { permission: { task: "ask" } };
  keepOutOfTaskTool(blanket, "goal-judge");
  assert.deepEqual(blanket.permission, { task: { "*": "ask", "goal-judge": "deny" } });
});
