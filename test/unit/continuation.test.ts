// The continuation arbiter: features' pure deciders, one push per idle naming every reason, the arbiter's own
// failed-turn rule and push counts (reset when a person writes), and never a push into a helper or child session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideVerify, freshVerifyState, VERIFY_MARKER } from "../../plugins/compose/verify-gate.ts";
import { createContinuation, type ContinuationDecider } from "../../plugins/core/continuation.ts";
import type { PromptBody } from "../../plugins/core/host.ts";
import { createSessionLayer, type SessionEvent } from "../../plugins/core/sessions.ts";
import { continuationPrompt, CONTINUATION_MARKER } from "../../plugins/goal/state-machine.ts";
import { decideGate, freshGateState, GATE_MARKER } from "../../plugins/tasks/gate.ts";
import type { TaskRecord } from "../../plugins/tasks/store.ts";

const openTask = { id: "T1", title: "write the parser", status: "open" } as TaskRecord;

function arbiter(parents: Record<string, string> = {}) {
  const sessions = createSessionLayer({
    lookupParent: async (id) => parents[id] ?? "",
    isolate: async (_f, _l, run) => void (await run()),
  });
  const sent: { sessionId: string; body: PromptBody }[] = [];
  const problems: string[] = [];
  const continuation = createContinuation({
    sessions,
    host: { sendPrompt: async (sessionId, body) => void sent.push({ sessionId, body }) },
    reporter: { log: () => undefined, problem: (_key, message) => void problems.push(message) },
  });
  const seen: Record<string, number[]> = {};
  /** The three features' deciders as they register them, over the features' own pure decisions and limits. */
  const track =
    (feature: string, decide: ContinuationDecider): ContinuationDecider =>
    (id, facts) => {
      (seen[feature] ??= []).push(facts.pushes);
      return decide(id, facts);
    };
  continuation.register(
    "tasks",
    track("tasks", (_id, { pushes }) => {
      const decision = decideGate({
        enabled: true,
        maxPushes: 3,
        state: { ...freshGateState(), pushes },
        unfinished: [openTask],
      });
      return decision.push ? { reason: "open tasks", text: decision.text, priority: 20 } : undefined;
    }),
  );
  const edited = { ...freshVerifyState(), step: 1, lastEdit: 1 };
  continuation.register(
    "compose",
    track("compose", (_id, { pushes }) => {
      const decision = decideVerify({ ...edited, pushes }, 2);
      return decision.push ? { reason: "unverified", text: decision.text, priority: 30 } : undefined;
    }),
  );
  continuation.register(
    "goal",
    track("goal", (_id, { pushes }) =>
      pushes < 1
        ? { reason: "goal not met", text: continuationPrompt("tests pass", "REASON-X", [], 1, 12), priority: 10 }
        : undefined,
    ),
  );
  const turn = (sessionId: string, origin: "person" | "pack", text = "go"): SessionEvent => ({
    type: "turn.started",
    sessionId,
    origin,
    text,
    agent: "build",
    model: { providerID: "p", modelID: "m" },
    addContext: () => undefined,
  });
  const idle = async (sessionId: string, how: "idle" | "error" = "idle") => {
    await sessions.dispatch({ type: "turn.busy", sessionId });
    await sessions.dispatch({ type: "turn.ended", sessionId, how });
  };
  return { sessions, continuation, sent, problems, seen, turn, idle };
}

test("tasks, compose and goal all wanting to push at one idle: exactly one prompt, naming each reason, highest priority first", async () => {
  const { sessions, sent, turn, idle } = arbiter();
  await sessions.dispatch(turn("s1", "person"));
  await idle("s1");
  assert.equal(sent.length, 1, "one prompt for the idle");
  const { body } = sent[0]!;
  const text = body.text;
  const at = [VERIFY_MARKER, GATE_MARKER, CONTINUATION_MARKER].map((marker) => text.indexOf(marker));
  assert.ok(
    at.every((i) => i >= 0),
    `every reason is named: ${text}`,
  );
  assert.deepEqual(
    [...at].sort((a, b) => a - b),
    at,
    "compose (30) before tasks (20) before goal (10)",
  );
  assert.ok(text.startsWith(VERIFY_MARKER), "the prompt starts with a pack marker: its turn is the pack's");
  assert.deepEqual(
    [body.agent, body.model],
    ["build", { providerID: "p", modelID: "m" }],
    "it goes on with the turn's agent and model",
  );
});

test("each feature's count goes up only for its own pushes, and its limit holds across idles", async () => {
  const { sessions, continuation, sent, seen, turn, idle } = arbiter();
  await sessions.dispatch(turn("s1", "person"));
  for (let i = 0; i < 5; i++) {
    await idle("s1");
    await sessions.dispatch(turn("s1", "pack", sent.at(-1)?.body.text ?? ""));
  }
  assert.deepEqual(seen.compose, [0, 1, 2, 2, 2], "compose stops at MAX_VERIFY_PUSHES (2)");
  assert.deepEqual(seen.tasks, [0, 1, 2, 3, 3], "tasks stops at its maxGatePushes (3 here)");
  assert.equal(continuation.pushes("goal", "s1"), 1);
  assert.equal(sent.length, 3, "pushes stop when every decider is at its limit");
  assert.ok(
    !sent[2]!.body.text.includes(VERIFY_MARKER) && sent[2]!.body.text.startsWith(GATE_MARKER),
    "the third names only the task gate",
  );
});

test("a failed last turn: nobody pushes; a new turn clears it", async () => {
  const { sessions, sent, turn, idle } = arbiter();
  await sessions.dispatch(turn("s1", "person"));
  await sessions.dispatch({ type: "turn.failed", sessionId: "s1", aborted: false, error: "APIError" });
  await idle("s1");
  await sessions.dispatch(turn("s2", "person"));
  await idle("s2", "error");
  assert.equal(sent.length, 0, "no push after an error or abort");
  await sessions.dispatch(turn("s1", "pack", "[continuum goal] resumed"));
  await idle("s1");
  assert.equal(sent.length, 1, "the next turn that ends idle may be pushed again");
});

test("a person writing resets every feature's count", async () => {
  const { sessions, continuation, sent, turn, idle } = arbiter();
  await sessions.dispatch(turn("s1", "person"));
  await idle("s1");
  await sessions.dispatch(turn("s1", "pack", sent[0]!.body.text));
  await idle("s1");
  assert.deepEqual(
    ["tasks", "compose", "goal"].map((f) => continuation.pushes(f, "s1")),
    [2, 2, 1],
  );
  await sessions.dispatch(turn("s1", "person", "something else"));
  assert.deepEqual(
    ["tasks", "compose", "goal"].map((f) => continuation.pushes(f, "s1")),
    [0, 0, 0],
  );
  await idle("s1");
  assert.equal(sent.length, 3);
  assert.ok(sent[2]!.body.text.includes(CONTINUATION_MARKER), "goal's one push is available again");
});

test("helper and child sessions are never pushed", async () => {
  const { sessions, sent, turn, idle } = arbiter({ child: "main" });
  sessions.markHelper("helper", "main", { feature: "checkpoint", agent: "checkpoint-writer" });
  await sessions.dispatch({ type: "session.created", sessionId: "sub", parentId: "main" });
  for (const id of ["helper", "sub", "child"]) {
    await sessions.dispatch(turn(id, "person"));
    await idle(id);
  }
  assert.equal(sent.length, 0);
});

test("recheck (a verdict arriving after the idle): pushes only an idle session that nothing was sent to since", async () => {
  const { sessions, continuation, sent, turn, idle } = arbiter();
  await sessions.dispatch(turn("s1", "person"));
  await idle("s1");
  assert.equal(sent.length, 1);
  await continuation.recheck("s1");
  assert.equal(sent.length, 1, "at most one push per idle");
  await sessions.dispatch({ type: "turn.busy", sessionId: "s1" });
  await continuation.recheck("s1");
  assert.equal(sent.length, 1, "never into a running turn");
  await sessions.dispatch({ type: "turn.ended", sessionId: "s1", how: "idle" });
  assert.equal(sent.length, 2, "the next idle asks again");
});

test("a decider that throws is left out and reported; the others still push", async () => {
  const { sessions, continuation, sent, problems, turn, idle } = arbiter();
  continuation.register("broken", () => {
    throw new Error("boom");
  });
  await sessions.dispatch(turn("s1", "person"));
  await idle("s1");
  assert.equal(sent.length, 1);
  assert.match(problems.join("\n"), /broken continuation check failed: .*boom/);
});

test("the real features on the fake host: the task gate and the verification check due at one idle make one prompt", async () => {
  const { withFakeHost } = await import("../harness/fake-host.ts");
  await withFakeHost({}, async (host) => {
    const session = await host.createSession();
    await host.userMessage(session, "build the parser", { agent: "compose" });
    await host.callTool("tasks", { action: "create", title: "write the parser" }, session);
    const edit = {
      sessionID: session,
      type: "tool",
      tool: "edit",
      callID: "call_1",
      state: { status: "completed", input: {} },
    };
    await host.emit("message.part.updated", { part: edit });
    await host.finishCall(session, { input: 100, output: 10 });
    await host.idle(session);
    const pushes = () => host.calls.filter((c) => c.method === "promptAsync" && c.sessionId === session);
    const deadline = Date.now() + 5000;
    while (pushes().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pushes().length, 1, "one prompt for the idle");
    const text: string = pushes()[0]!.body!.parts[0].text;
    assert.ok(text.startsWith(VERIFY_MARKER) && text.includes(`${GATE_MARKER} (1/3)`), text);
    assert.equal(pushes()[0]!.body!.agent, "compose");
  });
});
