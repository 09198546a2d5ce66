// History holds the conversation in real OpenCode: 20 history searches in one session, each streamed by OpenCode as
// a running tool call before it runs and indexed live, plus memory searches between them; the first hit of every
// search is the user's turn about that topic, and no hit of any search is a search.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  contentText,
  isCheckpointWriterRequest,
  isGoalJudgeRequest,
  type Lane,
  type ScriptedReply,
} from "../harness/scripted-model.ts";
import { killAll } from "../harness/opencode.ts";
import { createSession, send } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";

after(killAll);

const PACK_HELPERS: Lane = {
  name: "pack-helpers",
  match: (r) => isCheckpointWriterRequest(r) || isGoalJudgeRequest(r),
  replies: () => ({ text: "ok" }),
};
const TOPICS = ["pelican", "heron", "osprey", "kestrel", "puffin"];

test("20 history searches in one session: every first hit is the conversation, never a search", {
  timeout: 180000,
}, async () => {
  await withOpencode(
    {
      model: { lanes: [PACK_HELPERS], exhausted: { text: "ok" } },
      serve: true,
    },
    async ({ model, served }) => {
      const session = await createSession(served);
      for (const [i, topic] of TOPICS.entries()) {
        await send(served, session, `the ${topic} survey counted nests along the north cliff`);
        await served.waitForIdle(session, i + 1, 30000);
      }
      const searches: ScriptedReply[] = Array.from({ length: 20 }, (_, n) => ({
        toolCalls: [
          { name: "history", args: { action: "search", query: `${TOPICS[n % TOPICS.length]} survey nests cliff` } },
          { name: "memory", args: { action: "search", query: `${TOPICS[n % TOPICS.length]} survey` } },
        ],
      }));
      model.push("main", ...searches, { text: "done" });
      const before = model.lane("main").length;
      await send(served, session, "look up what we said about each survey");
      await served.waitForIdle(session, TOPICS.length + 1, 150000);
      const requests = model.lane("main").slice(before + 1);
      assert.equal(requests.length, 20, "one request after each pair of searches");
      for (const [n, request] of requests.entries()) {
        const results = request.body.messages.filter((m) => m.role === "tool").map(contentText);
        const output = results.find((r) => /history hits? for/.test(r)) ?? "";
        const last =
          [...results].reverse().find((r) => /history hits? for|Nothing in this project's conversation/.test(r)) ?? "";
        assert.ok(output, `search ${n} returned hits`);
        const hits = last.split("\n").filter((l) => l.startsWith("- part "));
        assert.ok(hits.length > 0, `search ${n}: ${last.slice(0, 300)}`);
        assert.match(hits[0]!, /· user ·/, `search ${n}: the first hit is the user's turn: ${hits[0]}`);
        assert.ok(
          !hits.some((h) => / tool (history|memory) /.test(h)),
          `search ${n}: no hit is a search: ${hits.join(" | ")}`,
        );
        const snippet = last.split("\n")[2] ?? "";
        assert.ok(snippet.includes(TOPICS[n % TOPICS.length]!), `search ${n} leads with its topic: ${snippet}`);
      }
    },
  );
});
