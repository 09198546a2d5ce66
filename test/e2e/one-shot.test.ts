// `opencode run --command dream|workflow` in the real OpenCode: `opencode run` exits at the first idle, so a command
// that started its work in the background used to answer "the result will be posted", exit, and leave the run
// interrupted. The pack sees it runs under `opencode run` (the OpenCode process's argv) and the command waits for its
// result there: the dream is written and its report (with its cost) printed, the workflow's result printed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { killAll, opencodeRun } from "../harness/opencode.ts";
import { persistentDb } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { readJsonFile } from "../harness/cli.ts";
import { call, isDreamRequest, projectData, stepLane, writeFixtureSession } from "./dream-support.ts";
import type { DreamRecord } from "../../plugins/dream/records.ts";

after(killAll);

const RULE = "Always run `npm run lint` before committing.";

test("opencode run --command dream and --command workflow wait for their result and print it; nothing is left interrupted", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      stepLane("dream", isDreamRequest, [
        call("dream_memory", {
          action: "remember",
          section: "Rules",
          text: RULE,
          sessions: ["ses_fixtureA", "ses_fixtureB"],
        }),
        call("dream_report", { consolidated: ["lint before committing"], updated: [], deleted: [], skipped: [] }),
      ]),
      {
        name: "wf",
        match: (r) => r.lastUserText.startsWith("WF "),
        replies: (r) => ({ text: `did ${r.lastUserText.slice(3)}`, delayMs: 1500 }),
      },
    ],
    main: () => ({ text: "main" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        continuumConfig: { checkpoint: { enabled: false }, tasks: { gate: false } },
        opencodeConfig: { snapshot: false },
      },
    },
    async ({ env }) => {
      const data = projectData(env);
      mkdirSync(join(data.memoryFile, ".."), { recursive: true });
      writeFileSync(
        data.memoryFile,
        "# Project memory\n\n## Rules\n\n- Use pnpm. <!-- id:m-keep0001 · 2026-11-20 · ses_old1 -->\n",
      );
      for (const id of ["ses_fixtureA", "ses_fixtureB"])
        writeFixtureSession(env, id, {
          notes: `# Session notes (${id})\n\n## [turn 2 · 2026-11-28T10:00:00.000Z]\nThe user said: always run npm run lint before committing.\n`,
        });

      const dream = await opencodeRun(env, "lint", {
        args: ["--command", "dream"],
        timeoutMs: 120000,
        extraEnv: persistentDb(env),
      });
      assert.equal(dream.code, 0, dream.stdout + dream.stderr);
      assert.match(dream.stdout, /Dream written to MEMORY\.md/, dream.stdout);
      assert.match(dream.stdout, /Cost: [\d,]+ tokens .*; run run_/);
      assert.doesNotMatch(dream.stdout, /started in the background/);
      const record = readJsonFile<DreamRecord>(join(data.dreamDir, "last.json"))!;
      assert.equal(record.status, "written", record.message);
      assert.ok(record.tokens.total > 0 && record.runId, "the record counts the model calls it made");
      assert.ok(readFileSync(data.memoryFile, "utf8").includes(RULE));

      const dir = join(env.projectDir, ".opencode", "workflows");
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "greet.js"),
        `export const meta = { name: "greet", description: "greets" };\nexport default async function () { return parallel(["ann", "bo"].map((n) => () => agent("WF hello " + n))); }`,
      );
      const wf = await opencodeRun(env, "greet", {
        args: ["--command", "workflow"],
        timeoutMs: 120000,
        extraEnv: persistentDb(env),
      });
      assert.equal(wf.code, 0, wf.stdout + wf.stderr);
      assert.match(wf.stdout, /Workflow greet · run wf_[\w-]+ · done/, wf.stdout);
      assert.match(wf.stdout, /did hello ann/);
      assert.doesNotMatch(wf.stdout, /posted here when it ends/);
    },
  );
});
