// A command's report says when it has settled: only after its report turn ended and the session is back on its own
// model, so a feature can post into the session without the message landing inside the report's turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostApi } from "../../plugins/core/host.ts";
import { createReporter } from "../../plugins/core/report.ts";
import { createSessionLayer } from "../../plugins/core/sessions.ts";
import { createReportChannel, type CommandPart } from "../../plugins/opencode/commands.ts";

function channel(model: string | null = "fake/fake-model") {
  const stored: string[] = [];
  const host = {
    directory: "/p",
    showInSession: async (_id: string, text: string) => {
      stored.push(text);
      return true;
    },
    sendPrompt: async () => undefined,
  } as unknown as HostApi;
  const sessions = createSessionLayer({
    lookupParent: async () => "",
    isolate: async (_f, _l, run) => void (await run()),
  });
  const reports = createReportChannel({
    host,
    sessions,
    reporter: createReporter({ log: () => undefined, toast: () => undefined }),
    isBusy: async () => false,
  });
  reports.configure({ model: model ?? undefined } as never);
  return { reports, stored };
}

test("settled is called after the report turn ended and the session's model was restored, not before", async () => {
  const { reports, stored } = channel();
  let settled = 0;
  const parts: CommandPart[] = [{ type: "text", text: "/workflow x" }];
  await reports.answer(
    { kind: "report", text: "started", settled: () => settled++ },
    { sessionId: "s1", command: "workflow", arguments: "x", parts },
  );
  assert.equal(settled, 0, "not while the report turn is still to come");
  assert.equal(reports.routeTurn("s1", {}), true);
  assert.equal(settled, 0, "not while it runs");
  await reports.turnEnded("s1");
  assert.equal(stored.length, 1, "the session's own model was restored first");
  assert.equal(settled, 1);
});

test("a report overtaken by another message or another report still settles, once", async () => {
  const { reports } = channel();
  let first = 0;
  let second = 0;
  const call = (n: string) => ({
    sessionId: "s2",
    command: "workflow",
    arguments: n,
    parts: [{ type: "text", text: `/workflow ${n}` }] as CommandPart[],
  });
  await reports.answer({ kind: "report", text: "one", settled: () => first++ }, call("a"));
  await reports.answer({ kind: "report", text: "two", settled: () => second++ }, call("b"));
  assert.equal(first, 1, "replaced by the next report: settled");
  assert.equal(reports.routeTurn("s2", {}), true);
  assert.equal(reports.routeTurn("s2", {}), false, "the session moved on");
  assert.equal(second, 1);
  await reports.turnEnded("s2");
  assert.deepEqual([first, second], [1, 1]);
});

test("without a `model` in OpenCode's config the report's turn is a short model call: settled when that turn ends", async () => {
  const { reports, stored } = channel(null);
  let settled = 0;
  const parts: CommandPart[] = [{ type: "text", text: "/workflow x" }];
  await reports.answer(
    { kind: "report", text: "started", settled: () => settled++ },
    { sessionId: "s3", command: "workflow", arguments: "x", parts },
  );
  assert.equal(stored[0], "started", "the report is stored in the session");
  assert.match(parts[0]!.text!, /The report is in the previous message/);
  assert.equal(settled, 0, "not before the pointer turn ran");
  assert.equal(reports.routeTurn("s3", {}), false, "the pointer turn keeps the session's model");
  assert.equal(settled, 0, "not while it runs");
  await reports.turnEnded("s3");
  assert.equal(settled, 1);
  await reports.answer(
    { kind: "report", text: "again", settled: () => settled++ },
    { sessionId: "s3", command: "workflow", arguments: "y", parts: [{ type: "text", text: "/workflow y" }] },
  );
  reports.routeTurn("s3", {});
  reports.routeTurn("s3", {});
  assert.equal(settled, 2, "overtaken by another message: settled once");
  await reports.turnEnded("s3");
  assert.equal(settled, 2);
});
