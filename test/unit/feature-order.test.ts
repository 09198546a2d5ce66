// Explicit services: start-up order comes from what each feature provides, needs and uses; a cycle or a needed
// service nobody provides is an error naming the features; a feature whose needed provider is off stays off, with
// a message, while one that only uses the service sees undefined.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FEATURE_MODULES } from "../../plugins/features.ts";
import { FeatureOrderError, orderFeatures, type Declared } from "../../plugins/core/feature-order.ts";
import { startFeatures } from "../../plugins/core/feature-start.ts";
import type { FeatureContext, FeatureModule, TaskServices } from "../../plugins/core/feature.ts";
import type { FeatureName } from "../../plugins/core/config-schema.ts";

const names = (modules: { name: string }[]) => modules.map((m) => m.name);

test("the pack's features start providers first; ties keep the listing order", () => {
  assert.deepEqual(names(orderFeatures(FEATURE_MODULES)), [
    "memory",
    "tasks",
    "subagents",
    "checkpoint",
    "goal",
    "dream",
    "distill",
    "max",
    "compose",
    "workflow",
    "agents",
  ]);
});

test("order follows needs and uses, whatever the listing order", () => {
  const modules: Declared[] = [
    { name: "reader", needs: ["tasks"], uses: ["checkpoint"] },
    { name: "checkpoint", provides: ["checkpoint"], uses: ["tasks"] },
    { name: "free" },
    { name: "tasks", provides: ["tasks"] },
  ];
  assert.deepEqual(names(orderFeatures(modules)), ["free", "tasks", "checkpoint", "reader"]);
});

test("a cycle is an error naming the features in it", () => {
  const modules: Declared[] = [
    { name: "first" },
    { name: "a", provides: ["tasks"], uses: ["checkpoint"] },
    { name: "b", provides: ["checkpoint"], needs: ["tasks"] },
  ];
  assert.throws(
    () => orderFeatures(modules),
    (error: unknown) => error instanceof FeatureOrderError && error.message.endsWith("cycle: a -> b -> a"),
  );
});

test("a needed service nobody provides is an error naming who needs what; an unprovided `uses` is not", () => {
  assert.throws(
    () => orderFeatures([{ name: "judge", needs: ["checkpoint"] }]),
    /no feature provides a needed service: judge needs "checkpoint"/,
  );
  assert.deepEqual(names(orderFeatures([{ name: "judge", uses: ["checkpoint"] }])), ["judge"]);
  assert.throws(
    () =>
      orderFeatures([
        { name: "x", provides: ["tasks"] },
        { name: "y", provides: ["tasks"] },
      ]),
    /"tasks" by x and y/,
  );
});

const TASKS: TaskServices = {
  summary: () => ({ count: 1, allSettled: false }),
  ledger: () => "",
  tree: () => "T1",
  unfinished: () => [],
};

function harness() {
  const problems: [string, string][] = [];
  const base = {
    services: { permissions: { edit: undefined } },
    reporter: {
      problem: (key: string, text: string) => problems.push([key, text]),
      log() {},
      notify() {},
      child() {
        return this;
      },
    },
    provide() {
      throw new Error("not on the base context");
    },
  } as unknown as FeatureContext;
  return { base, problems };
}

function module(
  name: string,
  declared: Partial<FeatureModule>,
  create: FeatureModule["create"] = () => ({}),
): FeatureModule {
  return { name: name as FeatureName, needsDatabase: false, ...declared, create };
}

test("a provider that is off: a feature that needs it stays off with a clear message, one that uses it sees undefined", async () => {
  const { base, problems } = harness();
  const seen: Record<string, unknown> = {};
  const modules = [
    module("tasks", { provides: ["tasks"] }, (context) => (context.provide("tasks", TASKS), {})),
    module("goal", { needs: ["tasks"] }, () => ({})),
    module("max", { uses: ["tasks"] }, (context) => ((seen.max = context.services.tasks), {})),
  ];
  const started = await startFeatures(modules, base, (m) =>
    m.name === "tasks" ? "tasks.enabled is false" : undefined,
  );
  assert.deepEqual(names(started.map((s) => s.module)), ["max"]);
  assert.equal(seen.max, undefined);
  assert.deepEqual(problems, [
    ["start:goal", "goal is off: it needs tasks (from tasks, which is off: tasks.enabled is false)"],
  ]);
});

test("with the provider on, needs and uses see its service; a feature sees only what it declared", async () => {
  const { base, problems } = harness();
  const seen: Record<string, unknown> = {};
  const modules = [
    module("tasks", { provides: ["tasks"] }, (context) => (context.provide("tasks", TASKS), {})),
    module("goal", { needs: ["tasks"] }, (context) => ((seen.goal = context.services.tasks?.tree("s")), {})),
    module("agents", {}, (context) => ((seen.agents = context.services.tasks), {})),
  ];
  const started = await startFeatures(modules, base, () => undefined);
  assert.equal(started.length, 3);
  assert.equal(seen.goal, "T1");
  assert.equal(seen.agents, undefined, "agents declared nothing, so it is handed nothing");
  assert.equal(base.services.tasks, TASKS, "the boot's registry holds every service offered");
  assert.deepEqual(problems, []);
});

test("a service offered by a feature that then fails to start is not kept; an undeclared offer fails the feature", async () => {
  const { base, problems } = harness();
  const modules = [
    module("tasks", { provides: ["tasks"] }, (context) => {
      context.provide("tasks", TASKS);
      throw new Error("disk full");
    }),
    module("compose", {}, (context) => (context.provide("tasks", TASKS), {})),
    module("goal", { needs: ["tasks"] }),
  ];
  const started = await startFeatures(modules, base, () => undefined);
  assert.deepEqual(started, []);
  assert.equal(base.services.tasks, undefined);
  assert.deepEqual(problems, [
    ["start:tasks", "tasks could not start and is off for this run: disk full"],
    [
      "start:compose",
      'compose could not start and is off for this run: compose offers "tasks" without declaring it in provides',
    ],
    ["start:goal", "goal is off: it needs tasks (from tasks, which is off: it could not start)"],
  ]);
});
