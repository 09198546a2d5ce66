// Max Mode's agent files are product code: the candidate and the judge are read-only by construction, the builder
// can change files but nothing else reaches it, and each may call only its own result tool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readAsset } from "../../plugins/core/assets.ts";

const permission = (name: string) => readAsset("agents", name).frontmatter.permission as Record<string, unknown>;
const allowed = (name: string) =>
  Object.entries(permission(name))
    .filter(([, v]) => v === "allow")
    .map(([k]) => k)
    .sort();

test("max-candidate and max-judge: hidden subagents, deny-all first, nothing that writes or runs commands", () => {
  assert.deepEqual(allowed("max-candidate"), ["glob", "grep", "list", "max_plan", "read"]);
  assert.deepEqual(allowed("max-judge"), ["grep", "max_verdict", "read"]);
  for (const name of ["max-candidate", "max-judge"]) {
    const asset = readAsset("agents", name);
    assert.equal(asset.frontmatter.mode, "subagent");
    assert.equal(asset.frontmatter.hidden, true);
    assert.equal(Object.keys(permission(name))[0], "*");
    assert.equal(permission(name)["*"], "deny");
    assert.match(asset.body, /Output contract: call the tool `max_(plan|verdict)` exactly once/);
  }
  assert.equal(readAsset("agents", "max-judge").frontmatter.temperature, 0);
});

test("max-builder edits only through file tools and its shell (kept in its worktree); max is a primary agent", () => {
  assert.deepEqual(allowed("max-builder"), [
    "edit",
    "glob",
    "grep",
    "list",
    "max_patch",
    "patch",
    "read",
    "todowrite",
    "write",
  ]);
  const bash = permission("max-builder").bash as Record<string, string>;
  // Git that would reach the user's refs, stash or config is refused by the parsing git guard, not by prefixes here.
  assert.deepEqual(bash, { "*": "allow" });
  assert.equal(permission("max-builder")["*"], "deny");
  assert.equal(
    permission("max-builder").external_directory,
    "ask",
    "asked, so the pack can grant its own worktree only",
  );
  assert.equal(readAsset("agents", "max").frontmatter.mode, "primary");
  assert.deepEqual(
    (readAsset("agents", "max").frontmatter.permission as { bash: unknown }).bash,
    { "continuum_confirm=*": "ask" },
    "max asks through its guard marker",
  );
  assert.match(readAsset("commands", "max").body, /\$ARGUMENTS/);
});
