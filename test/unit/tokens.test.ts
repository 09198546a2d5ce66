// The one sum of a model call's token counts: every count is included, each exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { totalTokens } from "../../plugins/core/tokens.ts";
import { NO_TOKENS } from "../../plugins/core/host-types.ts";

test("totalTokens adds input, output, reasoning and both cache counts", () => {
  assert.equal(totalTokens({ input: 1, output: 20, reasoning: 300, cacheRead: 4000, cacheWrite: 50000 }), 54321);
  assert.equal(totalTokens(NO_TOKENS), 0);
});
