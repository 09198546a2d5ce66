// merge(changes) in workflow scripts: handed to the merge port once, journaled when it went through so a resumed run
// never applies the same changes twice, tried again on resume when it stopped, and a clear report without a port.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkflowEngine, type AgentPort, type MergePort } from "../../plugins/workflow/engine.ts";
import { RunStore } from "../../plugins/workflow/journal.ts";
import { createLoader } from "../../plugins/workflow/loader.ts";

const LIMITS = {
  memoryMiB: 32,
  maxStackKiB: 256,
  sliceMs: 1000,
  activeMs: 1500,
  deadlineMs: 60_000,
  agentTimeoutMs: 5000,
};

function engineWith(merge: MergePort | undefined, body: string) {
  const root = mkdtempSync(join(tmpdir(), "wf-merge-"));
  const project = join(root, "project");
  const dir = join(project, ".opencode", "workflows");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "m.js"),
    `export const meta = { name: "m", description: "merge test" };\nexport default async function () {\n${body}\n}\n`,
  );
  const agents: AgentPort = {
    run: async (call) => ({
      ok: true,
      value: { value: "done", diff: `diff for ${call.label}`, files: ["a.txt"] },
      tokens: 1,
    }),
  };
  const store = new RunStore(join(root, "runs"));
  const make = () =>
    new WorkflowEngine({
      loader: createLoader(project, [{ origin: "project", dir }]),
      store,
      projectDir: project,
      agents,
      limits: LIMITS,
      merge,
    });
  return { make, store };
}

const BODY = `const a = await agent("task one", { label: "one", isolation: "worktree" });
  const report = await merge([{ label: "one", diff: a.diff }]);
  if (!report.ok) return { stopped: report.conflict };
  const b = await agent("after merge", { label: "two" });
  return { merged: report.merged, b };`;

test("merge(changes) reaches the merge port with the script's changes and returns its report", async () => {
  const seen: unknown[] = [];
  const { make } = engineWith(async (changes) => {
    seen.push(changes);
    return { ok: true, merged: [{ label: "one", files: ["a.txt"] }], unchanged: [], kept: [] };
  }, BODY);
  const done = await make().start({ target: "m" }).done;
  assert.equal(done.status, "done", done.error);
  assert.deepEqual(seen, [[{ label: "one", diff: "diff for one" }]]);
  assert.deepEqual((done.result as { merged: unknown }).merged, [{ label: "one", files: ["a.txt"] }]);
  assert.ok(done.transcript.some((l) => /merge: applied \(1 change/.test(l.text)));
});

test("a resumed run replays a merge that went through instead of applying it again; a stopped merge is tried again", async () => {
  let merges = 0;
  let failFirst = true;
  let hang = true;
  const body = BODY;
  const { make, store } = engineWith(async () => {
    merges++;
    if (failFirst) {
      failFirst = false;
      return {
        ok: false,
        merged: [],
        unchanged: [],
        kept: [{ label: "one", dir: "/wt" }],
        conflict: { reason: "a.txt changed", files: ["a.txt"] },
      };
    }
    return { ok: true, merged: [{ label: "one", files: ["a.txt"] }], unchanged: [], kept: [] };
  }, body);
  const stopped = await make().start({ target: "m" }).done;
  assert.equal(stopped.status, "done");
  assert.deepEqual((stopped.result as { stopped: unknown }).stopped, { reason: "a.txt changed", files: ["a.txt"] });
  assert.ok(stopped.transcript.some((l) => /merge stopped: a\.txt changed \(files: a\.txt\)/.test(l.text)));
  assert.equal(store.journal(stopped.id).size, 1, "only the agent's result is journaled, not the stopped merge");

  // Second run: the merge goes through, then the run is cancelled while the next agent hangs (a crash).
  const engine = make();
  const hanging: AgentPort = {
    run: (call) =>
      hang && call.label === "two"
        ? new Promise((resolve) =>
            call.signal.addEventListener("abort", () => resolve({ ok: false, message: "aborted", tokens: 0 })),
          )
        : Promise.resolve({
            ok: true,
            value: { value: "done", diff: `diff for ${call.label}`, files: ["a.txt"] },
            tokens: 1,
          }),
  };
  (engine as unknown as { options: { agents: AgentPort } }).options.agents = hanging;
  const { record, done } = engine.start({ target: "m" });
  while (merges < 2) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
  engine.cancel(record.id);
  assert.equal((await done).status, "cancelled");
  hang = false;
  const resumed = await engine.resume(record.id).done;
  assert.equal(resumed.status, "done", resumed.error);
  assert.equal(merges, 2, "the merge that went through was replayed from the journal, not applied again");
  assert.ok(resumed.transcript.some((l) => /merge: replayed from the journal/.test(l.text)));
});

test("without a merge port merge() answers a report naming why, and the script decides", async () => {
  const { make } = engineWith(undefined, BODY);
  const done = await make().start({ target: "m" }).done;
  assert.equal(done.status, "done", done.error);
  assert.match(JSON.stringify(done.result), /merging needs the compose feature/);
});
