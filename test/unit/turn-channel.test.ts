// The one user-turn channel, through the real adapter hook: turn.started carries the model and agent OpenCode
// resolved; a subscriber with its own time limit is awaited past the usual hook limit, one without is cut off at
// it, and one that throws stops neither the others nor the turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runIsolated } from "../../plugins/opencode/compose.ts";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import type { HelperRunner } from "../../plugins/core/helpers.ts";
import { createSessionLayer, type EventOf } from "../../plugins/core/sessions.ts";
import type { ReportChannel } from "../../plugins/opencode/commands.ts";
import { buildHooks } from "../../plugins/opencode/hooks.ts";

const HOOK_LIMIT_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("turn.started: resolved model, a slow subscriber with its own limit awaited, a throwing one isolated", async () => {
  const problems: string[] = [];
  const reporter = {
    log: () => undefined,
    notify: () => undefined,
    problem: (_k: string, m: string) => void problems.push(m),
  } as unknown as FeatureContext["reporter"];
  reporter.child = () => reporter;
  const isolation = { reporter, timeoutMs: HOOK_LIMIT_MS };
  const sessions = createSessionLayer({
    lookupParent: async () => "",
    isolate: (feature, label, run, timeoutMs) =>
      runIsolated(`${feature}:${label}`, run, timeoutMs ? { ...isolation, timeoutMs } : isolation),
  });
  const order: string[] = [];
  let seen: EventOf<"turn.started"> | undefined;
  sessions.on(
    "slow",
    "turn.started",
    async (event) => {
      await sleep(3 * HOOK_LIMIT_MS);
      event.addContext("slow part");
      order.push("slow");
    },
    { timeoutMs: 10 * HOOK_LIMIT_MS },
  );
  sessions.on("thrower", "turn.started", () => {
    order.push("thrower");
    throw new Error("boom");
  });
  sessions.on("unlimited", "turn.started", async () => {
    await sleep(3 * HOOK_LIMIT_MS);
    order.push("unlimited (late)");
  });
  sessions.on("last", "turn.started", (event) => {
    seen = event;
    event.addContext("last part");
    order.push("last");
  });
  const reports = { routeTurn: () => false, answerTurn: () => true } as unknown as ReportChannel;
  const context = {
    sessions,
    helpers: {} as HelperRunner,
    host: {} as FeatureContext["host"],
    reporter,
    sandbox: () => undefined as never,
  };
  const hooks = buildHooks({ features: [], context, reports, timeoutMs: HOOK_LIMIT_MS });

  const parts: Record<string, unknown>[] = [{ type: "text", text: "do the thing" }];
  const message = { id: "msg_1", agent: "plan", model: { providerID: "resolved", modelID: "big" } };
  const input = {
    sessionID: "s1",
    messageID: "msg_1",
    agent: undefined,
    model: { providerID: "picked", modelID: "small" },
  };
  const started = Date.now();
  await hooks["chat.message"]!(input as never, { message, parts } as never);
  const took = Date.now() - started;

  assert.deepEqual(
    order,
    ["slow", "thrower", "last"],
    "the slow one was awaited; the unlimited one cut off at the hook limit",
  );
  assert.ok(took >= 4 * HOOK_LIMIT_MS, `the hook outlasted its usual limit for the slow subscriber (${took} ms)`);
  assert.deepEqual(
    parts.slice(1).map((p) => [p.text, p.synthetic]),
    [
      ["slow part", true],
      ["last part", true],
    ],
  );
  assert.deepEqual(
    seen?.model,
    { providerID: "resolved", modelID: "big" },
    "the model as OpenCode resolved it, not the one picked",
  );
  assert.equal(seen?.agent, "plan");
  assert.equal(seen?.answerLocally?.("said"), true, "answerLocally reaches the report channel");
  assert.deepEqual(sessions.session("s1").lastTurn, {
    agent: "plan",
    model: { providerID: "resolved", modelID: "big" },
  });
  assert.match(problems.join("\n"), /thrower:turn.started failed: .*boom/);
  assert.match(problems.join("\n"), /unlimited:turn.started took longer than 100 ms/);
  await sleep(3 * HOOK_LIMIT_MS);
});
