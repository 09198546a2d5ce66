// A start-up message waits for the first session activity (a toast during start-up reaches no subscriber), once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withStartToast } from "../../plugins/opencode/start-toast.ts";

test("the start-up toast is shown at the first session activity, once, and the feature's event hook still runs", async () => {
  const shown: string[] = [];
  const seen: string[] = [];
  const hooks = withStartToast({ event: async ({ event }) => void seen.push(event.type) }, "continuum.jsonc has 1 problem", (m) => shown.push(m));
  const fire = (type: string) => hooks.event!({ event: { type, properties: {} } as never });
  await fire("server.connected");
  await fire("file.watcher.updated");
  assert.deepEqual(shown, [], "nothing before the user does something");
  await fire("session.created");
  await fire("message.updated");
  assert.deepEqual(shown, ["continuum.jsonc has 1 problem"]);
  assert.deepEqual(seen, ["server.connected", "file.watcher.updated", "session.created", "message.updated"]);
  const untouched = { event: async () => {} };
  assert.equal(withStartToast(untouched, undefined, () => {}), untouched, "no message: the hooks are returned as they are");
});
