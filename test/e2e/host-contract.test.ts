// The host contract in the real host, and the upstream watch. One `opencode serve` runs the pack from a copy whose
// package.json narrows continuum.testedOpencode to a range no OpenCode release meets (the range is read from the installed
// pack's package.json), and a short scripted session makes OpenCode call every hook the pack registers: each must
// fire with the argument shape the adapter's zod schemas expect, and the host outside the range is told exactly once
// (a toast and a log line) across several sessions and requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { withOpencode } from "../harness/fixture.ts";
import { createSession, send } from "../harness/session.ts";

const NARROWED = ">=99.0.0 <100";
const NOTICE = "is outside the range opencode-continuum was tested on";

interface Trace {
  event: string;
  hook?: string;
  shape?: string;
  hooks?: string[];
  version?: string;
  range?: string;
  inside?: boolean;
  experimentalHooks?: string[];
}

/** A copy of the pack whose package.json says it was tested on NARROWED; the project's shim imports it. */
function installNarrowedCopy(env: IsolatedEnv): void {
  const pack = join(env.root, "pack");
  for (const dir of ["plugins", "skills", "workflows"])
    if (existsSync(join(REPO_ROOT, dir))) cpSync(join(REPO_ROOT, dir), join(pack, dir), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(pack, "node_modules"));
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    continuum: { testedOpencode: string };
  };
  pkg.continuum.testedOpencode = NARROWED;
  writeFileSync(join(pack, "package.json"), JSON.stringify(pkg, null, 2));
  const shim = join(env.projectDir, ".opencode", "plugins", "continuum.ts");
  const entry = JSON.stringify(join(pack, "plugins", "continuum.ts"));
  writeFileSync(shim, readFileSync(shim, "utf8").replace(/const entry = ".*";/, `const entry = ${entry};`));
}

const readTrace = (file: string): Trace[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Trace)
    : [];

test("every hook the pack registers is called by the real host with the shape the adapter expects; a host outside the tested range is told once", {
  timeout: 180000,
}, async () => {
  const script = {
    main: [
      { toolCalls: [{ name: "bash", args: { command: "echo contract", description: "Echo a word" } }] },
      { text: "First session done." },
      { text: "Second session done." },
      { text: "Third request done." },
    ],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode({ model: script }, async ({ env, serve }) => {
    installNarrowedCopy(env);
    const trace = join(env.root, "trace.jsonl");
    const served = await serve({ extraEnv: { CONTINUUM_DOCTOR_REPORT: trace }, startTimeoutMs: 120000 });
    const first = await createSession(served);
    await send(served, first, "Run echo, then stop.");
    await served.waitForIdle(first, 1, 60000);
    const command = await served.client.session.command({
      path: { id: first },
      body: { command: "stats", arguments: "" },
    });
    assert.ok(!command.error, JSON.stringify(command.error));
    const summarized = await served.client.session.summarize({
      path: { id: first },
      body: { providerID: "fake", modelID: "fake-model" },
    });
    assert.ok(!summarized.error, JSON.stringify(summarized.error));
    const second = await createSession(served);
    await send(served, second, "A second session.");
    await served.waitForIdle(second, 1, 60000);
    await send(served, second, "A third request.");
    await served.waitForIdle(second, 2, 60000);

    const records = readTrace(trace);
    const loaded = records.find((r) => r.event === "loaded");
    assert.ok(loaded?.hooks, "the pack loaded and said which hooks it registered");
    // `tool` is a table of tools (no call of its own) and `dispose` runs at shutdown: every other hook is a call.
    const expected = loaded.hooks.filter((hook) => hook !== "tool" && hook !== "dispose").sort();
    const fired = new Map(records.filter((r) => r.event === "hook").map((r) => [r.hook!, r.shape!]));
    const missing = expected.filter((hook) => !fired.has(hook));
    assert.deepEqual(missing, [], `hooks never called by the host (called: ${[...fired.keys()].join(", ")})`);
    for (const hook of expected) assert.equal(fired.get(hook), "ok", `${hook}: arguments as the adapter reads them`);
    for (const hook of [
      "event",
      "config",
      "chat.message",
      "chat.params",
      "chat.headers",
      "command.execute.before",
      "tool.execute.before",
      "experimental.chat.system.transform",
      "experimental.chat.messages.transform",
      "experimental.session.compacting",
    ])
      assert.ok(expected.includes(hook), `${hook} is registered and so checked here`);

    const upstream = records.find((r) => r.event === "upstream");
    assert.equal(upstream?.range, NARROWED, "the range came from the installed pack's package.json");
    assert.equal(upstream?.inside, false);
    assert.match(upstream?.version ?? "", /^\d+\.\d+\.\d+/, "the host said its version");
    const toasts = served.events.filter(
      (e) => e.type === "tui.toast.show" && String(e.properties.message).includes(NOTICE),
    );
    assert.equal(toasts.length, 1, "one toast across two sessions and four requests");
    const message = String(toasts[0]!.properties.message);
    assert.ok(message.includes(`OpenCode ${upstream!.version} ${NOTICE} (${NARROWED})`), message);
    for (const hook of upstream!.experimentalHooks ?? []) assert.ok(message.includes(hook), `${hook} named`);
    assert.deepEqual(
      upstream!.experimentalHooks,
      expected.filter((hook) => hook.startsWith("experimental.")),
      "the hooks named are exactly the experimental ones registered",
    );
    const logLines = served
      .output()
      .split("\n")
      .filter((line) => line.includes(NOTICE));
    assert.equal(logLines.length, 1, `one log line (got ${logLines.length})`);
    assert.match(logLines[0]!, /level=WARN/);
  });
});
