// Every past session searchable, in real OpenCode: sessions run before the pack was installed (OpenCode's own session
// store on disk) are indexed in the background after the first start with the pack, while the user's session goes on
// answering; the model's history search then finds them, and never the search itself.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import {
  isCheckpointWriterRequest,
  isGoalJudgeRequest,
  type Lane,
  type ModelScript,
} from "../harness/scripted-model.ts";
import { spawnSync } from "node:child_process";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { opencodeRun, killAll } from "../harness/opencode.ts";
import { createSession, persistentDb, send, until } from "../harness/session.ts";
import { installPack } from "../harness/install.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

const PACK_HELPERS: Lane = {
  name: "pack-helpers",
  match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
  replies: () => ({ text: "ok" }),
};

function historyCount(env: IsolatedEnv, phrase: string): number {
  const Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  try {
    const db = new Driver(join(env.packDataDir, "continuum.db"), { readonly: true });
    try {
      return (
        db.prepare("SELECT COUNT(*) AS n FROM history_parts WHERE text LIKE ?").get(`%${phrase}%`) as { n: number }
      ).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // no database yet
  }
}

test("sessions stored before the install become searchable after the first start, without waiting or a restart", {
  timeout: 150000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [PACK_HELPERS],
    main: [
      { text: "Noted: the albatross release goes out blue-green on Thursdays." },
      { text: "Noted: the cormorant cache is flushed nightly." },
    ],
    exhausted: { text: "ok" },
  };
  await withOpencode({ model: modelScript, install: false }, async ({ env, model, serve }) => {
    // Two sessions with no pack installed: OpenCode alone stores them.
    for (const prompt of [
      "Remember that the albatross release is blue-green on Thursdays",
      "The cormorant cache is flushed nightly",
    ]) {
      const ran = await opencodeRun(env, prompt, { extraEnv: persistentDb(env) });
      assert.equal(ran.code, 0, ran.stderr);
    }
    assert.equal(historyCount(env, "albatross"), 0, "nothing indexed without the pack");

    installPack(env);
    let served = await serve({ extraEnv: persistentDb(env) });
    const session = await createSession(served);
    // The user's session answers at once, while the stored sessions are read in the background.
    await send(served, session, "hello");
    await served.waitForIdle(session, 1, 30000);
    await until(
      () => historyCount(env, "albatross release") >= 2 && historyCount(env, "cormorant") >= 2,
      30000,
      "the stored sessions in the history index",
    );

    model.push(
      "main",
      { toolCalls: [{ name: "history", args: { action: "search", query: "when does the albatross release go out" } }] },
      { text: "Thursdays." },
    );
    const before = model.lane("main").length;
    await send(served, session, "When does the albatross release go out?");
    await served.waitForIdle(session, 2, 30000);
    const answer = model.lane("main")[before + 1]!.raw;
    assert.match(answer, /history hits? for \\"when does the albatross release go out\\"/, "the search ran");
    assert.ok(answer.includes("blue-green on Thursdays"), "the session from before the install is found");
    assert.ok(!/tool history/.test(answer), "no hit is a history call");
  });
});

test("continuum history reindex reads the stored sessions into the index through OpenCode's API", {
  timeout: 150000,
}, async () => {
  await withOpencode(
    {
      model: {
        lanes: [PACK_HELPERS],
        main: [{ text: "Noted: the puffin migration runs at dawn." }],
        exhausted: { text: "ok" },
      },
      install: false,
    },
    async ({ env }) => {
      const ran = await opencodeRun(env, "The puffin migration runs at dawn", { extraEnv: persistentDb(env) });
      assert.equal(ran.code, 0, ran.stderr);
      const launcher = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
      const cli = spawnSync(process.execPath, [launcher, "history", "reindex", "--json"], {
        cwd: env.projectDir,
        env: { ...env.env, ...persistentDb(env) },
        encoding: "utf8",
        timeout: 120000,
      });
      assert.equal(cli.status, 0, cli.stderr);
      const result = JSON.parse(cli.stdout) as { sessions: number; parts: number };
      assert.equal(result.sessions, 1);
      assert.ok(result.parts >= 2, `user and assistant text indexed: ${cli.stdout}`);
      assert.equal(historyCount(env, "puffin migration"), 2);
    },
  );
});
