// The upstream watch's pure part: a host version against the tested range, the one notice for a host outside it
// (naming the experimental hooks), the range read from package.json, and the shape check of a hook's first call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeVerdict, experimentalOf, judgeHost, outsideNotice, satisfies } from "../../plugins/core/host-range.ts";
import { testedOpencodeRange } from "../../plugins/core/tested-range.ts";
import { checkHookShape } from "../../plugins/opencode/host-contract.ts";
import { REPO_ROOT } from "../harness/env.ts";

const HOOKS = ["event", "experimental.session.compacting", "chat.message", "experimental.chat.system.transform"];

test("a host inside the tested range gets no notice; one outside gets one naming each experimental hook", () => {
  const inside = judgeHost("1.18.33", ">=1.18.33 <2", HOOKS);
  assert.equal(inside.inside, true);
  assert.equal(outsideNotice(inside), undefined);
  assert.match(describeVerdict(inside), /^1\.18\.33 inside the tested range >=1\.18\.33 <2; experimental hooks/);

  for (const version of ["1.18.32", "2.0.0", "0.9.1"]) {
    const outside = judgeHost(version, ">=1.18.33 <2", HOOKS);
    assert.equal(outside.inside, false, version);
    const notice = outsideNotice(outside) ?? "";
    assert.match(notice, new RegExp(`OpenCode ${version.replaceAll(".", "\\.")} is outside`));
    assert.match(notice, />=1\.18\.33 <2/);
    for (const hook of ["experimental.chat.system.transform", "experimental.session.compacting"])
      assert.ok(notice.includes(hook), `${hook} named`);
    assert.ok(!notice.includes("chat.message,"), "only experimental hooks are named");
  }
});

test("an unknown host version claims nothing either way", () => {
  for (const version of [undefined, "", "garbage"]) {
    const verdict = judgeHost(version, ">=1.18.33 <2", HOOKS);
    assert.equal(verdict.inside, undefined);
    assert.equal(outsideNotice(verdict), undefined);
    assert.match(describeVerdict(verdict), /^version unknown, tested on >=1\.18\.33 <2/);
  }
});

test("the experimental hooks are derived from the registered names, deduplicated and sorted", () => {
  assert.deepEqual(experimentalOf([...HOOKS, "experimental.session.compacting", "tool.execute.before"]), [
    "experimental.chat.system.transform",
    "experimental.session.compacting",
  ]);
  assert.deepEqual(experimentalOf(["event"]), []);
});

test("the tested range is continuum.testedOpencode of the installed pack's package.json, inside engines.opencode", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    engines: { opencode: string };
    continuum: { testedOpencode: string };
  };
  assert.equal(testedOpencodeRange(), pkg.continuum.testedOpencode);
  // What was tested is a release OpenCode may load the pack on, and the pinned devDependency is what was tested.
  const pinned = (pkg as unknown as { devDependencies: Record<string, string> }).devDependencies["opencode-ai"]!;
  assert.ok(satisfies(pinned, pkg.continuum.testedOpencode), `${pinned} within ${pkg.continuum.testedOpencode}`);
  assert.ok(satisfies(pinned, pkg.engines.opencode));
  const dir = mkdtempSync(join(tmpdir(), "continuum-range-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ continuum: { testedOpencode: " >=9.9.9 <10 " } }));
    assert.equal(testedOpencodeRange(`${dir}/`), ">=9.9.9 <10");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ engines: { opencode: ">=1" } }));
    assert.throws(() => testedOpencodeRange(`${dir}/`), /no continuum\.testedOpencode/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a hook's first call is checked against the adapter's schema: ok, or the paths that differ", () => {
  const messages = [{ info: { sessionID: "ses_1", role: "user" }, parts: [] }];
  assert.equal(checkHookShape("experimental.chat.messages.transform", {}, { messages }), "ok");
  assert.match(
    checkHookShape("experimental.chat.messages.transform", {}, { messages: [{ info: {}, parts: [] }] }),
    /output\.messages\.0\.info\.sessionID/,
  );
  assert.match(checkHookShape("experimental.session.compacting", {}, { context: [] }), /input\.sessionID/);
  assert.equal(checkHookShape("some.future.hook", {}, {}), "no schema");
  assert.equal(
    checkHookShape("tool:memory", { q: 1 }, { sessionID: "s", messageID: "m", agent: "build", abort: {} }),
    "ok",
  );
});
