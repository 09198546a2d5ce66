// A feature's internal tool (the judge's verdict, the writer's checkpoint) is denied to every agent but its owner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { restrictInternalTool } from "../../plugins/core/internal-tools.ts";

const verdict = { tool: "goal_verdict", agent: "goal-judge" };

test("denied for everyone, allowed for its agent even when the user replaced that agent's permissions", () => {
  const cfg: { permission?: unknown; agent?: Record<string, { permission?: unknown }> } = { agent: { "goal-judge": { permission: { bash: "deny" } }, build: {} } };
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
  assert.deepEqual(Object.keys(allowAll.permission as object), ["*", "goal_verdict"], "the tool's rule comes last, so it wins");
});

test("two internal tools of two features both end up denied", () => {
  const cfg: { permission?: unknown } = {};
  restrictInternalTool(cfg, verdict);
  restrictInternalTool(cfg, { tool: "checkpoint_write", agent: "checkpoint-writer" });
  assert.deepEqual(cfg.permission, { goal_verdict: "deny", checkpoint_write: "deny" });
});
