// The checkpoint writer's run: code quotes the person's latest request in §1 (never the pack's injected parts),
// a rejected write gets one retry in a fresh run that is sent only the problems and the sections to redo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeSections, quoteRequest, validateWriterSections } from "../../plugins/checkpoint/sections.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { createWriterRun } from "../../plugins/checkpoint/writer-run.ts";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import type { HostMessage } from "../../plugins/core/host-types.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";

const good = {
  active_intent: "Port the importer.",
  next_action: "Write the parser.",
  directives: "- never edit db/schema.sql",
  current_work: "Parser half done.",
  knowledge: "none",
  decisions: "none",
  open_notes: "none",
};
const NO_FACTS = { taskTree: "", files: "", errors: "", liveResources: "", exactValues: [] };

test("§1 quote by code: the latest request as > lines, a long one cut; no quote asked of the writer", () => {
  const sections = composeSections(good, {
    ...NO_FACTS,
    latestRequest: "Use the DSN postgres://a@b:5432/c.\nThen run the tests.",
  });
  assert.match(
    sections.active_intent,
    /^The user's latest request \(verbatim\):\n> Use the DSN postgres:\/\/a@b:5432\/c\.\n> Then run the tests\.\n\nPort the importer\.$/,
  );
  assert.match(quoteRequest("word ".repeat(2000)), /\[…\]$/);
  assert.equal(
    validateWriterSections(good, { userMessages: ["Something else entirely."], quoteByCode: true }).ok,
    true,
  );
  const rejected = validateWriterSections(
    { ...good, knowledge: "", open_notes: "x ".repeat(2000) },
    { userMessages: [], quoteByCode: true },
  );
  assert.deepEqual(!rejected.ok && rejected.redo, ["knowledge", "open_notes"]);
});

type Accept = (args: unknown, context: unknown) => { ok: boolean; value?: unknown; problems?: string[] };

async function setup(replies: Record<string, string>[]) {
  const root = mkdtempSync(join(tmpdir(), "ckpt-writer-"));
  const db = await openDatabase(":memory:");
  const store = openCheckpointStore(db);
  let accept: Accept | undefined;
  const prompts: string[] = [];
  const user = (id: string, parts: HostMessage["parts"]): HostMessage => ({
    info: { id, sessionID: "ses_1", role: "user", time: { created: 1 } },
    parts,
  });
  const messages: HostMessage[] = [
    user("msg_1", [{ id: "p1", type: "text", text: "Build the importer. Never edit db/schema.sql." }]),
    user("msg_2", [
      { id: "p2", type: "text", text: "Now write the parser for data/rows.csv." },
      { id: "p3", type: "text", text: "[continuum recall] Project memory: use streaming parsers.", synthetic: true },
    ]),
  ];
  const context = {
    config: defaultConfig(),
    project: { id: "proj-1", kind: "directory", root },
    reporter: {
      log() {},
      notify() {},
      problem() {},
      child() {
        return this;
      },
    },
    host: { directory: join(root, "missing"), messages: async () => messages },
    services: {},
    helpers: {
      resultChannel(name: string, spec: { accept: Accept }) {
        accept = spec.accept;
        return { name, tool: { description: "", args: {}, execute: async () => "" } };
      },
      async run(request: { prompt: string; context: unknown }) {
        prompts.push(request.prompt);
        const usage = {
          tokens: { input: 10, output: 5, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
          cost: 0,
          durationMs: 1,
          requests: 1,
          estimated: false,
        };
        const accepted = accept!(replies[prompts.length - 1] ?? {}, request.context);
        const base = { runId: `run_${prompts.length}`, childSessionId: "child", usage, attempts: 1 };
        return accepted.ok
          ? { ...base, ok: true, value: accepted.value }
          : { ...base, ok: false, failure: "invalid-result", message: String(accepted.problems) };
      },
    },
  } as unknown as FeatureContext;
  const file = join(root, "checkpoint.md");
  const writer = createWriterRun({ context, store, checkpointFile: () => file, model: () => undefined });
  return { writer, store, prompts, file, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

test("writer run: §1 quotes the person's latest words, never the injected recall part", async () => {
  const { writer, store, prompts, file, cleanup } = await setup([
    { ...good, active_intent: "Port it.\n> Project memory: use streaming parsers." },
  ]);
  try {
    await writer.run("ses_1", "test");
    assert.equal(prompts.length, 1);
    const markdown = readFileSync(file, "utf8");
    assert.match(markdown, /> Now write the parser for data\/rows\.csv\./);
    assert.ok(!markdown.includes("streaming parsers"), "the writer's quote of the recall block is dropped");
    assert.equal(store.latest("ses_1")!.seq, 1);
  } finally {
    cleanup();
  }
});

test("writer run: a rejected write is retried once, sent only the problems and the sections to redo", async () => {
  const fixed = {
    active_intent: "",
    next_action: "",
    directives: "",
    current_work: "",
    knowledge: "Rows are CSV.",
    decisions: "",
    open_notes: "",
  };
  const { writer, store, prompts, cleanup } = await setup([{ ...good, knowledge: "" }, fixed]);
  try {
    await writer.run("ses_1", "test");
    assert.equal(prompts.length, 2);
    assert.match(prompts[1]!, /^Your checkpoint_write call for session ses_1 was not stored\. Fix only this:\n- §7 /);
    assert.match(
      prompts[1]!,
      /### §7 Discovered knowledge \(cross-task\) \(argument knowledge, at most 1500 tokens\)\n\(empty\)/,
    );
    assert.ok(
      prompts[1]!.length < 800 && !prompts[1]!.includes("db/schema.sql"),
      "the retry is not sent the input again",
    );
    const sections = store.latest("ses_1")!.sections;
    assert.equal(sections.knowledge, "Rows are CSV.");
    assert.equal(sections.next_action, "Write the parser.", "the sections not redone are kept as first written");
  } finally {
    cleanup();
  }
});

test("writer run: rejected twice, the run fails after 2 requests and says why", async () => {
  const { writer, store, prompts, cleanup } = await setup([
    { ...good, knowledge: "" },
    { ...good, knowledge: "" },
    good,
  ]);
  try {
    await writer.run("ses_1", "test");
    assert.equal(prompts.length, 2);
    assert.equal(store.latest("ses_1"), undefined);
    assert.match(store.state("ses_1").lastFailure ?? "", /^no valid checkpoint after 2 attempts: §7 .* is empty/);
  } finally {
    cleanup();
  }
});
