// "provider/model" settings (writer, judges, Max, dream, distill, the CLI, OpenCode's own `model`) are read by one parser.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseModelRef } from "../../plugins/core/host-types.ts";

test("parseModelRef: provider and model both non-empty; the model may hold slashes; anything else is undefined", () => {
  assert.deepEqual(parseModelRef("openrouter/anthropic/claude"), {
    providerID: "openrouter",
    modelID: "anthropic/claude",
  });
  for (const bad of [undefined, "", "/", "a/", "/b", "plain"]) assert.equal(parseModelRef(bad), undefined, String(bad));
  fc.assert(
    fc.property(fc.string(), (value) => {
      const ref = parseModelRef(value);
      return (
        ref === undefined ||
        (ref.providerID.length > 0 && ref.modelID.length > 0 && `${ref.providerID}/${ref.modelID}` === value)
      );
    }),
  );
});
