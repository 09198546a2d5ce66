// /distill's orchestration against a stub helper runner (the "model" is a script calling the real asset tool) and a
// real history index: no history or nothing new costs no run; a report claiming an asset it never wrote is refused;
// an aborted run still lists what it wrote; covered candidates are not proposed again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../plugins/core/config-schema.ts";
import type { FeatureContext } from "../../plugins/core/feature.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { openDatabase, type Database } from "../../plugins/core/storage/database.ts";
import { migrateMemory } from "../../plugins/memory/index-store.ts";
import { upsertParts } from "../../plugins/memory/history-store.ts";
import { createDistiller } from "../../plugins/distill/run.ts";

type Call = (tool: string, args: Record<string, unknown>) => Promise<string>;

async function setup(script: (call: Call) => Promise<Record<string, unknown> | "abort">, withHistory = true) {
  const root = mkdtempSync(join(tmpdir(), "distill-run-"));
  const project = join(root, "project");
  mkdirSync(project, { recursive: true });
  const saved = process.env.XDG_CONFIG_HOME;
  process.env.XDG_CONFIG_HOME = join(root, "config");
  const db: Database = await openDatabase(join(root, "c.db"));
  migrateMemory(db);
  if (withHistory) {
    const now = Date.now();
    upsertParts(
      db,
      ["s1", "s2"].flatMap((sessionId, s) =>
        ["npm run lint", "npm test"].map((command, i) => ({
          partId: `${sessionId}-${i}`,
          projectId: "proj",
          sessionId,
          messageId: `${sessionId}-m${i}`,
          role: "assistant",
          kind: "tool" as const,
          tool: "bash",
          createdAt: now - (s + 1) * 3_600_000 + i,
          text: `tool bash ${JSON.stringify({ command })}\n→ ok`,
        })),
      ),
    );
  }
  let spec: { accept(args: unknown, ctx: unknown): { ok: boolean; value?: unknown; problems?: string[] } } | undefined;
  const runs: string[] = [];
  const problems: string[] = [];
  const distiller = createDistiller({
    config: defaultConfig(),
    project: { id: "proj", kind: "directory", root: project },
    paths: packPaths(join(root, "data")),
    projectPaths: packPaths(join(root, "data")).project("proj"),
    db,
    reporter: {
      log() {},
      notify() {},
      problem() {},
      child() {
        return this;
      },
    },
    sessions: {
      helperOf: (id: string) => (id === "child" ? { feature: "distill", agent: "distill" } : undefined),
      peek: () => undefined,
      on() {},
    },
    helpers: {
      resultChannel(name: string, s: typeof spec) {
        spec = s;
        return { name, tool: { description: "", args: {}, execute: async () => "" } };
      },
      async run(request: { prompt: string; context: unknown }) {
        runs.push(request.prompt);
        const usage = {
          tokens: { input: 50, output: 5, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
          cost: 0,
          durationMs: 1,
          requests: 1,
          estimated: false,
        };
        const base = { runId: "run_d", childSessionId: "child", usage, attempts: 1 };
        const call: Call = (tool, args) =>
          distiller.tools[tool]!.execute(args, {
            sessionID: "child",
            messageID: "m",
            agent: "distill",
            abort: new AbortController().signal,
          });
        const report = await script(call);
        if (report === "abort") return { ...base, ok: false, failure: "aborted", message: "stopped" };
        const accepted = spec!.accept(report, request.context);
        if (!accepted.ok) problems.push(...accepted.problems!);
        return accepted.ok
          ? { ...base, ok: true, value: accepted.value }
          : { ...base, ok: false, failure: "invalid-result", message: accepted.problems!.join("; ") };
      },
    },
    services: {},
  } as unknown as FeatureContext);
  const start = async (dryRun = false) => {
    const started = distiller.start({ parentSessionId: "main", focus: "", dryRun, reason: "test" });
    return started.started ? started.done : started.record;
  };
  return {
    project,
    distiller,
    runs,
    problems,
    start,
    cleanup: () => {
      db.close();
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const asset = {
  form: "skill",
  name: "lint-test",
  description: "Lint then test.",
  body: "1. npm run lint\n2. npm test",
  action: "create",
};
const report = (action: string) => ({
  candidates: [{ id: "c1", name: "lint-test", evidence: "2 sessions", sessions: ["s1", "s2"], form: "skill", action }],
});

test("no history: no run", async () => {
  const t = await setup(async () => report("none"), false);
  try {
    const record = await t.start();
    assert.equal(record.status, "empty");
    assert.equal(t.runs.length, 0);
  } finally {
    t.cleanup();
  }
});

test("a report claiming an asset that was never written is refused; nothing is recorded as covered", async () => {
  const t = await setup(async () => report("created"));
  try {
    const record = await t.start();
    assert.equal(record.status, "failed");
    assert.match(t.problems.join(), /says created but no asset of that name went through distill_asset/);
    assert.equal((await t.start()).status, "failed", "the candidate is still open: the next run tries again");
    assert.equal(t.runs.length, 2);
  } finally {
    t.cleanup();
  }
});

test("written, then covered: the next run makes no call; an aborted run still lists what it wrote; dry run writes nothing", async () => {
  const t = await setup(async (call) => {
    await call("distill_asset", asset);
    return report("created");
  });
  try {
    const dry = await t.start(true);
    assert.equal(dry.status, "dry-run");
    assert.deepEqual(
      dry.assets.map((a) => a.action),
      ["would create"],
    );
    assert.ok(!existsSync(join(t.project, ".opencode", "skills", "lint-test")));
    const written = await t.start();
    assert.equal(written.status, "done");
    assert.ok(existsSync(join(t.project, ".opencode", "skills", "lint-test", "SKILL.md")));
    const again = await t.start();
    assert.equal(again.status, "nothing-new");
    assert.equal(t.runs.length, 2);
    assert.match(t.runs[0]!, /c1: bash: npm run lint → bash: npm test/);
  } finally {
    t.cleanup();
  }
  const aborted = await setup(async (call) => {
    await call("distill_asset", { ...asset, name: "other-skill" });
    return "abort";
  });
  try {
    const record = await aborted.start();
    assert.equal(record.status, "failed");
    assert.deepEqual(
      record.assets.map((a) => [a.action, a.path.endsWith(join("other-skill", "SKILL.md"))]),
      [["created", true]],
    );
  } finally {
    aborted.cleanup();
  }
});
