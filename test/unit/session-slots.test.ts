// Issue 20: per-session state lives in slots of the session layer's records, so deleting a session frees it. 10,000
// sessions go through the real pack on the fake host, each touching the state of the report channel (a command
// report: /agents cancel), workflow notices (/workflow starting an unknown script), memory (a typed turn), the
// helper runner (a run in a child session) and the helper budget (that child's spend); once deleted, no record and
// no run is left anywhere. SLOT_SESSIONS=<n> runs fewer while working on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { budgetSlot } from "../../plugins/core/helper-budget.ts";
import { helperSessionSlot } from "../../plugins/core/helpers.ts";
import { memorySlot } from "../../plugins/memory/index.ts";
import { reportSlot } from "../../plugins/opencode/commands.ts";
import { noticeSlot } from "../../plugins/workflow/notices.ts";
import { withFakeHost } from "../harness/fake-host.ts";

const SESSIONS = Number(process.env.SLOT_SESSIONS ?? 10_000);

const NAME = `${SESSIONS} sessions created, used by every feature and deleted leave no per-session state`;

test(NAME, { timeout: 1_800_000 }, async () => {
  await withFakeHost(
    {
      // The helper's "model": one call (its spend reaches the dream budget watcher), a final text, then idle.
      onPrompt: async (host, sessionId) => {
        if (!host.parents.has(sessionId)) return;
        await host.finishCall(sessionId, { input: 30, output: 5 });
        host.messages.get(sessionId)!.at(-1)!.parts.push({ type: "text", text: "done" });
        await host.idle(sessionId);
      },
    },
    async (host) => {
      const { sessions, helpers } = host.context;
      const started = Date.now();
      for (let i = 0; i < SESSIONS; i++) {
        const id = await host.createSession();
        await host.userMessage(id, `question ${i}`);
        await host.command(id, "agents", "cancel");
        await host.command(id, "workflow", "no-such-workflow");
        const request = { title: "t", prompt: "p", context: undefined, timeoutMs: 10_000, retries: 0 };
        const outcome = await helpers.run({ ...request, feature: "dream", agent: "dream", parentSessionId: id });
        assert.equal(outcome.ok, true, `run ${i}: ${JSON.stringify(outcome)}`);
        const child = outcome.childSessionId!;
        if (i === 0) {
          // The state really is in the slots (so their removal is what frees it).
          const record = sessions.peek(id)!;
          for (const key of [memorySlot, reportSlot, noticeSlot]) assert.ok(record.has(key), key.name);
          for (const key of [helperSessionSlot, budgetSlot]) assert.ok(sessions.peek(child)!.has(key), key.name);
          assert.ok(sessions.peek(child)!.get(budgetSlot).spent > 0);
        }
        await host.idle(id);
        // OpenCode deletes a session's children with it, each with its own event.
        await host.emit("session.deleted", { info: { id: child } });
        await host.emit("session.deleted", { info: { id } });
        host.messages.delete(id);
        host.messages.delete(child);
        host.parents.delete(child);
      }
      const ms = Date.now() - started;
      assert.equal(sessions.size(), 0, "no session record is left");
      assert.equal(helpers.activeCount(), 0, "no run is left");
      assert.ok(helpers.list().length <= 50, "only the bounded list of recent runs remains");
      console.log(`${SESSIONS} sessions in ${ms} ms (${(ms / SESSIONS).toFixed(2)} ms each)`);
    },
  );
});
