// Chaos in the real host: the scripted model's chaos mode (test/harness/chaos.ts) sends every pack tool random and
// hostile arguments, seeded, over two `opencode serve` processes with hand damage to the memory files in between
// (a NUL byte, invalid UTF-8, a truncated file, nonsense markdown). Asserted: no session error, no failure or stack
// trace of the pack in OpenCode's log, every result a clear answer (never a crash text), every entry reported as
// remembered found again by `memory search` (before and after the restart), no file outside the pack's data dir
// changed, and the database passes SQLite's integrity check. A failure names the seeds; rerun them with
// CHAOS_SEEDS=<a,b,c> node test/run.mjs e2e chaos (CHAOS_CALLS sets the calls per seed and process).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  closeSync,
  existsSync,
  mkdirSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { execFileSync } from "node:child_process";
import type BetterSqlite3 from "better-sqlite3";
import {
  isCheckpointWriterRequest,
  isGoalJudgeRequest,
  type ScriptedToolCall,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { killAll, type Served } from "../harness/opencode.ts";
import { snapshotTree } from "../harness/snapshot.ts";
import { chaosDriver, INTERNAL_TOOLS, newChaosState, prng, type ChaosState, type Rng } from "../harness/chaos.ts";
import { createSession, persistentDb, send } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

const SEEDS = (process.env.CHAOS_SEEDS ?? "1,2,3").split(",").map((s) => Number(s.trim()));
const CALLS = Number(process.env.CHAOS_CALLS ?? 150);
const BATCH = 20;
/** The seed number of the read-back turns (not chaos: one search per remembered entry). */
const READBACK = -1;
const REPRODUCE = `CHAOS_SEEDS=${SEEDS.join(",")} CHAOS_CALLS=${CALLS} node test/run.mjs e2e chaos`;

/** Texts in a tool result that mean the pack crashed instead of answering. */
const CRASH =
  /failed inside opencode-continuum|is not a function|is not an object|Cannot read propert|undefined is not|TypeError|RangeError|ReferenceError|SQLITE_|datatype mismatch|database disk image|closed database|Maximum call stack/;

test(`chaos: seeds ${SEEDS.join(", ")}, ${CALLS} hostile calls per seed in each of two OpenCode processes, hand damage in between`, {
  timeout: 240000,
}, async () => {
  const state = newChaosState();
  const driver = chaosDriver(state);
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "pack-helpers",
        match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
        replies: () => ({ text: "ok" }),
      },
    ],
    main: (request) => driver.respond(request),
    exhausted: { text: "ok" },
  };
  // A window large enough that hundreds of results never start a rebuild: the tools are under test here.
  const setup = { context: 2_000_000, output: 32000, continuumConfig: { tasks: { gate: false } } };
  await withOpencode({ model: modelScript, env: setup }, async ({ env, serve, defer }) => {
    const served: Served[] = [];
    const log = (line: string) => process.env.CONTINUUM_E2E_DEBUG && console.log(`[chaos] ${line}`);
    defer(() => {
      if (process.env.CONTINUUM_E2E_DEBUG) {
        writeFileSync(join(env.root, "chaos-results.json"), JSON.stringify(driver.results, null, 1));
        served.forEach((server, i) => writeFileSync(join(env.root, `opencode-${i + 1}.log`), server.output()));
        served.forEach((server, i) =>
          writeFileSync(join(env.root, `events-${i + 1}.json`), JSON.stringify(server.events.slice(-200), null, 1)),
        );
      }
    });
    const outside = () => ({
      project: snapshotTree(env.projectDir),
      config: snapshotTree(env.configHome),
      home: snapshotTree(env.home),
    });
    const before = outside();
    const sessions = new Map<number, string>();
    const turn = async (server: Served, session: string, begin: () => void, prompt: string) => {
      begin();
      // Idles are counted per process: a restarted server starts from none.
      const idles = server.events.filter((e) => e.type === "session.idle" && e.properties.sessionID === session).length;
      await send(server, session, prompt);
      await idleOrAsked(server, session, idles + 1);
    };

    // Process 1: each seed in its own session.
    const started = Date.now();
    served.push(await serve({ extraEnv: persistentDb(env) }));
    for (const seed of SEEDS) {
      const session = await createSession(served[0]!);
      sessions.set(seed, session);
      await turn(
        served[0]!,
        session,
        () => driver.begin({ seed, rng: prng(seed), calls: CALLS, batch: BATCH }),
        `chaos round 1 of seed ${seed}`,
      );
    }
    await readBack(served[0]!, "process 1");
    await served[0]!.stop();
    log(
      `process 1: ${driver.results.length} results, ${state.remembered.size} remembered, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    // Hand damage while no OpenCode runs, then a second process that also lets the main agent see the internal
    // tools (a user rule that allows them), so their own refusal is what answers.
    const damage = damageMemoryFiles(env, prng(SEEDS[0]! ^ 0x5eed), state);
    log(
      `damage: ${damage.strayBytes.length} files with stray bytes, ${damage.lost.length} remembered entries cut off by the truncation`,
    );
    const restartedAt = driver.results.length;
    const allowInternal = JSON.stringify({
      permission: Object.fromEntries(INTERNAL_TOOLS.map((tool) => [tool, "allow"])),
    });
    served.push(await serve({ extraEnv: { ...persistentDb(env), OPENCODE_CONFIG_CONTENT: allowInternal } }));
    for (const seed of SEEDS) {
      const session = sessions.get(seed)!;
      await turn(
        served[1]!,
        session,
        () => driver.begin({ seed, rng: prng(seed * 7919 + 1), calls: CALLS, batch: BATCH }),
        `chaos round 2 of seed ${seed}`,
      );
    }
    await readBack(served[1]!, "process 2");
    await served[1]!.stop();
    log(
      `process 2: ${driver.results.length} results in all, ${state.remembered.size} remembered, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    // Every call answered, every answer a clear one.
    const random = driver.results.filter((r) => r.seed !== READBACK);
    assert.ok(
      random.length >= 300 || CALLS * SEEDS.length * 2 < 300,
      `at least 300 chaos calls answered (got ${random.length})`,
    );
    assert.deepEqual(driver.unanswered(), [], "every call got a result");
    // Not a run of refusals only: some calls of each kind did their work.
    const worked = (pattern: RegExp) => random.filter((r) => pattern.test(r.text)).length;
    const done = {
      remembered: worked(/^Remembered as/),
      removed: worked(/^Removed m-/),
      noted: worked(/^Noted under/),
      searched: worked(/^\d+ memory entr/),
      created: worked(/^created T/),
      history: worked(/^\d+ history hits?|^message |^part /),
    };
    log(`worked: ${JSON.stringify(done)}`);
    for (const [kind, count] of Object.entries(done))
      assert.ok(count > 0, `no call ${kind} anything: ${JSON.stringify(done)}`);
    for (const result of driver.results) {
      const where = `seed ${result.seed}, ${result.callId} ${result.name} ${JSON.stringify(result.args).slice(0, 300)}`;
      assert.doesNotMatch(result.text, CRASH, `${where}: ${result.text.slice(0, 400)}`);
      // OpenCode itself (the AI SDK's JSON parser) refuses some calls before the pack sees them, echoing the input.
      const refusedByHost = result.text.startsWith("The arguments provided to the tool are invalid");
      if (!refusedByHost)
        assert.ok(
          result.text.length <= 30000,
          `${where}: output capped (${result.text.length} characters): ${result.text.slice(0, 300)} … ${result.text.slice(-300)}`,
        );
      if ((INTERNAL_TOOLS as readonly string[]).includes(result.name)) {
        assert.doesNotMatch(
          result.text,
          /stored|recorded\.|You are done/i,
          `${where}: an internal tool did nothing for the main agent: ${result.text.slice(0, 300)}`,
        );
      }
    }
    const internal = driver.results.filter(
      (r) => (INTERNAL_TOOLS as readonly string[]).includes(r.name) && r.seed !== READBACK,
    );
    assert.ok(
      internal.some((r) =>
        /reserved for the goal judge|used only by the checkpoint writer|Invalid arguments for (checkpoint_write|goal_verdict)/.test(
          r.text,
        ),
      ),
      "with the tools allowed, the pack itself refused them",
    );

    // No session error, no failure or stack trace of the pack in either process's log.
    for (const [i, server] of served.entries()) {
      const errors = server.events.filter((e) => e.type === "session.error");
      assert.deepEqual(
        errors.map((e) => JSON.stringify(e.properties).slice(0, 300)),
        [],
        `process ${i + 1}: no session error`,
      );
      const output = server.output();
      assert.doesNotMatch(output, /failed inside opencode-continuum/, `process ${i + 1}: a pack failure in the log`);
      const stack = packStackLines(output);
      assert.deepEqual(stack, [], `process ${i + 1}: a stack trace through the pack in the log`);
      assert.doesNotMatch(output, /unhandled|uncaught/i, `process ${i + 1}: an unhandled error in the log`);
    }
    assert.equal(findFiles(env.packDataDir, "checkpoint.md").length, 0, "no checkpoint stored by a main-agent call");

    // A file damaged by hand is repaired by the first write to it, and that write says so.
    for (const file of damage.strayBytes) {
      const writes = driver.results
        .slice(restartedAt)
        .filter(
          (r) => r.text.includes(file) && /^(Remembered as|Removed|Noted under)|could not be read back/.test(r.text),
        );
      if (writes.length === 0) continue;
      assert.ok(
        writes.some((r) => r.text.includes(`${file} was repaired`)),
        `the writes to the damaged ${file} never said it was repaired: ${writes.map((r) => r.callId).join(", ")}`,
      );
    }

    // Nothing outside the pack's own data dir changed.
    const afterwards = outside();
    for (const key of ["project", "config", "home"] as const)
      assert.deepEqual(changes(before[key], afterwards[key]), [], `${key}: files changed outside the pack's dirs`);
    assert.equal(integrityCheck(env), "ok", "PRAGMA integrity_check");

    /** One turn of `memory search` calls, one per remembered entry, in a session of its own; each must find its id. */
    async function readBack(server: Served, label: string): Promise<void> {
      const expected = [...state.remembered.entries()];
      if (expected.length === 0) return;
      const calls: ScriptedToolCall[] = [];
      for (const [id, origin] of expected) {
        const line = storedLine(env, id);
        assert.ok(line, `${label}: ${id} (remembered by seed ${origin.seed}, ${origin.callId}) is in no memory file`);
        const query = searchableText(line);
        assert.ok(
          /[\p{L}\p{N}]/u.test(query),
          `${label}: ${id} (seed ${origin.seed}, ${origin.callId}) was remembered with no word to search it by: ${JSON.stringify(line).slice(0, 200)}`,
        );
        calls.push({ name: "memory", args: { action: "search", query: query.slice(0, 1500), mode: "all", limit: 50 } });
      }
      const session = await createSession(server);
      const tag = label.replace(/\W/g, "");
      driver.begin({
        seed: READBACK,
        rng: prng(0),
        calls: 0,
        batch: 25,
        script: calls.map((c, i) => ({ ...c, id: `readback_${tag}_${i}` })),
      });
      await send(server, session, `chaos read-back, ${label}`);
      await idleOrAsked(server, session, 1);
      expected.forEach(([id, origin], i) => {
        const answer = driver.results.find((r) => r.callId === `readback_${tag}_${i}`);
        assert.ok(answer, `${label}: the read-back search for ${id} was answered`);
        assert.ok(
          answer.text.includes(id),
          `${label}: memory search did not find ${id} (remembered by seed ${origin.seed}, ${origin.callId}); query ${JSON.stringify((calls[i]!.args as { query: string }).query).slice(0, 200)}: ${answer.text.slice(0, 300)}`,
        );
      });
    }
  }).catch((error: unknown) => {
    if (error instanceof Error)
      error.message = `chaos seeds ${SEEDS.join(",")} failed (reproduce: ${REPRODUCE}; the test dir is kept with KEEP_E2E_TMP=1)\n${error.message}`;
    throw error;
  });
});

/** Waits for the session's idle; a permission question (which would wait for a person forever) fails at once. */
async function idleOrAsked(server: Served, session: string, count: number, timeoutMs = 90000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const mine = (type: string) => server.events.filter((e) => e.type === type && e.properties.sessionID === session);
  for (;;) {
    const asked = mine("permission.asked")[0];
    if (asked)
      throw new Error(
        `OpenCode asked for permission "${asked.properties.permission}" (${JSON.stringify(asked.properties.patterns)}): the chaos driver must not trigger that`,
      );
    if (mine("session.idle").length >= count) return;
    if (Date.now() > deadline)
      throw new Error(
        `session ${session} went idle ${mine("session.idle").length} times in ${timeoutMs} ms, expected ${count}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The stored text of an entry: its bullet line up to the line holding its tag (outside the versions folder). */
function storedLine(env: IsolatedEnv, id: string): string | undefined {
  for (const file of findFiles(env.packDataDir, ".md")) {
    const lines = readFileSync(file, "utf8").split("\n");
    const end = lines.findIndex((l) => l.includes(`<!-- id:${id} `));
    if (end === -1) continue;
    let start = end;
    while (start > 0 && !/^ {0,3}[-*+] /.test(lines[start]!)) start--;
    return lines.slice(start, end + 1).join("\n");
  }
  return undefined;
}

/** The words of a stored line as a query: the tag, bullet and stray bytes left out. */
function searchableText(line: string): string {
  return line
    .replace(/<!--[^]*?-->/g, " ")
    .replace(/^\s*[-*+]\s+/, "")
    .replace(/[\u0000-\u001f\u007f\ufffd]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function findFiles(root: string, suffix: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const name of readdirSync(root, { recursive: true })) {
    const path = join(root, String(name));
    if (String(name).includes(".versions") || !String(name).endsWith(suffix)) continue;
    if (statSync(path).isFile()) out.push(path);
  }
  return out;
}

/**
 * A person's damage to the memory files: a NUL byte and invalid UTF-8 inside entry lines (between words, so no word
 * changes), nonsense markdown appended, the global MEMORY.md truncated mid-way. Entries whose tag the truncation cut
 * off are the test's own doing: they leave the expected set (and are returned).
 */
function damageMemoryFiles(env: IsolatedEnv, r: Rng, state: ChaosState): { strayBytes: string[]; lost: string[] } {
  const strayBytes: string[] = [];
  const rootCommit = execFileSync("git", ["rev-list", "--max-parents=0", "HEAD"], {
    cwd: env.projectDir,
    encoding: "utf8",
  }).trim();
  const project = join(env.packDataDir, "projects", rootCommit, "memory", "MEMORY.md");
  const global = join(env.packDataDir, "global", "MEMORY.md");
  const insert = (file: string, bytes: number[]) => {
    const lines = readFileSync(file).toString("latin1").split("\n");
    const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^- .*<!-- id:/.test(l));
    if (candidates.length === 0) return;
    const [line, index] = r.pick(candidates);
    lines[index] = "- " + Buffer.from([0x20, ...bytes, 0x20]).toString("latin1") + line.slice(2);
    writeFileSync(file, Buffer.from(lines.join("\n"), "latin1"));
  };
  strayBytes.push(project);
  if (existsSync(project)) {
    insert(project, [0x00]);
    insert(project, [0xff, 0xfe, 0xc3]);
  } else {
    mkdirSync(dirname(project), { recursive: true });
    writeFileSync(project, "# Project memory\n\n## Rules\n\n- hand written \u0000 rule\n");
  }
  writeFileSync(
    project,
    Buffer.concat([
      readFileSync(project),
      Buffer.from(
        "\n####### seven hashes\n|| broken | table\n<!-- id:m-zzzzzzzz\n- [link](\n\n## Rules\n\n- a second Rules section by hand\n```\nan unclosed fence\n",
      ),
    ]),
  );
  if (existsSync(global)) {
    const size = statSync(global).size;
    const fd = openSync(global, "r+");
    ftruncateSync(fd, Math.floor(size / 2) + r.int(Math.ceil(size / 2)));
    closeSync(fd);
  }
  for (const notes of findFiles(env.packDataDir, "notes.md").slice(0, 2)) {
    strayBytes.push(notes);
    writeFileSync(
      notes,
      Buffer.concat([
        readFileSync(notes),
        Buffer.from([0x0a, 0xc0, 0xaf, 0x00, 0x0a]),
        Buffer.from("## [turn x · not a date]\n<!--\n"),
      ]),
    );
  }
  const lost: string[] = [];
  for (const id of state.remembered.keys()) {
    const line = storedLine(env, id);
    if (!line || !new RegExp(`<!-- id:${id} [^\\n]*-->`).test(line)) lost.push(id);
  }
  for (const id of lost) state.remembered.delete(id);
  return { strayBytes, lost };
}

/** Stack-trace lines in OpenCode's output that run through the pack's code. */
function packStackLines(output: string): string[] {
  return output
    .split("\n")
    .filter(
      (line) =>
        /^\s+at /.test(line) &&
        (line.includes(REPO_ROOT) ||
          /opencode-continuum|\/plugins\/(core|memory|tasks|goal|checkpoint|opencode|agents|cli)\//.test(line)),
    );
}

/**
 * Files OpenCode itself writes at start, with or without the pack: its project-id cache in .git, the .gitignore it
 * puts into every config dir and the global opencode.jsonc holding only its $schema (see the README's install section).
 */
const OPENCODE_OWN = new Set([
  ".git/opencode",
  ".opencode/.gitignore",
  "opencode/.gitignore",
  "opencode/opencode.jsonc",
]);

function changes(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k] && !OPENCODE_OWN.has(k)).sort();
}

function integrityCheck(env: IsolatedEnv): string {
  const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  const db = new Driver(join(env.packDataDir, "continuum.db"), { readonly: true });
  try {
    return (db.pragma("integrity_check", { simple: true }) as string) ?? "";
  } finally {
    db.close();
  }
}
