// /dream in real OpenCode (`opencode serve` + SDK, scripted model, fixture sessions in the pack's data dir): the rule
// two past sessions state is written once with both sources, a stale entry is marked, the previous MEMORY.md is kept,
// the report shows the diff and the cost, `continuum dream undo` restores the file byte for byte, the dream's child
// session is not what `opencode run -c` continues, and a dream that deletes every entry is refused with nothing written.
// The opt-in schedules start dream and distill in the background at a new main session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { opencodeRun } from "../harness/opencode.ts";
import { createSession, persistentDb, send } from "../harness/session.ts";
import { withOpencode, type EnvSetup } from "../harness/fixture.ts";
import { shownAnswers } from "./goal-support.ts";
import { continuumCli, continuumCliAsync, readJsonFile } from "../harness/cli.ts";
import {
  call,
  isDistillRequest,
  isDreamRequest,
  projectData,
  stepLane,
  waitForRecord,
  writeFixtureHistory,
  writeFixtureSession,
} from "./dream-support.ts";
import type { DreamRecord } from "../../plugins/dream/records.ts";
import type { DistillRecord } from "../../plugins/distill/records.ts";

const ORIGINAL = [
  "# Project memory",
  "",
  "## Rules",
  "",
  "- Use pnpm for installs, never npm install. <!-- id:m-keep0001 · 2026-11-20 · ses_old1 -->",
  "",
  "## Discovered durable knowledge",
  "",
  "- The request parser lives in `src/legacy/parser.ts`. <!-- id:m-stale001 · 2026-11-20 · ses_old1 -->",
  "- The server starts in src/app.ts through `startServer`. <!-- id:m-good0001 · 2026-11-20 · ses_old1 -->",
  "",
].join("\n");

const RULE = "Always run `npm run lint` before committing.";

function fixture(env: IsolatedEnv): void {
  mkdirSync(join(env.projectDir, "src"), { recursive: true });
  writeFileSync(join(env.projectDir, "src", "app.ts"), "export function startServer() {\n  return 1;\n}\n");
  const { memoryFile } = projectData(env);
  mkdirSync(join(memoryFile, ".."), { recursive: true });
  writeFileSync(memoryFile, ORIGINAL);
  for (const id of ["ses_fixtureA", "ses_fixtureB"]) {
    writeFixtureSession(env, id, {
      notes: `# Session notes (${id})\n\n## [turn 2 · 2026-11-28T10:00:00.000Z]\nThe user said: always run npm run lint before committing.\n`,
      checkpoint: `# Checkpoint\n\n## §3 Directives\n- "always run npm run lint before committing" (user, ${id})\n\n## §5 Current work\n- none\n`,
    });
  }
}

const dreamEnv: EnvSetup = { continuumConfig: { checkpoint: { enabled: false } }, opencodeConfig: { snapshot: false } };

test("/dream writes the repeated rule once with both sessions, marks the stale entry, keeps the previous version, reports diff and cost; undo restores byte for byte; run -c does not continue the dream", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      stepLane("dream", isDreamRequest, [
        call("dream_memory", { action: "list" }),
        call("dream_memory", {
          action: "remember",
          section: "Rules",
          text: RULE,
          sessions: ["ses_fixtureA", "ses_fixtureB"],
        }),
        call("dream_report", {
          consolidated: ["lint before committing: stated in ses_fixtureA and ses_fixtureB"],
          updated: [],
          deleted: [],
          skipped: [],
        }),
      ]),
    ],
    main: [{ text: "Hello, noted." }, { text: "Continuing the main session." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode({ model: modelScript, env: dreamEnv }, async ({ env, model, serve }) => {
    fixture(env);
    const data = projectData(env);
    let served = await serve({ extraEnv: persistentDb(env) });
    const session = await createSession(served);
    await send(served, session, "hello main session");
    await served.waitForIdle(session, 1, 60000);
    const before = new Date().toISOString();
    const ran = await served.client.session.command({
      path: { id: session },
      body: { command: "dream", arguments: "" },
    });
    assert.equal(ran.error, undefined, JSON.stringify(ran.error));
    const record = await waitForRecord<DreamRecord>(join(data.dreamDir, "last.json"), before, 90000);
    assert.equal(record.status, "written", record.message);

    const after = readFileSync(data.memoryFile, "utf8");
    assert.equal(after.split(RULE).length - 1, 1, `the rule is written once:\n${after}`);
    assert.match(
      after,
      /Always run `npm run lint` before committing\. <!-- id:m-[a-z0-9]{8} · \d{4}-\d{2}-\d{2} · ses_fixtureA,ses_fixtureB -->/,
      "tagged with its date and both source sessions",
    );
    assert.match(
      after,
      /src\/legacy\/parser\.ts`\. \[unverified\] \(src\/legacy\/parser\.ts not found on \d{4}-\d{2}-\d{2}\) <!-- id:m-stale001/,
      "the stale entry is marked",
    );
    assert.match(
      after,
      /The server starts in src\/app\.ts through `startServer`\. <!-- id:m-good0001/,
      "an entry whose path and name exist is left alone",
    );
    assert.deepEqual(
      record.unverified.map((u) => [u.id, u.missing]),
      [["m-stale001", ["src/legacy/parser.ts"]]],
    );

    const versions = join(data.memory, ".versions", "MEMORY.md");
    const kept = readdirSync(versions);
    assert.equal(kept.length, 1, "one previous version kept");
    assert.equal(
      readFileSync(join(versions, kept[0]!), "utf8"),
      ORIGINAL,
      "the kept version is the file before the dream",
    );
    assert.match(record.diff, /^--- a\/MEMORY\.md\n\+\+\+ b\/MEMORY\.md\n@@/);
    assert.match(record.diff, /^\+- Always run `npm run lint`/m);
    assert.match(record.diff, /^-- The request parser lives in `src\/legacy\/parser\.ts`\. <!--/m);
    assert.ok(record.tokens.total > 0 && record.runId, `tokens counted: ${JSON.stringify(record.tokens)}`);

    // The dream's prompt carried both fixture sessions; its tools were the memory draft, the report and read-only ones.
    const dreamCalls = model.lane("dream");
    assert.equal(dreamCalls.length, 3, "no call after dream_report");
    assert.match(
      dreamCalls[0]!.lastUserText,
      /<session id="ses_fixtureA"[\s\S]*always run npm run lint[\s\S]*<session id="ses_fixtureB"|<session id="ses_fixtureB"[\s\S]*<session id="ses_fixtureA"/,
    );
    assert.match(dreamCalls[0]!.lastUserText, /\[m-stale001\] \(Discovered durable knowledge\)/);
    assert.deepEqual([...dreamCalls[0]!.tools].sort(), ["dream_memory", "dream_report", "glob", "grep", "read"]);
    assert.ok(
      model.lane("main").every((r) => !r.tools.includes("dream_memory") && !r.tools.includes("dream_report")),
      "the main agent never sees the dream's tools",
    );

    // /dream status: the report with the diff and the cost, shown without a model call.
    const mainCalls = model.lane("main").length;
    await served.client.session.command({ path: { id: session }, body: { command: "dream", arguments: "status" } });
    const shown = (await shownAnswers(served.client, session)).join("\n");
    assert.match(shown, /Dream written to MEMORY\.md \(1 added, 0 rewritten, 0 removed, 1 marked \[unverified\]\)/);
    assert.match(shown, /```diff\n--- a\/MEMORY\.md/);
    assert.match(shown, /Cost: [\d,]+ tokens \([\d,]+ in, [\d,]+ out\), cost \$\d+\.\d{4}; run run_/);
    assert.equal(model.lane("main").length, mainCalls, "/dream status made no model call");

    const stats = continuumCli(env, ["stats", "--json", "--project", env.projectDir, "--all"]);
    const features = (JSON.parse(stats.stdout) as { features: Record<string, { runs: number }> }).features;
    assert.equal(features.dream?.runs, 1, `the ledger has the dream run: ${stats.stdout.slice(0, 600)}`);

    await served.stop();

    // `opencode run -c` continues the user's session, not the dream's child session.
    const continued = await opencodeRun(env, "carry on", { args: ["-c"], json: true, extraEnv: persistentDb(env) });
    const sessionIds = new Set(continued.events.map((e) => (e as { sessionID?: string }).sessionID).filter(Boolean));
    assert.deepEqual(
      [...sessionIds],
      [session],
      `run -c continued ${[...sessionIds].join(",")}; the user's session is ${session}, the dream's ${record.childSessionId}`,
    );
    assert.notEqual(record.childSessionId, session);

    const undone = continuumCli(env, ["dream", "undo", "--project", env.projectDir]);
    assert.equal(undone.status, 0, undone.stderr);
    assert.match(undone.stdout, /Restored .*MEMORY\.md as it was before the dream/);
    assert.ok(readFileSync(data.memoryFile).equals(Buffer.from(ORIGINAL)), "MEMORY.md is back byte for byte");
    const again = continuumCli(env, ["dream", "undo", "--project", env.projectDir]);
    assert.equal(again.status, 1, "a second undo has nothing to undo");
    assert.match(again.stderr, /Nothing to undo/);

    // Headless dry run through the CLI (its own opencode serve): the same change as a diff, nothing written.
    const dry = await continuumCliAsync(env, ["dream", "--dry-run", "--project", env.projectDir, "--json"]);
    assert.equal(dry.status, 0, `${dry.stdout}\n${dry.stderr}`);
    const dryRecord = JSON.parse(dry.stdout) as DreamRecord;
    assert.equal(dryRecord.status, "dry-run", dryRecord.message);
    assert.match(dryRecord.diff, /^\+- Always run `npm run lint` before committing\./m);
    assert.ok(readFileSync(data.memoryFile).equals(Buffer.from(ORIGINAL)), "a dry run writes nothing");
    assert.equal(readdirSync(versions).length, 2, "only the dream and its undo made versions");
  });
});

test("/dream that deletes every entry is refused whole: nothing written, no version made, the report says why; an empty window costs no model call", {
  timeout: 180000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      stepLane("dream", isDreamRequest, [
        call("dream_memory", { action: "list" }),
        call("dream_memory", { action: "forget", id: "m-keep0001" }),
        call("dream_memory", { action: "forget", id: "m-stale001" }),
        call("dream_memory", { action: "forget", id: "m-good0001" }),
        call("dream_report", { consolidated: [], updated: [], deleted: ["everything"], skipped: [] }),
        { text: "done" },
        call("dream_report", { consolidated: [], updated: [], deleted: ["everything, again"], skipped: [] }),
      ]),
    ],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode({ model: modelScript, env: dreamEnv }, async ({ env, model, serve }) => {
    const data = projectData(env);
    let served = await serve();
    const session = await createSession(served);

    // No fixture yet: nothing in the window, so no model call at all.
    const emptyAt = new Date().toISOString();
    await served.client.session.command({ path: { id: session }, body: { command: "dream", arguments: "" } });
    const empty = await waitForRecord<DreamRecord>(join(data.dreamDir, "last.json"), emptyAt, 30000);
    assert.equal(empty.status, "empty");
    assert.match(
      (await shownAnswers(served.client, session)).join("\n"),
      /nothing to dream about \(no model call made\)/,
    );
    assert.equal(model.lane("dream").length, 0);

    fixture(env);
    const before = new Date().toISOString();
    await served.client.session.command({ path: { id: session }, body: { command: "dream", arguments: "" } });
    const record = await waitForRecord<DreamRecord>(join(data.dreamDir, "last.json"), before, 90000);
    assert.equal(record.status, "refused", record.message);
    assert.match(
      record.problems.join("\n"),
      /changes 3 of 3 existing entries \(3 removed or merged away, 0 rewritten; 100 %\); at most 30 %/,
    );
    assert.ok(readFileSync(data.memoryFile).equals(Buffer.from(ORIGINAL)), "MEMORY.md untouched");
    assert.ok(!existsSync(join(data.memory, ".versions")), "no version written: nothing was written");
    const refusals = model
      .lane("dream")
      .filter((r) => /NOT recorded[\s\S]*changes 3 of 3/.test(JSON.stringify(r.body.messages.at(-1)?.content ?? "")));
    assert.ok(refusals.length >= 1, "the dream was told why its report was refused");
    assert.ok(record.tokens.total > 0, "a refused run still reports what it cost");

    const dry = continuumCli(env, ["dream", "status", "--project", env.projectDir]);
    assert.match(
      dry.stdout,
      /Dream refused: its result broke a limit; nothing was written\.[\s\S]*Refused because:\n  - the run changes 3 of 3/,
    );
  });
});

test("schedules (opt-in): with dream.auto and distill.auto on, a new main session starts both in the background without waiting for them", {
  timeout: 180000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      stepLane("dream", isDreamRequest, [
        { ...call("dream_memory", { action: "list" }), delayMs: 2500 },
        call("dream_report", { consolidated: [], updated: [], deleted: [], skipped: ["nothing new"] }),
      ]),
      stepLane("distill", isDistillRequest, [{ ...call("distill_report", { candidates: [] }), delayMs: 2500 }]),
    ],
    main: [{ text: "Main answer while the schedules run." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        continuumConfig: { checkpoint: { enabled: false }, dream: { auto: true }, distill: { auto: true } },
        opencodeConfig: { snapshot: false },
      },
    },
    async ({ env, model, serve }) => {
      fixture(env);
      await writeFixtureHistory(
        env,
        ["ses_fixtureA", "ses_fixtureB"].flatMap((sessionId, s) =>
          ["npm run lint", "npm test"].map((command, i) => ({
            partId: `prt_${sessionId}_${i}`,
            sessionId,
            messageId: `msg_${sessionId}_${i}`,
            role: "assistant",
            kind: "tool" as const,
            tool: "bash",
            createdAt: Date.now() - (s + 1) * 86_400_000 + i * 1000,
            text: `tool bash ${JSON.stringify({ command })}\n→ ok`,
          })),
        ),
      );
      const data = projectData(env);
      const before = new Date().toISOString();
      let served = await serve();
      const session = await createSession(served);
      await send(served, session, "hello while dreaming");
      await served.waitForIdle(session, 1, 60000);
      const dreamRecord = readJsonFile<DreamRecord>(join(data.dreamDir, "last.json"));
      assert.equal(dreamRecord?.status, "running", "the main turn ended while the scheduled dream was still running");
      const dream = await waitForRecord<DreamRecord>(join(data.dreamDir, "last.json"), before, 60000);
      const distill = await waitForRecord<DistillRecord>(join(data.distillDir, "last.json"), before, 60000);
      assert.equal(dream.reason, "scheduled (dream.auto)");
      assert.equal(dream.status, "written", dream.message);
      assert.deepEqual(
        dream.unverified.map((u) => u.id),
        ["m-stale001"],
      );
      assert.equal(distill.reason, "scheduled (distill.auto)");
      assert.equal(distill.status, "done", distill.message);
      assert.match(distill.message, /created nothing \(a valid outcome\)/);
      assert.ok(dream.tokens.total > 0 && distill.tokens.total > 0);

      // A second new session within the interval starts nothing.
      const dreamCalls = model.lane("dream").length;
      const distillCalls = model.lane("distill").length;
      await createSession(served);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(model.lane("dream").length, dreamCalls);
      assert.equal(model.lane("distill").length, distillCalls);
    },
  );
});

test("continuum dream stopped with SIGTERM mid-run shuts its opencode serve down and writes nothing", {
  timeout: 120000,
}, async () => {
  await withOpencode(
    {
      model: {
        lanes: [stepLane("dream", isDreamRequest, [{ ...call("dream_memory", { action: "list" }), delayMs: 15000 }])],
        exhausted: { text: "nothing more scripted" },
      },
      env: dreamEnv,
    },
    async ({ env, model }) => {
      fixture(env);
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, "plugins", "cli", "continuum.mjs"), "dream", "--project", env.projectDir],
        { cwd: env.projectDir, env: env.env, stdio: "ignore" },
      );
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const deadline = Date.now() + 60000;
      while (model.lane("dream").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(model.lane("dream").length, 1, "the dream's first call reached the model");
      assert.equal(servesIn(env.projectDir).length, 1, "the CLI's opencode serve is running");
      child.kill("SIGTERM");
      assert.equal(await exited, 143);
      assert.deepEqual(servesIn(env.projectDir), [], "no opencode serve left running");
      assert.ok(readFileSync(projectData(env).memoryFile).equals(Buffer.from(ORIGINAL)), "nothing written");
    },
  );
});

/** Pids of `opencode serve` processes working in a directory (Linux /proc). */
function servesIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (!args.some((a) => a.endsWith("opencode")) || !args.includes("serve")) continue;
      if (realpathSync(`/proc/${name}/cwd`) === realpathSync(dir)) pids.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}
