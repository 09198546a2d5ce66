// compose.specDir stays inside the project, whatever the config says; the /compose prompt names it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { join, relative } from "node:path";
import { composePrompt, DEFAULT_SPEC_DIR, resolveSpecDir } from "../../plugins/compose/prompt.ts";

const project = "/tmp/some/project";

test("a relative folder inside the project is used, normalised", () => {
  assert.deepEqual(resolveSpecDir(project, "specs/./features/"), {
    ok: true,
    dir: join(project, "specs/features"),
    relative: "specs/features",
  });
  assert.equal(resolveSpecDir(project, "docs/compose").relative, "docs/compose");
});

test("absolute paths, escapes, the project root itself and control characters fall back to the default with a reason", () => {
  for (const bad of ["/etc", "../outside", "docs/../../x", ".", "", "   ", "a\u0000b", "a\nb"]) {
    const result = resolveSpecDir(project, bad);
    assert.equal(result.ok, false, JSON.stringify(bad));
    assert.equal(result.relative, DEFAULT_SPEC_DIR);
    assert.ok(!result.ok && result.problem.length > 0);
  }
});

test("whatever the string, the folder used is inside the project", () => {
  fc.assert(
    fc.property(fc.string(), (value) => {
      const { dir } = resolveSpecDir(project, value);
      const rel = relative(project, dir);
      return rel !== "" && !rel.startsWith("..") && !rel.startsWith("/");
    }),
  );
});

test("the prompt carries the request, the spec path and the skills in order; a huge request is cut", () => {
  const text = composePrompt("add CSV export", "specs/f");
  assert.match(text, /add CSV export/);
  assert.match(text, /specs\/f\/<feature>\.md/);
  const order = [
    "compose-brainstorm",
    "compose-spec",
    "compose-plan",
    "compose-tdd",
    "compose-review",
    "compose-verify",
    "compose-merge",
    "compose-report",
  ].map((s) => text.indexOf(s));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  assert.ok(!order.includes(-1));
  assert.ok(composePrompt("x".repeat(100_000), "d").length < 6000);
  assert.match(composePrompt("f", "d"), /at most 2 rework rounds/);
  assert.match(composePrompt("f", "d", 1), /at most 1 rework round,/);
});
