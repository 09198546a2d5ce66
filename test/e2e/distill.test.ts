// /distill in real OpenCode with fixture history: three past sessions ran lint → test → fix → test. A dry run through
// `continuum distill --dry-run` lists the candidate and writes nothing; /distill writes a SKILL.md that real OpenCode
// then lists (`opencode debug skill`); a second /distill finds it distilled already and makes no model call; an invalid
// name and an existing file are refused by the asset tool; `opencode run -c` does not continue a distill session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { opencodeBinary } from "../harness/env.ts";
import { opencodeRun } from "../harness/opencode.ts";
import { runOpencode } from "../../plugins/cli/opencode-driver.ts";
import { createSession, persistentDb } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { shownAnswers } from "./goal-support.ts";
import { continuumCli, continuumCliAsync } from "../harness/cli.ts";
import { call, isDistillRequest, projectData, stepLane, waitForRecord, writeFixtureHistory } from "./dream-support.ts";
import type { DistillRecord } from "../../plugins/distill/records.ts";

const SESSIONS = ["ses_histA", "ses_histB", "ses_histC"];
const BODY =
  "1. Run `npm run lint` and fix what it reports.\n2. Run `npm test`.\n3. Fix the failing code, then run `npm test` again until it passes.";

function historyOf(sessionId: string, day: number) {
  const at = Date.now() - day * 86_400_000;
  const tool = (n: number, name: string, input: Record<string, unknown>, output: string) => ({
    partId: `prt_${sessionId}_${n}`,
    sessionId,
    messageId: `msg_${sessionId}_${n}`,
    role: "assistant",
    kind: "tool" as const,
    tool: name,
    createdAt: at + n * 1000,
    text: `tool ${name} ${JSON.stringify(input)}\n→ ${output}`,
  });
  return [
    {
      partId: `prt_${sessionId}_0`,
      sessionId,
      messageId: `msg_${sessionId}_0`,
      role: "user",
      kind: "text" as const,
      createdAt: at,
      text: `please lint and fix the failing tests (${day})`,
    },
    tool(1, "bash", { command: "npm run lint", description: "lint" }, "2 problems"),
    tool(2, "read", { filePath: `src/file${day}.ts` }, "…"),
    tool(3, "bash", { command: "npm test", description: "tests" }, "1 failing"),
    tool(4, "edit", { filePath: `src/file${day}.ts`, oldString: "a", newString: "b" }, "ok"),
    tool(5, "bash", { command: "npm test", description: "tests" }, "all passing"),
  ];
}

const skillCall = (name: string, action = "create") =>
  call("distill_asset", {
    form: "skill",
    name,
    description: "Use when lint or tests fail: lint, test, fix, test again.",
    body: BODY,
    action,
  });

test("/distill: dry run writes nothing; a SKILL.md OpenCode lists; a second run duplicates nothing and calls no model; bad names and existing files refused", {
  timeout: 300000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      stepLane("distill", isDistillRequest, [
        skillCall("Lint_Test"),
        skillCall("memory"),
        skillCall("lint-test-fix"),
        skillCall("lint-test-fix"),
        call("distill_report", {
          candidates: [
            {
              id: "c1",
              name: "lint-test-fix",
              evidence: "npm run lint → npm test → edit → npm test in 3 sessions",
              sessions: SESSIONS,
              form: "skill",
              action: "created",
            },
          ],
        }),
      ]),
    ],
    main: [{ text: "Hello." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { continuumConfig: { checkpoint: { enabled: false } }, opencodeConfig: { snapshot: false } },
    },
    async ({ env, model, serve }) => {
      await writeFixtureHistory(
        env,
        SESSIONS.flatMap((id, i) => historyOf(id, i + 1)),
      );
      const data = projectData(env);
      const skillFile = join(env.projectDir, ".opencode", "skills", "lint-test-fix", "SKILL.md");
      // Dry run, headless through the CLI: the candidate and the asset it would write are listed, nothing is written.
      const dry = await continuumCliAsync(env, ["distill", "--dry-run", "--project", env.projectDir, "--json"]);
      assert.equal(dry.status, 0, `${dry.stdout}\n${dry.stderr}`);
      const dryRecord = JSON.parse(dry.stdout) as DistillRecord;
      assert.equal(dryRecord.status, "dry-run", dryRecord.message);
      assert.equal(dryRecord.mined[0]?.key, "bash: npm run lint → bash: npm test → edit *.ts → bash: npm test");
      assert.deepEqual(dryRecord.mined[0]?.sessions, SESSIONS);
      assert.deepEqual(dryRecord.assets, [{ path: skillFile, action: "would create" }]);
      assert.ok(!existsSync(skillFile), "a dry run writes nothing");
      assert.ok(!existsSync(join(env.projectDir, ".opencode", "skills", "lint-test-fix")), "not even the folder");
      const firstPrompt = model.lane("distill")[0]!.lastUserText;
      assert.match(
        firstPrompt,
        /c1: bash: npm run lint → bash: npm test → edit \*\.ts → bash: npm test\n  seen in 3 session\(s\) \(ses_histA, ses_histB, ses_histC\), 3 run\(s\); suggested name: lint-test-fix/,
      );
      assert.match(firstPrompt, /DRY RUN/);

      let served = await serve({ extraEnv: persistentDb(env) });
      const session = await createSession(served);
      const before = new Date().toISOString();
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "distill", arguments: "" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      const record = await waitForRecord<DistillRecord>(join(data.distillDir, "last.json"), before, 90000);
      assert.equal(record.status, "done", record.message);
      assert.deepEqual(record.assets, [{ path: skillFile, action: "created" }]);
      assert.ok(record.tokens.total > 0 && record.runId, "tokens counted");

      // What the asset tool said to the bad calls: an invalid name, a name of the pack's own, then the same skill twice.
      const results = model
        .lane("distill")
        .slice(-4)
        .map((r) => JSON.stringify(r.body.messages.at(-1)?.content ?? ""));
      assert.match(results[0]!, /name \\"Lint_Test\\" is invalid/);
      assert.match(results[1]!, /used by opencode-continuum itself/);
      assert.match(results[2]!, /Created .*lint-test-fix\/SKILL\.md/);
      assert.match(results[3]!, /exists already: it is never overwritten/);

      const skill = readFileSync(skillFile, "utf8");
      assert.match(
        skill,
        /^---\nname: lint-test-fix\ndescription: 'Use when lint or tests fail: lint, test, fix, test again\.'\n---\n1\. Run `npm run lint`/,
      );

      const listed = await runOpencode({
        binary: opencodeBinary(),
        args: ["debug", "skill"],
        cwd: env.projectDir,
        env: env.env,
        timeoutMs: 60000,
      });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(
        listed.stdout,
        /lint-test-fix/,
        `opencode debug skill lists the distilled skill:\n${listed.stdout.slice(0, 2000)}`,
      );

      // A second /distill: the workflow is distilled already; no model call, nothing written twice.
      const calls = model.lane("distill").length;
      const second = new Date().toISOString();
      await served.client.session.command({ path: { id: session }, body: { command: "distill", arguments: "" } });
      const again = await waitForRecord<DistillRecord>(join(data.distillDir, "last.json"), second, 30000);
      assert.equal(again.status, "nothing-new", again.message);
      assert.equal(again.mined[0]?.covered, skillFile);
      assert.equal(model.lane("distill").length, calls, "no model call for nothing new");
      assert.equal(readFileSync(skillFile, "utf8"), skill, "the skill is untouched");
      assert.match(
        (await shownAnswers(served.client, session)).join("\n"),
        /already distilled: nothing new \(no model call made\)/,
      );

      const stats = continuumCli(env, ["stats", "--json", "--project", env.projectDir, "--all"]);
      const features = (JSON.parse(stats.stdout) as { features: Record<string, { runs: number }> }).features;
      assert.equal(
        features.distill?.runs,
        2,
        `the ledger has the dry run and the real run, not the one that had nothing new: ${stats.stdout.slice(0, 600)}`,
      );

      await served.stop();
      const continued = await opencodeRun(env, "carry on", { args: ["-c"], json: true, extraEnv: persistentDb(env) });
      const sessionIds = new Set(continued.events.map((e) => (e as { sessionID?: string }).sessionID).filter(Boolean));
      assert.deepEqual([...sessionIds], [session], "run -c continues the user's session, not the distill child");
    },
  );
});
