// The e2e fixture's promise: whatever the test does, its model, servers and temp dirs are gone afterwards, and a
// failing test reports its own error, not one from the tear-down. Runs no OpenCode (install and serve are off).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { withOpencode, type Opencode } from "../harness/fixture.ts";

const reachable = (baseURL: string) =>
  fetch(`${baseURL}/models`).then(
    () => true,
    () => false,
  );

test("withOpencode hands over the env and model, and removes both after a passing test", async () => {
  let seen: { root: string; baseURL: string } | undefined;
  const value = await withOpencode({ install: false, env: { git: false } }, async ({ env, model }) => {
    seen = { root: env.root, baseURL: model.baseURL };
    assert.ok(existsSync(env.projectDir), "the project exists during the test");
    assert.ok(await reachable(model.baseURL), "the scripted model answers during the test");
    return 42;
  });
  assert.equal(value, 42, "the test's value is returned");
  assert.equal(existsSync(seen!.root), false, "the temp dirs are gone");
  assert.equal(await reachable(seen!.baseURL), false, "the model is closed");
});

test("a failing test: its own error surfaces, every deferred step runs (last first) and everything is torn down", async () => {
  const order: string[] = [];
  let root = "";
  let baseURL = "";
  await assert.rejects(
    withOpencode({ install: false, env: { git: false } }, async ({ env, model, defer }) => {
      root = env.root;
      baseURL = model.baseURL;
      defer(() => order.push("first registered"));
      defer(() => {
        order.push("second registered");
        throw new Error("a broken tear-down step");
      });
      throw new Error("the test's own failure");
    }),
    /the test's own failure/,
  );
  assert.deepEqual(order, ["second registered", "first registered"]);
  assert.equal(existsSync(root), false, "the temp dirs are gone even though a tear-down step threw");
  assert.equal(await reachable(baseURL), false, "the model is closed");
});

test("a tear-down error fails a test that passed; asking for a handle that was not set up is an error", async () => {
  await assert.rejects(
    withOpencode({ install: false, env: { git: false } }, ({ defer }) =>
      defer(() => Promise.reject(new Error("leak"))),
    ),
    /leak/,
  );
  await withOpencode({ model: false, install: false, env: { git: false } }, (opencode: Opencode) => {
    assert.throws(() => opencode.model, /runs no scripted model/);
    assert.throws(() => opencode.served, /no server was asked for/);
  });
});
