// Every user-facing pack tool (memory, history, tasks) called the way OpenCode 1.18.33 calls it: with whatever the
// model sent, unvalidated. Hostile arguments get a clear input error naming the argument, never a crash; every
// output is capped and echoed input is abbreviated. Property tests feed arbitrary JSON to every tool.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ToolInputError } from "../../plugins/core/tool.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import type { PackTool, ToolCallContext } from "../../plugins/core/tool.ts";
import { memoryTools } from "../../plugins/memory/tools.ts";
import { openTaskStore } from "../../plugins/tasks/store.ts";
import { tasksTool } from "../../plugins/tasks/tool.ts";
import { memoryFixture } from "./helpers/memory-fixture.ts";

const ctx: ToolCallContext = {
  sessionID: "ses_main",
  messageID: "msg_1",
  agent: "build",
  abort: new AbortController().signal,
};

async function setup() {
  const f = await memoryFixture();
  const notices: string[] = [];
  const memory = memoryTools({
    service: f.service,
    history: undefined,
    db: f.db,
    projectId: "proj-1",
    turnOf: () => 1,
    notify: (m) => notices.push(m),
  });
  const taskDb = await openDatabase(":memory:");
  const progress: string[] = [];
  const tasks = tasksTool({
    store: openTaskStore(taskDb),
    ownerOf: async (id) => id,
    appendProgress: (_owner, taskId, entry) => (progress.push(`${taskId}: ${entry}`), `/tmp/${taskId}/progress.md`),
  });
  const tools: Record<string, PackTool> = { memory: memory.memory!, history: memory.history!, tasks };
  return { f, tools, notices, progress, cleanup: () => (f.cleanup(), taskDb.close()) };
}

/** The message of the input error a call must end in. */
async function inputError(tool: PackTool, args: unknown): Promise<string> {
  try {
    const out = await tool.execute(args, ctx);
    assert.fail(`expected an input error for ${JSON.stringify(args)?.slice(0, 100)}, got: ${out.slice(0, 200)}`);
  } catch (error) {
    assert.ok(
      error instanceof ToolInputError,
      `a ToolInputError, not ${(error as Error).name}: ${(error as Error).message}`,
    );
    return error.message;
  }
}

test("memory: wrong types, null, a bare string, extra keys and out-of-range values are named, never a crash", async () => {
  const { tools, cleanup } = await setup();
  try {
    const memory = tools.memory!;
    assert.match(
      await inputError(memory, { action: "remember", section: "Rules", text: 12345 }),
      /text: expected string, got number 12345/,
    );
    assert.match(
      await inputError(memory, { action: "remember", section: "Rules", text: null }),
      /text: required for action "remember"/,
    );
    assert.match(await inputError(memory, { action: "search", query: 5 }), /query: expected string, got number 5/);
    assert.match(
      await inputError(memory, "pnpm"),
      /the arguments must be an object with named fields, got a string of 4 characters "pnpm"/,
    );
    assert.match(
      await inputError(memory, { action: "search", query: "x", scope: "../../../tmp" }),
      /scope: .*"session".*got a string of 12 characters "..\/..\/..\/tmp"/,
    );
    assert.match(
      await inputError(memory, { action: "search", query: "x", mode: "xor" }),
      /mode: .*"any".*got a string of 3 characters "xor"/,
    );
    assert.match(await inputError(memory, { action: "search", query: "x", limit: -1 }), /limit: .*>=1.*got number -1/);
    assert.match(
      await inputError(memory, { action: "search", query: "x", limit: 2.5 }),
      /limit: expected int, got number 2.5/,
    );
    assert.match(await inputError(memory, { action: "search", query: "x", bogus: true }), /unknown argument "bogus"/);
    assert.match(await inputError(memory, { query: "x" }), /action: required/);
    assert.match(
      await inputError(memory, { action: "explode" }),
      /action: .*"search".*got a string of 7 characters "explode"/,
    );
    assert.match(await inputError(memory, { action: "forget" }), /id: required for action "forget"/);
    assert.match(
      await inputError(memory, { action: "search", query: "x", section: "Rules" }),
      /section: not used by action "search" \(it takes query, scope, mode, limit\)/,
    );
    assert.match(
      await inputError(memory, { action: "remember", section: "Rules", text: "x", scope: "session" }),
      /scope: remember takes "project" or "global"/,
    );
    assert.match(
      await inputError(memory, { action: "remember", section: "Rules", text: "x".repeat(2500) }),
      /text: an entry holds at most 2000 characters, got 2500/,
    );
    assert.match(
      await inputError(memory, { action: "remember", section: "Gossip", text: "x" }),
      /unknown section "Gossip" for project memory; use one of: .*Rules/,
    );
    assert.match(await inputError(memory, [1, 2]), /must be an object with named fields, got an array of 2/);
    // A model that sends its arguments as a JSON string is understood.
    assert.match(
      await memory.execute(JSON.stringify({ action: "note", text: "checked the cache" }), ctx),
      /Noted under turn 1/,
    );
  } finally {
    cleanup();
  }
});

test("history and tasks: wrong types and missing fields are named before any query runs", async () => {
  const { tools, cleanup } = await setup();
  try {
    assert.match(
      await inputError(tools.history!, { action: "search", query: "x", limit: "ten" }),
      /limit: expected number, got a string of 3 characters "ten"/,
    );
    assert.match(await inputError(tools.history!, { action: "get" }), /id: required for action "get"/);
    assert.match(await inputError(tools.history!, { action: "get", id: "prt_1", length: 100000 }), /length: .*<=8000/);
    assert.match(
      await inputError(tools.history!, { action: "around", id: "msg_x", offset: 3 }),
      /offset: not used by action "around"/,
    );
    assert.match(
      await inputError(tools.history!, { action: "around", id: "msg_nope" }),
      /no message msg_nope in this project's history/,
    );
    const tasks = tools.tasks!;
    assert.match(await inputError(tasks, { action: "create" }), /title: required for action "create"/);
    assert.match(await inputError(tasks, { action: "create", title: 7 }), /title: expected string, got number 7/);
    assert.match(
      await inputError(tasks, { action: "create", title: "t".repeat(5000) }),
      /title: .*<=200.*got a string of 5000 characters/,
    );
    assert.match(await inputError(tasks, { action: "block", id: "T1" }), /note: required for action "block"/);
    assert.match(
      await inputError(tasks, { action: "list", id: "T1" }),
      /id: not used by action "list" \(it takes no other argument\)/,
    );
    assert.match(await inputError(tasks, "list"), /must be an object/);
    assert.match(await inputError(tasks, { action: "start", id: "../../etc" }), /"..\/..\/etc" is not a task id/);
    assert.match(await inputError(tasks, { action: "start", id: "T9" }), /T9/);
    assert.match(
      await tasks.execute({ action: "create", title: "Write the parser", parent: null }, ctx),
      /created T1 Write the parser/,
    );
    assert.match(await tasks.execute({ action: "start", id: "T1", note: "on it" }, ctx), /T1 is now in_progress/);
  } finally {
    cleanup();
  }
});

test("unbounded output: a 100,000-character query is refused without being echoed, long queries come back abbreviated", async () => {
  const { tools, cleanup } = await setup();
  try {
    const huge = "q".repeat(100_000);
    for (const name of ["memory", "history"] as const) {
      const message = await inputError(tools[name]!, { action: "search", query: huge });
      assert.ok(message.length < 600, `${name}: the error is short (${message.length} chars)`);
      assert.match(message, /query: .*<=2000.*got a string of 100000 characters "q{40}… \(99960 more\)"/);
      const long = "zebrafish ".repeat(200).trim();
      const out = await tools[name]!.execute({ action: "search", query: long }, ctx);
      assert.ok(out.length < 600, `${name}: a 2,000-character query is not repeated back (${out.length} chars)`);
      assert.ok(out.includes("… ("), `${name}: the echo says how much was left out`);
    }
  } finally {
    cleanup();
  }
});

test("output is capped: search results, history slices and task lists stay bounded however much is stored", async () => {
  const { f, tools, cleanup } = await setup();
  try {
    for (let i = 0; i < 60; i++)
      await f.service.remember({
        section: "knowledge",
        text: `walrus fact ${i}: ${"lorem ipsum dolor ".repeat(100).slice(0, 1900)}`,
        sessionId: "s",
      });
    const out = await tools.memory!.execute({ action: "search", query: "walrus", limit: 50 }, ctx);
    assert.ok(out.length <= 8500, `search output ${out.length} chars`);
    for (let i = 0; i < 80; i++)
      await tools.tasks!.execute({ action: "create", title: `task ${i} ${"x".repeat(180)}` }, ctx);
    const list = await tools.tasks!.execute({ action: "list" }, ctx);
    assert.ok(list.length <= 16_000, `task list ${list.length} chars`);
  } finally {
    cleanup();
  }
});

test("memory tool: the four actions keep their behaviour (search, remember with dedupe, forget, note)", async () => {
  const { f, tools, notices, cleanup } = await setup();
  try {
    const memory = tools.memory!;
    const remembered = await memory.execute(
      { action: "remember", section: "Rules", text: "Always use pnpm, never npm" },
      ctx,
    );
    const id = /Remembered as (m-[a-z0-9]{8}) in Rules/.exec(remembered)?.[1];
    assert.ok(id, remembered);
    assert.deepEqual(notices, ["remembered in Rules: Always use pnpm, never npm"]);
    assert.match(
      await memory.execute({ action: "remember", section: "rules", text: "always use pnpm, never npm." }, ctx),
      new RegExp(`Already in memory as ${id}`),
    );
    assert.match(
      await memory.execute({ action: "search", query: "pnpm", scope: "project", mode: "all", limit: 5 }, ctx),
      new RegExp(`1 memory entry for "pnpm"[^]*\\[${id}\\]`),
    );
    assert.match(await memory.execute({ action: "search", query: '"*' }, ctx), /has no searchable words/);
    assert.match(
      await memory.execute({ action: "note", text: "replication healthy" }, ctx),
      /Noted under turn 1 in .*notes\.md/,
    );
    assert.match(
      await memory.execute({ action: "search", query: "replication", scope: "session" }, ctx),
      /replication healthy/,
    );
    assert.match(await memory.execute({ action: "forget", id }, ctx), new RegExp(`Removed ${id} from .*MEMORY\\.md`));
    assert.match(await inputError(memory, { action: "forget", id }), new RegExp(`no memory entry with id "${id}"`));
    assert.equal(f.service.search({ query: "pnpm", scope: "all" }).hits.length, 0);
  } finally {
    cleanup();
  }
});

/** Per action, the arguments it uses: calls built from these pass validation and reach the stores. */
const USES: Record<string, Record<string, string[]>> = {
  memory: {
    search: ["query", "scope", "mode", "limit"],
    remember: ["section", "text", "scope"],
    forget: ["id"],
    note: ["text"],
  },
  history: { search: ["query", "limit"], around: ["id"], get: ["id", "offset", "length"] },
  tasks: {
    create: ["title", "parent"],
    list: [],
    get: ["id"],
    start: ["id"],
    block: ["id", "note"],
    unblock: ["id"],
    done: ["id", "note"],
    abandon: ["id", "note"],
    rename: ["id", "title"],
    progress: ["id", "note"],
  },
};
const NUMERIC = new Set(["limit", "offset", "length"]);
const ENUMS: Record<string, string[]> = {
  scope: ["session", "project", "global", "all"],
  mode: ["any", "all"],
  section: ["Rules", "rules", "Preferences", "Gossip", "Project context"],
};

/** Well-typed calls with hostile content: any Unicode (control characters, other scripts), FTS5 operators, odd ids. */
function wellTyped(tool: string) {
  const text = fc.oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.constantFrom(
      '"',
      "*",
      "NEAR",
      "-",
      "AND OR NOT",
      "ﾃｽﾄ 東京 ภาษาไทย",
      "T1",
      "T1.2",
      "m-00000000",
      "../..",
      "\u0000x\u0007",
    ),
  );
  const valueFor = (key: string) =>
    NUMERIC.has(key) ? fc.integer({ min: 0, max: 60 }) : ENUMS[key] ? fc.constantFrom(...ENUMS[key]!) : text;
  return fc.constantFrom(...Object.keys(USES[tool]!)).chain((action) => {
    const keys = USES[tool]![action]!;
    return fc
      .record(Object.fromEntries(keys.map((key) => [key, valueFor(key)])), { requiredKeys: [] })
      .map((rest) => ({ action, ...rest }));
  });
}

/** Arbitrary arguments: anything JSON, or an object over the tool's own argument names with arbitrary values. */
function argsFor(toolName: string, tool: PackTool, actions: readonly string[]) {
  const names = Object.keys(tool.args);
  const value = fc.oneof(
    fc.jsonValue(),
    fc.string({ maxLength: 3000 }),
    fc.constantFrom(...actions, "T1", "T1.2", "m-00000000", "../../x", "\u0000", "", -1, 0, 1e12, 2.5, null),
  );
  const typed = fc.oneof(
    value,
    fc.string({ maxLength: 60 }),
    fc.integer({ min: -5, max: 60 }),
    fc.constantFrom("T1", "Rules", "project", "all", "any"),
  );
  const shaped = fc.dictionary(fc.constantFrom(...names, "extra"), fc.oneof(value, typed), { maxKeys: 4 });
  const withAction = fc.tuple(fc.constantFrom(...actions), shaped).map(([action, rest]) => ({ ...rest, action }));
  return fc.oneof(fc.jsonValue(), fc.json(), shaped, withAction, wellTyped(toolName), wellTyped(toolName));
}

test("property: on arbitrary JSON every tool either answers within its cap or throws a clear input error", async () => {
  const { tools, cleanup } = await setup();
  try {
    const actions: Record<string, readonly string[]> = {
      memory: ["search", "remember", "forget", "note"],
      history: ["search", "around", "get"],
      tasks: ["create", "list", "get", "start", "block", "unblock", "done", "abandon", "rename", "progress"],
    };
    for (const [name, tool] of Object.entries(tools)) {
      let answered = 0;
      await fc.assert(
        fc.asyncProperty(argsFor(name, tool, actions[name]!), async (args) => {
          try {
            const out = await tool.execute(args, ctx);
            answered++;
            assert.equal(typeof out, "string");
            assert.ok(out.length <= 16_000, `${name} output ${out.length} chars`);
          } catch (error) {
            assert.ok(
              error instanceof ToolInputError,
              `${name}(${JSON.stringify(args)?.slice(0, 200)}) threw ${(error as Error).name}: ${(error as Error).message}`,
            );
            assert.ok(error.message.length <= 2000, `${name}: error message ${error.message.length} chars`);
            assert.ok(
              !/undefined|is not a function|\[object Object\]/.test(error.message),
              `${name}: clear message: ${error.message}`,
            );
          }
        }),
        { numRuns: 300, seed: 8 },
      );
      assert.ok(answered >= 10, `${name}: valid calls were generated too (${answered} of 300 answered)`);
    }
  } finally {
    cleanup();
  }
});
