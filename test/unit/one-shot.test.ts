// How the pack tells it runs under `opencode run` (one prompt, exits at the first idle): the OpenCode process's argv,
// as the real host gives it (["bun", "/$bunfs/root/src/index.js", "run", …], checked in test/e2e/one-shot.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runsOneShot } from "../../plugins/opencode/host.ts";

test("opencode run is one-shot; serve, the TUI and other subcommands are not; global options before the subcommand are skipped", () => {
  const entry = ["bun", "/$bunfs/root/src/index.js"];
  assert.equal(runsOneShot([...entry, "run", "--command", "dream"]), true);
  assert.equal(runsOneShot([...entry, "--print-logs", "--log-level", "DEBUG", "run", "hi"]), true);
  assert.equal(runsOneShot([...entry, "serve", "--port", "4096"]), false);
  assert.equal(runsOneShot([...entry]), false, "the TUI");
  assert.equal(runsOneShot([...entry, "/some/project"]), false, "the TUI in a project");
  assert.equal(runsOneShot([...entry, "debug", "config"]), false);
  assert.equal(runsOneShot([...entry, "serve", "run"]), false, "only the subcommand counts");
});
