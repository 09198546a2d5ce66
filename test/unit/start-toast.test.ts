// Toasts raised during start-up wait for the first session activity (a toast then reaches no subscriber), in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createStartGate } from "../../plugins/opencode/start-toast.ts";

test("start-up toasts are shown at the first session activity, in order, and the features' event hook still runs", async () => {
  const shown = [] as string[];
  const seen: string[] = [];
  const gate = createStartGate();
  gate.toast(() => shown.push("continuum.jsonc has 1 problem"));
  gate.toast(() => shown.push("the database was restored"));
  const hooks = gate.wrap({ event: async ({ event }) => void seen.push(event.type) });
  const fire = (type: string) => hooks.event!({ event: { type, properties: {} } as never });
  await fire("server.connected");
  await fire("file.watcher.updated");
  assert.deepEqual(shown, [], "nothing before the user does something");
  await fire("session.created");
  await fire("message.updated");
  assert.deepEqual(shown, ["continuum.jsonc has 1 problem", "the database was restored"]);
  gate.toast(() => (shown as string[]).push("later"));
  assert.equal(shown.length, 3, "after start-up, toasts show at once");
  assert.deepEqual(seen, ["server.connected", "file.watcher.updated", "session.created", "message.updated"]);
});
