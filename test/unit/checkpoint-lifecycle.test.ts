// The checkpoint feature keeps per-session state only in the session layer's slot: 10,000 sessions that used the
// meter, the request shaper and a writer leave nothing behind once deleted, even with their writers still running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCheckpoint } from "../../plugins/checkpoint/index.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import type { HostMessage } from "../../plugins/core/host-types.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { createSessionLayer } from "../../plugins/core/sessions.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";

const SESSIONS = Number(process.env.CKPT_SESSIONS ?? 10_000);

test("10,000 sessions created and deleted leave no entry in any checkpoint structure", async () => {
  const root = mkdtempSync(join(tmpdir(), "ckpt-life-"));
  const sessions = createSessionLayer({
    isolate: async (_f, _l, run) => void (await run()),
    maxSessions: SESSIONS * 2,
  });
  // Every writer waits on the session's messages until all sessions are gone: deletion happens mid-run.
  const held: { resolve(messages: HostMessage[]): void; reject(error: Error): void }[] = [];
  let helperRuns = 0;
  const context = {
    config: defaultConfig(),
    project: { id: "proj-1", kind: "directory", root },
    paths: packPaths(root),
    projectPaths: packPaths(root).project("proj-1"),
    db: await openDatabase(":memory:"),
    reporter: {
      log() {},
      notify() {},
      problem() {},
      child() {
        return this;
      },
    },
    sessions,
    host: {
      directory: join(root, "missing"),
      messages: () => new Promise<HostMessage[]>((resolve, reject) => held.push({ resolve, reject })),
    },
    helpers: {
      resultChannel: (name: string) => ({ name, tool: { description: "", args: {}, execute: async () => "" } }),
      run: async () => {
        helperRuns++;
        return {
          ok: false,
          failure: "aborted",
          message: "test",
          attempts: 1,
          usage: { tokens: { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 } },
        };
      },
      list: () => [],
    },
    services: {},
    provide: () => undefined,
  } as unknown as FeatureContext;
  // The store without per-session files: what is measured is memory, and 10,000 fsyncs would take minutes.
  const parts = createCheckpoint(context, openCheckpointStore(context.db!));
  const limit = { context: 40000, output: 4000 };
  const tool = (id: string) => ({
    id,
    type: "tool",
    tool: "read",
    state: { status: "completed", input: { filePath: "a" }, output: "x".repeat(9000) },
  });
  try {
    for (let i = 0; i < SESSIONS; i++) {
      const sessionId = `ses_${i}`;
      await sessions.dispatch({ type: "session.created", sessionId });
      await parts.modelCall!({ sessionId, agent: "build", providerID: "p", modelID: "m", limit });
      const messages = Array.from({ length: 6 }, (_, n) => ({
        info: {
          id: `msg_${i}_${n}`,
          sessionID: sessionId,
          role: n % 2 ? "assistant" : "user",
          time: { created: n, completed: n },
        },
        parts: [n % 2 ? tool(`prt_${i}_${n}`) : { id: `prt_${i}_${n}`, type: "text", text: "hello there" }],
      })) as HostMessage[];
      await parts.requestMessages!(sessionId, messages);
      const tokens = { input: 9000, output: 100, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
      await sessions.dispatch({
        type: "assistant.finished",
        sessionId,
        messageId: `msg_${i}_5`,
        agent: "build",
        summary: false,
        tokens,
        contextTokens: 9100,
        cost: 0,
      });
      await parts.commands!.checkpoint!({ sessionId, arguments: "" } as never);
      await parts.commands!.checkpoint!({ sessionId, arguments: "" } as never);
      await sessions.dispatch({ type: "session.deleted", sessionId });
    }
    assert.equal(held.length, SESSIONS, "a writer was running in every session when it was deleted");
    assert.equal(sessions.size(), 0, "no session record is left");
    // A few writers go on to their helper run (the git lookup spawns a process: not 10,000 of them), the rest fail.
    for (const [n, writer] of held.splice(0).entries()) {
      if (n < 20) writer.resolve([]);
      else writer.reject(new Error("session deleted"));
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sessions.size(), 0, "a writer ending after its session's deletion brings nothing back");
    assert.equal(held.length, 0, "the queued request behind a deleted session's writer never starts");
    assert.equal(helperRuns, Math.min(20, SESSIONS), "the writers that got their messages ran once each");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
