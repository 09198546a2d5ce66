// Hook isolation: a feature's exception or hang is reported once and never reaches OpenCode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { composeHooks } from "../../plugins/opencode/compose.ts";
import { RefuseToolCall, ToolInputError } from "../../plugins/core/tool.ts";
import { createReporter } from "../../plugins/core/report.ts";

function recorder() {
  const logs: { level: string; message: string }[] = [];
  const toasts: string[] = [];
  const reporter = createReporter({ log: (e) => void logs.push(e), toast: (t) => void toasts.push(t.message) });
  return { logs, toasts, reporter };
}

test("a throwing hook is logged, toasted once, and the next feature still runs", async () => {
  const { logs, toasts, reporter } = recorder();
  const seen: string[] = [];
  const hooks = composeHooks(
    [
      {
        name: "broken",
        hooks: {
          "chat.message": async () => {
            throw new Error("kaput");
          },
        },
      },
      { name: "fine", hooks: { "chat.message": async () => void seen.push("fine") } },
    ],
    { reporter, timeoutMs: 1000 },
  );
  const call = hooks["chat.message"]!;
  await call({ sessionID: "s" }, { message: {} as never, parts: [] });
  await call({ sessionID: "s" }, { message: {} as never, parts: [] });
  assert.deepEqual(seen, ["fine", "fine"]);
  assert.equal(logs.filter((l) => l.level === "error").length, 2, "logged every time");
  assert.equal(toasts.length, 1, "shown once");
  assert.match(toasts[0]!, /broken:chat.message failed: kaput/);
});

test("a hanging hook is abandoned after the timeout", async () => {
  const { toasts, reporter } = recorder();
  const hooks = composeHooks([{ name: "slow", hooks: { event: () => new Promise(() => {}) } }], {
    reporter,
    timeoutMs: 50,
  });
  const started = Date.now();
  await hooks.event!({ event: { type: "session.idle", properties: { sessionID: "s" } } as never });
  assert.ok(Date.now() - started < 1000);
  assert.match(toasts[0]!, /took longer than 50 ms/);
});

test("an intentional tool refusal passes through the isolation", async () => {
  const { reporter } = recorder();
  const hooks = composeHooks(
    [
      {
        name: "guard",
        hooks: {
          "tool.execute.before": async () => {
            throw new RefuseToolCall("not allowed here");
          },
        },
      },
    ],
    { reporter, timeoutMs: 1000 },
  );
  await assert.rejects(
    hooks["tool.execute.before"]!({ tool: "edit", sessionID: "s", callID: "c" }, { args: {} }),
    /not allowed here/,
  );
});

test("tools: bad input passes its message through; a crash is reported and becomes a clear tool error", async () => {
  const { toasts, reporter } = recorder();
  const definition = (execute: () => Promise<string>) => ({ description: "d", args: {}, execute }) as never;
  const hooks = composeHooks(
    [
      {
        name: "f",
        hooks: {
          tool: {
            picky: definition(async () => {
              throw new ToolInputError("query must not be empty");
            }),
            crashy: definition(async () => {
              throw new TypeError("x is undefined");
            }),
          },
        },
      },
    ],
    { reporter, timeoutMs: 1000 },
  );
  await assert.rejects(hooks.tool!.picky!.execute({}, {} as never), /query must not be empty/);
  assert.equal(toasts.length, 0, "bad input is not a fault");
  await assert.rejects(
    hooks.tool!.crashy!.execute({}, {} as never),
    /crashy failed inside opencode-continuum: x is undefined/,
  );
  assert.equal(toasts.length, 1);
});

test("the first call of every hook is announced once (the doctor's trace)", async () => {
  const { reporter } = recorder();
  const first: string[] = [];
  const hooks = composeHooks([{ name: "f", hooks: { event: async () => {} } }], {
    reporter,
    timeoutMs: 1000,
    onFirstCall: (h) => first.push(h),
  });
  await hooks.event!({ event: {} as never });
  await hooks.event!({ event: {} as never });
  assert.deepEqual(first, ["event"]);
});

test("a reporter whose sink throws never throws itself", () => {
  const reporter = createReporter({
    log: () => {
      throw new Error("sink down");
    },
    toast: () => Promise.reject(new Error("no tui")),
  });
  reporter.problem("k", "message");
  reporter.notify("hello");
});
