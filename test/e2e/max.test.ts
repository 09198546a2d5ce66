// Max Mode in real OpenCode (`opencode serve` + SDK, scripted model): five candidates in parallel child sessions,
// the judge's pick reaches the main agent's request, two agreeing scouts skip the rest and the judge, an abort
// leaves no busy child, and `continuum stats --json` shows the runs under features.max.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import { REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { createSession, send, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { shownAnswers } from "./goal-support.ts";
import {
  busyChildren,
  candidateLane,
  children,
  maxEnv,
  maxJudgeLane,
  plan,
  temperatureModel,
  type CandidateCall,
} from "./max-support.ts";

const LAUNCHER = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const cli = (env: IsolatedEnv, args: string[]) =>
  spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: env.projectDir, env: env.env, encoding: "utf8" });

test("/max: five candidates overlap in time, the judge picks candidate 3 and the main agent's next request holds its plan; stats --json shows features.max", {
  timeout: 180000,
}, async () => {
  const calls: CandidateCall[] = [];
  const modelScript: ModelScript = {
    lanes: [candidateLane((i) => plan(i), { delayMs: 3000, calls }), maxJudgeLane(3)],
    main: [{ text: "Noted: tabs." }, { text: "Carried out the plan." }],
    exhausted: { text: "nothing more scripted" },
  };
  const base = maxEnv({ candidates: 5, consensus: "off", temperature: 1.1 });
  await withOpencode(
    {
      model: modelScript,
      env: (baseURL) => ({ ...base, opencodeConfig: { ...base.opencodeConfig, ...temperatureModel(baseURL) } }),
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      await served.client.session.prompt({
        path: { id: session },
        body: { parts: [{ type: "text", text: "House rule: INDENT-WITH-TABS everywhere." }] },
      });
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "make the parser refuse empty input" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));

      const candidateCalls = model.lane("candidate").filter((r) => r.body.messages.at(-1)?.role === "user");
      assert.ok(
        candidateCalls.every((r) =>
          /<session-context>[\s\S]*INDENT-WITH-TABS[\s\S]*<\/session-context>/.test(r.lastUserText),
        ),
        "each candidate gets the session's recent messages",
      );
      assert.deepEqual(
        [...new Set(candidateCalls.map((r) => (JSON.parse(r.raw) as { temperature?: number }).temperature))],
        [1.1],
        "candidates run at max.temperature",
      );
      assert.equal(
        (JSON.parse(model.lane("max-judge")[0]!.raw) as { temperature?: number }).temperature,
        0,
        "the judge at its agent's 0",
      );
      assert.deepEqual(
        candidateCalls.map((r) => /approach: ([a-z-]+)/.exec(r.lastUserText)?.[1]).sort(),
        ["minimal", "performance", "refactor-first", "robust", "test-first"],
        "five different lenses",
      );

      assert.equal((await children(served, session)).length, 6, "five candidates and one judge ran in child sessions");
      assert.deepEqual(calls.map((c) => c.index).sort(), [1, 2, 3, 4, 5]);
      const spread = Math.max(...calls.map((c) => c.at)) - Math.min(...calls.map((c) => c.at));
      // Each answer takes 3 s: all five first calls inside that window means all five ran at once.
      assert.ok(
        spread < 3000,
        `every candidate's first call arrived before the first one was answered (spread ${spread} ms)`,
      );
      const judged = model.lane("max-judge");
      assert.equal(judged.filter((r) => r.body.messages.at(-1)?.role !== "tool").length, 1);
      assert.match(judged[0]!.raw, /<candidate-1>[\s\S]*<candidate-5>/);

      const main = model.lane("main");
      assert.equal(main.length, 2);
      assert.match(main[1]!.raw, /Max Mode chose the plan of candidate 3 of 5/);
      assert.match(main[1]!.raw, /PLAN-3: approach number 3/);
      assert.doesNotMatch(main[1]!.raw, /PLAN-[1245]:/, "only the winner's plan reaches the main agent");

      const stats = cli(env, ["stats", "--json"]);
      assert.equal(stats.status, 0, stats.stderr);
      const json = JSON.parse(stats.stdout) as {
        features: Record<string, { runs: number; inputTokens: number; outputTokens: number }>;
      };
      assert.equal(json.features.max?.runs, 6, stats.stdout);
      assert.ok(json.features.max!.inputTokens > 0 && json.features.max!.outputTokens > 0);

      await served.client.session.command({ path: { id: session }, body: { command: "max", arguments: "" } });
      const listed = (await served.client.session.messages({ path: { id: session } })).data ?? [];
      const report = listed
        .flatMap((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])))
        .find((t) => t.includes("Max Mode in this session"));
      assert.match(report ?? "", /candidates run: 5 \(5 valid\) · consensus exits: 0 · judge runs: 1/);
      assert.equal(model.lane("main").length, 2, "/max alone made no model call");
    },
  );
});

test("max agent: two agreeing scouts take the consensus path (no judge request, no third candidate)", {
  timeout: 180000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [candidateLane(() => plan(1, "SHARED")), maxJudgeLane(1)],
    main: [{ text: "Done." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 5, scouts: 2 }) },
      serve: true,
    },
    async ({ model, served }) => {
      const session = await createSession(served);
      const sent = await served.client.session.prompt({
        path: { id: session },
        body: { agent: "max", parts: [{ type: "text", text: "make the parser refuse empty input" }] },
      });
      assert.equal(sent.error, undefined, JSON.stringify(sent.error));
      assert.equal(model.lane("max-judge").length, 0, "no judge request");
      assert.equal((await children(served, session)).length, 2, "only the two scouts ran");
      assert.match(model.lane("main")[0]!.raw, /candidate 1 of 5 \(scouts 1 and 2 agreed/);
    },
  );
});

test("an abort while the candidates run stops every one of them: no busy child, no judge, the session goes on", {
  timeout: 180000,
}, async () => {
  const calls: CandidateCall[] = [];
  const modelScript: ModelScript = {
    lanes: [candidateLane((i) => plan(i), { delayMs: 20000, calls }), maxJudgeLane(1)],
    main: [{ text: "Cancelled." }, { text: "Still here." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 4, consensus: "off" }) },
      serve: true,
    },
    async ({ env, model, served }) => {
      const session = await createSession(served);
      const running = served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "a long task" },
      });
      await until(() => calls.length === 4, 60000, "four candidates' first calls");
      assert.equal((await busyChildren(served, session)).length, 4, "four candidates are running");

      await served.client.session.abort({ path: { id: session } });
      const deadline = Date.now() + 20000;
      while ((await busyChildren(served, session)).length > 0) {
        if (Date.now() > deadline)
          throw new Error(
            `children still busy 20 s after the abort: ${JSON.stringify(await busyChildren(served, session))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
      await running;
      assert.equal(model.lane("max-judge").length, 0, "no judge after an abort");
      await until(
        async () => (await shownAnswers(served!.client, session)).includes("Cancelled."),
        20000,
        "the cancelled turn's answer",
      );
      const agents = JSON.parse(cli(env, ["agents", "--json"]).stdout) as {
        runs: { feature: string; outcome: string }[];
      };
      assert.deepEqual(
        agents.runs.filter((r) => r.feature === "max").map((r) => r.outcome),
        ["aborted", "aborted", "aborted", "aborted"],
      );
      await send(served, session, "still there?");
      await until(
        () => model.lane("main").some((r) => r.lastUserText === "still there?"),
        30000,
        "the session goes on",
      );
      assert.ok(
        model.lane("main").every((r) => !/Max Mode chose the plan/.test(r.raw)),
        "no plan was executed",
      );
      assert.deepEqual(
        model.lane("main").map((r) => r.lastUserText),
        ["still there?"],
        "the cancelled turn was stopped before its first model call",
      );
      await served.waitForIdle(session, 1, 30000);

      // The TUI shows the session idle while candidates run, so its interrupt key does nothing: /max stop does it.
      const idleRuns = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "stop" },
      });
      assert.equal(idleRuns.error, undefined);
      assert.match((await shownAnswers(served.client, session)).join("\n"), /No Max turn is running in this session/);
      const again = served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "another long task" },
      });
      await until(() => calls.length === 8, 60000, "four more candidates' first calls");
      // Why /max stop exists: OpenCode shows only the candidates' child sessions busy, not the one the user is in.
      const statuses = ((await served.client.session.status()).data ?? {}) as Record<string, { type: string }>;
      assert.notEqual(statuses[session]?.type, "busy", `the parent is not shown busy: ${JSON.stringify(statuses)}`);
      assert.equal(Object.values(statuses).filter((s) => s.type === "busy").length, 4, "the four candidates are");
      const stop = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "stop" },
      });
      assert.equal(stop.error, undefined, JSON.stringify(stop.error));
      assert.match((await shownAnswers(served.client, session)).join("\n"), /Stopping Max Mode/);
      const stopDeadline = Date.now() + 20000;
      while ((await busyChildren(served, session)).length > 0) {
        if (Date.now() > stopDeadline)
          throw new Error(
            `children still busy 20 s after /max stop: ${JSON.stringify(await busyChildren(served, session))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
      await again;
      assert.equal(model.lane("max-judge").length, 0, "no judge after /max stop");
      const after = JSON.parse(cli(env, ["agents", "--json"]).stdout) as {
        runs: { feature: string; outcome: string }[];
      };
      assert.deepEqual(
        after.runs.filter((r) => r.feature === "max").map((r) => r.outcome),
        Array(8).fill("aborted"),
      );
      assert.ok(
        model.lane("main").every((r) => !/Max Mode chose the plan/.test(r.raw)),
        "no plan was executed after /max stop",
      );
      await until(
        async () => (await shownAnswers(served!.client, session)).filter((t) => t === "Cancelled.").length === 2,
        20000,
        "the second cancelled turn's answer",
      );
      // `stop` typed to the max agent is answered without a model call.
      const typed = await served.client.session.promptAsync({
        path: { id: session },
        body: { agent: "max", parts: [{ type: "text", text: "stop" }] },
      });
      assert.equal(typed.error, undefined);
      await until(
        async () =>
          (await shownAnswers(served!.client, session)).filter((t) => /No Max turn is running/.test(t)).length === 2,
        20000,
        "the typed stop's answer",
      );
      await served.waitForIdle(session, 1, 30000);
      assert.deepEqual(
        model.lane("main").map((r) => r.lastUserText),
        ["still there?"],
        "neither cancelled turn nor the typed stop made a model call",
      );
    },
  );
});

test("hostile max_plan calls in the real host: wrong types, huge arrays and paths outside the project are refused naming the argument (non-JSON never reaches the tool); the fixed call counts", {
  timeout: 180000,
}, async () => {
  const hostile = [
    { name: "max_plan", args: {}, rawArguments: "just do it" },
    { name: "max_plan", args: { summary: 7, steps: "one", files: [], risks: [], tests: [] } },
    {
      name: "max_plan",
      args: { summary: "s", steps: Array.from({ length: 500 }, () => "x"), files: [], risks: [], tests: [] },
    },
    { name: "max_plan", args: { summary: "s", steps: ["ok"], files: ["../../etc/passwd"], risks: [], tests: [] } },
  ];
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "candidate",
        match: (r) => r.system.some((s) => s.includes("You are a Max Mode candidate")),
        replies: (request) => {
          const tries = request.body.messages.filter((m) => m.role === "tool").length;
          if (tries < hostile.length) return { toolCalls: [hostile[tries]!] };
          if (tries === hostile.length)
            return { toolCalls: [{ name: "max_plan", args: plan(2) as unknown as Record<string, unknown> }] };
          return { text: "done" };
        },
      },
      maxJudgeLane(2),
    ],
    main: [{ text: "Done." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 2, consensus: "off" }) },
      serve: true,
    },
    async ({ model, served }) => {
      const session = await createSession(served);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "make the parser refuse empty input" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      const last = model
        .lane("candidate")
        .filter((r) => r.body.messages.filter((m) => m.role === "tool").length === hostile.length)[0]!;
      const results = last.body.messages
        .filter((m) => m.role === "tool")
        .map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content)));
      // Arguments that are not JSON never reach the tool: the host answers for it.
      assert.match(results[0]!, /unavailable tool 'invalid'/);
      assert.match(results[1]!, /summary: expected string, got number 7[\s\S]*steps: expected array/);
      assert.match(results[2]!, /steps: .*40/);
      assert.match(results[3]!, /NOT recorded[\s\S]*files\.0: "\.\.\/\.\.\/etc\/passwd" leaves the project/);
      assert.match(model.lane("main")[0]!.lastUserText, /chose the plan of candidate 2 of 2/);
      assert.equal(
        served.output().includes("max:tool:max_plan"),
        false,
        "no refusal was reported as a fault of the pack",
      );
    },
  );
});
