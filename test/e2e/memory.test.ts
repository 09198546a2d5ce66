// Memory in real OpenCode with the scripted model: a rule remembered in one process is in the system prompt of
// the next process's first request, byte-identical on the second; memory search and history search find it;
// secrets printed by a tool appear nowhere under the data dir; deleting the DB loses no memory.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  contentText,
  isCheckpointWriterRequest,
  isGoalJudgeRequest,
  type Lane,
  type RecordedRequest,
  type ScriptedToolCall,
  type ModelScript,
} from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { shownAnswers } from "./goal-support.ts";
import { createSession, send, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

after(killAll);

const RULE = "Always use pnpm for installs, never npm (zebrafish convention)";
const AWS_KEY = "AKIAQWERTYUIOPASDFGH";
const PG_PASSWORD = "s3cr3t-Pa55w0rd-42";

/** The pack's own helper sessions (checkpoint writer, goal judge) get their own lane so they never eat scripted turns. */
const PACK_HELPERS: Lane = {
  name: "pack-helpers",
  match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
  replies: () => ({ text: "ok" }),
};

const memoryBlockOf = (request: RecordedRequest) => request.system.find((s) => s.startsWith("<continuum-memory>"));

test("remember in one process, injected in the next, searchable, redacted, and rebuilt after the DB is deleted", {
  timeout: 150000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [PACK_HELPERS],
    main: [
      // process 1
      { toolCalls: [{ name: "memory", args: { action: "remember", section: "Rules", text: RULE } }] },
      {
        toolCalls: [
          {
            name: "bash",
            args: { command: `echo key=${AWS_KEY}; echo PGPASSWORD=${PG_PASSWORD}`, description: "print env" },
          },
        ],
      },
      { text: "Noted the rule." },
      // process 2
      {
        toolCalls: [
          { name: "memory", args: { action: "search", query: "pnpm installs" } },
          { name: "history", args: { action: "search", query: "zebrafish" } },
        ],
      },
      { text: "Use pnpm." },
      // process 3 (after the DB was deleted)
      { toolCalls: [{ name: "memory", args: { action: "search", query: "zebrafish" } }] },
      { text: "Still pnpm." },
    ],
    exhausted: { text: "ok" },
  };
  await withOpencode({ model: modelScript }, async ({ env, model }) => {
    const first = await opencodeRun(env, "Remember this rule: always pnpm, never npm. Then print the env.");
    assert.equal(first.code, 0, first.stderr);
    const main = () => model.lane("main");
    assert.equal(main().length, 3, "process 1 made three model calls");
    assert.equal(memoryBlockOf(main()[0]!), undefined, "empty memory: no memory block");
    assert.equal(main()[0]!.system.length, 1, "…and no empty system message in its place");
    assert.ok(
      main()[0]!.tools.includes("memory") && main()[0]!.tools.includes("history"),
      `the pack's tools are offered: ${main()[0]!.tools.join(", ")}`,
    );
    assert.match(main()[1]!.raw, /Remembered as m-[a-z0-9]{8} in Rules/);
    const memoryFile = join(env.packDataDir, "projects");
    const files = execFileSync("grep", ["-rl", "zebrafish", memoryFile], { encoding: "utf8" }).trim().split("\n");
    assert.ok(
      files.some((f) => f.endsWith("/memory/MEMORY.md")),
      `rule in a MEMORY.md: ${files.join(", ")}`,
    );

    const second = await opencodeRun(env, "Which package manager do we use here?");
    assert.equal(second.code, 0, second.stderr);
    const [req1, req2] = main().slice(3, 5);
    assert.ok(req1 && req2, "process 2 made two model calls");
    const block1 = memoryBlockOf(req1);
    assert.ok(
      block1,
      `a memory system message in the first request (system: ${req1.system.map((s) => s.slice(0, 40)).join(" | ")})`,
    );
    assert.ok(block1.includes(RULE), "the rule is in the memory block");
    assert.ok(!req1.system[0]!.startsWith("<continuum-memory>"), "system[0] is OpenCode's own");
    assert.equal(memoryBlockOf(req2), block1, "the block is byte-identical on the second request");
    assert.match(req2.raw, /memory entr(y|ies) for \\"pnpm installs\\"[^]*zebrafish/, "memory search found the rule");
    assert.match(req2.raw, /history hits? for \\"zebrafish\\"/, "history search found the earlier conversation");
    for (const helper of model.lane("pack-helpers"))
      assert.equal(memoryBlockOf(helper), undefined, "the pack's helper sessions get no memory block");
    for (const title of model.lane("title"))
      assert.equal(memoryBlockOf(title), undefined, "OpenCode's title helper gets no memory block");

    const leaked = grepLeaks(env.packDataDir, [AWS_KEY, PG_PASSWORD]);
    assert.deepEqual(leaked, [], "no secret under the data dir");
    assert.ok(
      grepLeaks(env.packDataDir, ["[REDACTED:aws-key]"]).length > 0,
      "the history index holds the redacted tool output",
    );

    for (const suffix of ["", "-wal", "-shm"]) rmSync(join(env.packDataDir, `continuum.db${suffix}`), { force: true });
    const third = await opencodeRun(env, "Remind me of the zebrafish convention.");
    assert.equal(third.code, 0, third.stderr);
    const [req3, req4] = main().slice(5, 7);
    assert.ok(existsSync(join(env.packDataDir, "continuum.db")));
    assert.ok(memoryBlockOf(req3!)?.includes(RULE), "the rule is injected again from the files");
    assert.match(req4!.raw, /zebrafish/);
    assert.ok(readFileSync(files.find((f) => f.endsWith("MEMORY.md"))!, "utf8").includes(RULE));
  });
});

function grepLeaks(dir: string, needles: string[]): string[] {
  try {
    const args = ["-rlaF", ...needles.flatMap((n) => ["-e", n]), dir];
    return execFileSync("grep", args, { encoding: "utf8" }).trim().split("\n").filter(Boolean);
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

const STAGING_FACT =
  "The staging database lives on db-stage-2 port 5433; connect through the bastion jump-stage with your own key, never the shared deploy key, and keep sessions under an hour";

test("hand-written memory: recall adds what the block left out and nothing for an unrelated message; memory note, /memory, history around and history get", {
  timeout: 90000,
}, async () => {
  await withOpencode(
    {
      model: { lanes: [PACK_HELPERS], exhausted: { text: "ok" } },
      env: { continuumConfig: { memory: { injectBudgetTokens: 400 } } },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      const projectMemory = projectMemoryFile(env);
      const filler = Array.from(
        { length: 30 },
        (_, i) => `- Lorem ipsum item ${i} dolor sit amet consectetur adipiscing elit sed do`,
      ).join("\n");
      mkdirSync(dirname(projectMemory), { recursive: true });
      writeFileSync(
        projectMemory,
        `# Project memory\n\n## Rules\n\n- Use tabs in Makefiles\n\n## Discovered durable knowledge\n\n${filler}\n- ${STAGING_FACT}\n`,
      );

      await send(served, session, "hello there");
      await served.waitForIdle(session, 1, 30000);
      const first = model.lane("main").at(-1)!;
      const block = memoryBlockOf(first);
      assert.ok(block?.includes("Use tabs in Makefiles"), "hand-written rule injected");
      // The fact is ranked last and is longer than any filler entry, so whatever room the header's temp paths leave,
      // it cannot slip into the gap after the last filler that fits. The omitted-titles list may still name it.
      const [shownEntries, notShown] = block!.split("## Not shown");
      assert.ok(notShown !== undefined, "the block lists what it left out");
      assert.ok(!shownEntries!.includes("db-stage-2"), "the staging fact did not fit the small block");

      await send(served, session, "Please connect to the staging database");
      await served.waitForIdle(session, 2, 30000);
      const second = model.lane("main").at(-1)!;
      assert.match(second.raw, /<continuum-recall>[^]*db-stage-2 port 5433/, "recall part reached the model");
      assert.equal(memoryBlockOf(second), block, "block unchanged within the session");

      model.push(
        "main",
        {
          toolCalls: [{ name: "memory", args: { action: "note", text: "Checked db-stage-2: replication is healthy" } }],
        },
        { text: "noted" },
      );
      await send(served, session, "Note what you found");
      await served.waitForIdle(session, 3, 30000);
      const notes = join(dirname(dirname(projectMemory)), "sessions", session, "notes.md");
      assert.match(
        readFileSync(notes, "utf8"),
        /## \[turn 3 · [^\]]+\]\nChecked db-stage-2: replication is healthy/,
        "memory note wrote the session's notes.md",
      );

      await send(served, session, "write a haiku about autumn leaves");
      await served.waitForIdle(session, 4, 30000);
      const third = model.lane("main").at(-1)!;
      assert.equal((third.raw.match(/<continuum-recall>/g) ?? []).length, 1, "no recall for an unrelated message");
      assert.ok(third.lastUserText.includes("haiku"));

      const before = model.lane("main").length;
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "memory", arguments: "" },
      });
      assert.ok(!ran.error, JSON.stringify(ran.error));
      assert.equal(model.lane("main").length, before, "/memory made no model call");
      const report = (await shownAnswers(served.client, session)).join("\n");
      assert.match(
        report,
        /## Memory \(opencode-continuum\)[^]*Injected in this session: \d+ entries, \d+ of 400 tokens/,
      );
      assert.ok(report.includes(projectMemory), "the report says where the file is");
      await served.waitForIdle(session, 5, 30000);

      const indexed = await until(
        () => historyRow(env, "staging database"),
        10000,
        "the user's message in the history index",
      );
      model.push(
        "main",
        {
          toolCalls: [
            { name: "history", args: { action: "around", id: indexed.message_id } },
            { name: "history", args: { action: "get", id: indexed.part_id, length: 20 } },
          ],
        },
        { text: "shown" },
      );
      const beforeHistory = model.lane("main").length;
      await send(served, session, "Show me where we talked about it");
      await served.waitForIdle(session, 6, 30000);
      const shown = model.lane("main")[beforeHistory + 1]!.raw;
      assert.ok(shown.includes(`▶ message ${indexed.message_id} (user)`), "history around marks the message");
      assert.ok(
        shown.includes(`part ${indexed.part_id} of message ${indexed.message_id} (user), characters 0-20 of`),
        "history get slices the part",
      );
    },
  );
});

/** The project id is OpenCode's (the root commit), so the project MEMORY.md path is known before any start. */
/** Reads the pack's history index directly (Node side, better-sqlite3) to learn real part and message ids. */
function historyRow(env: IsolatedEnv, phrase: string): { part_id: string; message_id: string } | undefined {
  const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  const db = new Driver(join(env.packDataDir, "continuum.db"), { readonly: true });
  try {
    return db
      .prepare("SELECT part_id, message_id FROM history_parts WHERE role = 'user' AND text LIKE ? LIMIT 1")
      .get(`%${phrase}%`) as { part_id: string; message_id: string } | undefined;
  } finally {
    db.close();
  }
}

function projectMemoryFile(env: IsolatedEnv): string {
  const rootCommit = execFileSync("git", ["rev-list", "--max-parents=0", "HEAD"], {
    cwd: env.projectDir,
    encoding: "utf8",
  }).trim();
  return join(env.packDataDir, "projects", rootCommit, "memory", "MEMORY.md");
}

test("two OpenCode processes remembering into the same MEMORY.md at once lose nothing", {
  timeout: 90000,
}, async () => {
  const animals = [
    "otter",
    "lynx",
    "heron",
    "badger",
    "marmot",
    "ibex",
    "gecko",
    "walrus",
    "puffin",
    "tapir",
    "okapi",
    "narwhal",
  ];
  const modelScript: ModelScript = {
    lanes: [PACK_HELPERS],
    main: (request) => {
      if (request.raw.includes('"role":"tool"')) return { text: "remembered" };
      const half = request.lastUserText.includes("process A") ? animals.slice(0, 6) : animals.slice(6);
      return {
        toolCalls: half.map((animal) => ({
          name: "memory",
          args: {
            action: "remember",
            section: "Discovered durable knowledge",
            text: `The ${animal} fixture seeds the ${animal} table`,
          },
        })),
      };
    },
  };
  await withOpencode({ model: modelScript }, async ({ env }) => {
    const [a, b] = await Promise.all([
      opencodeRun(env, "process A: remember your six facts"),
      opencodeRun(env, "process B: remember your six facts"),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const file = projectMemoryFile(env);
    const text = readFileSync(file, "utf8");
    for (const animal of animals) assert.ok(text.includes(`The ${animal} fixture`), `${animal} entry kept`);
    assert.equal((text.match(/<!-- id:m-/g) ?? []).length, 12);
  });
});

test("hostile tool arguments in the real host: each call gets a clear message naming the argument, nothing crashes, nothing floods", {
  timeout: 90000,
}, async () => {
  const huge = "q".repeat(100_000);
  const calls: (ScriptedToolCall & { expect: RegExp })[] = [
    {
      id: "c_num",
      name: "memory",
      args: { action: "remember", section: "Rules", text: 12345 },
      expect: /text: expected string, got number 12345/,
    },
    {
      id: "c_null",
      name: "memory",
      args: { action: "remember", section: "Rules", text: null },
      expect: /text: required for action "remember"/,
    },
    {
      id: "c_bare",
      name: "memory",
      args: {},
      rawArguments: JSON.stringify("remember pnpm"),
      expect: /must be an object with named fields|action: required/,
    },
    {
      id: "c_query",
      name: "memory",
      args: { action: "search", query: 5 },
      expect: /query: expected string, got number 5/,
    },
    {
      id: "c_scope",
      name: "memory",
      args: { action: "search", query: "x", scope: "../../../tmp" },
      expect: /scope: .*got a string of 12 characters/,
    },
    {
      id: "c_mode",
      name: "memory",
      args: { action: "search", query: "x", mode: "xor", limit: -1 },
      expect: /mode: [^]*limit: /,
    },
    {
      id: "c_limit",
      name: "history",
      args: { action: "search", query: "x", limit: "ten" },
      expect: /limit: expected number, got a string of 3 characters "ten"/,
    },
    {
      id: "c_huge",
      name: "memory",
      args: { action: "search", query: huge },
      expect: /query: .*got a string of 100000 characters "q{40}… \(99960 more\)"/,
    },
    {
      id: "c_huge_h",
      name: "history",
      args: { action: "search", query: huge },
      expect: /query: .*got a string of 100000 characters/,
    },
    {
      id: "c_task",
      name: "tasks",
      args: { action: "create", title: 7 },
      expect: /title: expected string, got number 7/,
    },
    { id: "c_extra", name: "tasks", args: { action: "list", bogus: 1 }, expect: /unknown argument "bogus"/ },
  ];
  // Counted as output, the two 100,000-character arguments are 100,000 tokens: OpenCode would compact before the
  // results reach the model. This test is about validation, so the call reports a small usage of its own.
  await withOpencode(
    {
      model: {
        lanes: [PACK_HELPERS],
        main: [{ toolCalls: calls, usage: { prompt_tokens: 9000, completion_tokens: 200 } }, { text: "done" }],
        exhausted: { text: "ok" },
      },
    },
    async ({ env, model }) => {
      const run = await opencodeRun(env, "Use the memory tools.", { json: true });
      assert.equal(run.code, 0, run.stderr);
      const after = model.lane("main")[1];
      assert.ok(after, "the model was called again with the tool results");
      const results = new Map(
        after.body.messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, contentText(m)]),
      );
      for (const call of calls) {
        const result = results.get(call.id);
        assert.ok(result !== undefined, `a result for ${call.id}`);
        assert.match(result, /Invalid arguments for (memory|history|tasks)/, `${call.id}: ${result.slice(0, 300)}`);
        assert.match(result, call.expect, `${call.id}: ${result.slice(0, 300)}`);
        assert.ok(result.length < 1000, `${call.id}: a short answer (${result.length} chars)`);
        assert.doesNotMatch(result, /is not a function|datatype mismatch|failed inside opencode-continuum/);
      }
      const errors = run.events.filter((e) => e.type === "error" || (e as { type?: string }).type === "session.error");
      assert.deepEqual(errors, [], "no session error");
      // The history index keeps the calls as sent (that is its job); no memory file was written from a refused call.
      const written = grepLeaks(env.packDataDir, ["12345", "remember pnpm"]).filter((file) => file.endsWith(".md"));
      assert.deepEqual(written, [], "no memory file holds a refused call's text");
    },
  );
});
