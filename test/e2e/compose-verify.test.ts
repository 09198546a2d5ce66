// The compose agent cannot end a turn as done without a verification on record, in real OpenCode: a turn that wrote
// a file and ran no check is sent back once with the reason; a check run after the change lets it end; the build
// agent, outside a /compose flow, is never sent back.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptedReply } from "../harness/scripted-model.ts";
import { killAll, type Served } from "../harness/opencode.ts";
import { createSession, sleep } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { VERIFY_MARKER } from "../../plugins/compose/verify-gate.ts";

after(killAll);

const write = (filePath: string, content: string): ScriptedReply => ({
  toolCalls: [{ name: "write", args: { filePath, content } }],
});
const bash = (command: string): ScriptedReply => ({
  toolCalls: [{ name: "bash", args: { command, description: "run the project's checks" } }],
});

async function prompt(served: Served, sessionId: string, text: string, agent: string) {
  const sent = await served.client.session.promptAsync({
    path: { id: sessionId },
    body: { agent, parts: [{ type: "text", text }] },
  });
  if (sent.error) throw new Error(`promptAsync failed: ${JSON.stringify(sent.error)}`);
}

test("compose: sent back once to verify after writing a file, then a passing check lets the turn end; build is left alone", {
  timeout: 180000,
}, async () => {
  await withOpencode({ model: { exhausted: { text: "ok" } }, install: false }, async ({ env, model, serve }) => {
    writeFileSync(
      join(env.projectDir, "package.json"),
      JSON.stringify({ name: "fixture", private: true, scripts: { test: "node -e \"console.log('1 test passed')\"" } }),
    );
    installPack(env);
    const served = await serve();
    // The first model call of each pushed turn (the calls after a tool result carry the same user text).
    const pushes = () =>
      model
        .lane("main")
        .filter((r) => r.body.messages.at(-1)?.role === "user" && r.lastUserText.startsWith(VERIFY_MARKER));

    const session = await createSession(served);
    model.push("main", write("hello.txt", "hello\n"), { text: "Done: hello.txt added." }, bash("npm test"), {
      text: "Verified: npm test printed 1 test passed.",
    });
    await prompt(served, session, "Add hello.txt with a greeting.", "compose");
    await served.waitForIdle(session, 2, 60000);
    assert.ok(existsSync(join(env.projectDir, "hello.txt")), "the write happened");
    assert.equal(pushes().length, 1, "one push after the unverified 'done'");
    assert.match(pushes()[0]!.lastUserText, /no check command .* has run since/);
    const afterCheck = model.lane("main").at(-1)!;
    assert.match(JSON.stringify(afterCheck.body.messages.at(-1)), /1 test passed/, "the check really ran");
    await sleep(1500);
    assert.equal(pushes().length, 1, "verified: no further push");

    // The same unverified turn in the build agent, with no /compose flow in that session: never sent back.
    const other = await createSession(served);
    model.push("main", write("other.txt", "x\n"), { text: "Done." });
    await prompt(served, other, "Add other.txt.", "build");
    await served.waitForIdle(other, 1, 60000);
    await sleep(1500);
    assert.equal(pushes().length, 1, "the build agent is not gated");

    // /compose from the build agent starts the same flow, and the same check.
    const viaCommand = await createSession(served);
    model.push("main", write("fourth.txt", "z\n"), { text: "Done." }, bash("npm test"), { text: "Verified." });
    const command = await served.client.session.command({
      path: { id: viaCommand },
      body: { command: "compose", arguments: "add fourth.txt", agent: "build" } as never,
    });
    assert.equal(command.error, undefined, JSON.stringify(command.error));
    await served.waitForIdle(viaCommand, 2, 60000);
    assert.equal(
      pushes().filter((r) => JSON.stringify(r.body.messages).includes("fourth.txt")).length,
      1,
      "the /compose flow is checked in the build agent too",
    );

    // A compose turn that keeps not verifying is sent back at most twice, then left to the user.
    const stubborn = await createSession(served);
    model.push("main", write("third.txt", "y\n"), { text: "Done." }, { text: "Still done." }, { text: "Really done." });
    await prompt(served, stubborn, "Add third.txt.", "compose");
    await served.waitForIdle(stubborn, 3, 60000);
    await sleep(1500);
    const stubbornPushes = pushes().filter((r) => JSON.stringify(r.body.messages).includes("third.txt"));
    assert.deepEqual(
      stubbornPushes.map((r) => r.lastUserText.slice(0, VERIFY_MARKER.length + 6)),
      [`${VERIFY_MARKER} (1/2)`, `${VERIFY_MARKER} (2/2)`],
    );
  });
});
