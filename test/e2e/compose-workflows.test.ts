// The built-in compose, review and debug workflows in the real workflow engine and OpenCode with the scripted model:
// compose writes the spec, creates the tasks, implements them, runs the project's check, gets a review verdict and
// writes its report; review drops a finding its verifier could not confirm; debug investigates its hypotheses side
// by side and verifies the fix by running the reproduction again through check(). Compose's checks run by code
// (check(): a snapshot worktree, the sandbox): a failing npm test is reported with its exit code, whatever agents say. Compose's two tasks run in two git worktrees at once and merge() brings both
// changes back; a conflict between them stops the merge with the file named and nothing applied.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lane, RecordedRequest, ScriptedReply } from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import { killAll, type Served } from "../harness/opencode.ts";
import { createSession, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { openDatabase } from "../../plugins/core/storage/database.ts";

after(killAll);

interface Run {
  id: string;
  name: string;
  status: string;
  result?: any;
  error?: string;
  transcript: { text: string }[];
}

function runs(env: IsolatedEnv): Run[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  const found: Run[] = [];
  for (const project of readdirSync(projects)) {
    const dir = join(projects, project, "workflows");
    if (!existsSync(dir)) continue;
    for (const id of readdirSync(dir)) {
      const file = join(dir, id, "run.json");
      if (existsSync(file)) found.push(JSON.parse(readFileSync(file, "utf8")) as Run);
    }
  }
  return found;
}

async function runWorkflow(
  served: Served,
  env: IsolatedEnv,
  session: string,
  args: string,
  timeoutMs = 120000,
): Promise<Run> {
  const before = new Set(runs(env).map((r) => r.id));
  const ran = await served.client.session.command({
    path: { id: session },
    body: { command: "workflow", arguments: args },
  });
  assert.ok(!ran.error, JSON.stringify(ran.error));
  const started = await until(() => runs(env).find((r) => !before.has(r.id)), 15000, `a run of /workflow ${args}`);
  return until(
    () => runs(env).find((r) => r.id === started.id && r.status !== "running"),
    timeoutMs,
    `run ${started.id} to end`,
  ).catch((error) => {
    throw new Error(
      `${(error as Error).message}; the run: ${JSON.stringify(runs(env).find((r) => r.id === started.id))}`,
    );
  });
}

/** Start and end of the assistant calls of each child session of `parent` whose title matches. */
async function childSpans(served: Served, parent: string, title: RegExp): Promise<{ start: number; end: number }[]> {
  const children = await served.client.session.children({ path: { id: parent } });
  const spans: { start: number; end: number }[] = [];
  for (const child of (children.data ?? []).filter((c) => title.test(c.title))) {
    const messages = await served.client.session.messages({ path: { id: child.id } });
    const times = (messages.data ?? [])
      .filter((m) => m.info.role === "assistant")
      .map((m) => m.info.time as { created: number; completed?: number });
    if (times.length)
      spans.push({
        start: Math.min(...times.map((t) => t.created)),
        end: Math.max(...times.map((t) => t.completed ?? t.created)),
      });
  }
  return spans;
}

/** The first user text of a request: a workflow child's prompt. */
const prompt = (r: Pick<RecordedRequest, "body">) => {
  const first = r.body.messages.find((m) => m.role === "user");
  return typeof first?.content === "string" ? first.content : (first?.content ?? []).map((p) => p.text ?? "").join("");
};
const assistantTurns = (r: RecordedRequest) => r.body.messages.filter((m) => m.role === "assistant").length;

/** A child session that plays `steps` in order, one per model call, then says "done". */
function stepsLane(name: string, starts: string, steps: (r: RecordedRequest) => ScriptedReply[]): Lane {
  return {
    name,
    match: (r) => prompt(r).startsWith(starts),
    replies: (r) => steps(r)[assistantTurns(r)] ?? { text: "done" },
  };
}
const result = (value: unknown): ScriptedReply => ({
  toolCalls: [{ name: "workflow_result", args: { result: value } }],
});
const finding = (severity: string, file: string, line: number, title: string) => ({
  severity,
  file,
  line,
  title,
  why: `${title}: why`,
});

function reviewLanes(): Lane[] {
  return [
    stepsLane("review", "You are one of several independent code reviewers", (r) => {
      const lens = /through one lens only:\n(\w+)/.exec(prompt(r))?.[1];
      if (lens === "Correctness")
        return [result({ findings: [finding("minor", "hello.js", 1, "Greeting lacks a newline")] })];
      if (lens === "Tests")
        return [result({ findings: [finding("blocker", "bye.js", 1, "Imagined crash on empty input")] })];
      return [result({ findings: [] })];
    }),
    stepsLane("verifier", "You verify code review findings", (r) => {
      const text = prompt(r);
      const id = (title: string) => new RegExp(`(F\\d+) \\[\\w+\\] [^\\n]* ${title}`).exec(text)?.[1] ?? "?";
      return [
        result({
          confirmed: [{ id: id("Greeting lacks a newline"), evidence: "hello.js:1 prints without a newline" }],
          rejected: [{ id: id("Imagined crash"), why: "bye.js handles empty input" }],
        }),
      ];
    }),
  ];
}

test("review workflow: four lenses, and the verifier's unconfirmed finding is dropped", {
  timeout: 180000,
}, async () => {
  await withOpencode(
    {
      model: { lanes: reviewLanes(), exhausted: { text: "ok" } },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeFileSync(join(env.projectDir, "hello.js"), "process.stdout.write('hi')\n");
      writeFileSync(join(env.projectDir, "bye.js"), "console.log('bye')\n");
      installPack(env);
      const served = await serve();
      const session = await createSession(served);
      const run = await runWorkflow(served, env, session, "review");
      assert.equal(run.status, "done", JSON.stringify(run));
      assert.equal(model.lane("review").filter((r) => assistantTurns(r) === 0).length, 4, "four reviewers");
      assert.deepEqual(
        run.result.findings.map((f: { title: string }) => f.title),
        ["Greeting lacks a newline"],
      );
      assert.deepEqual(
        run.result.dropped.map((d: { title: string; why: string }) => [d.title, d.why]),
        [["Imagined crash on empty input", "bye.js handles empty input"]],
      );
      assert.equal(run.result.accepted, true, "only a minor finding is confirmed");
      assert.equal(run.result.evidence[0].evidence, "hello.js:1 prints without a newline");
    },
  );
});

/** Scripted agents of the compose workflow; with `conflict`, both tasks also write shared.txt, differently. */
function composeLanes(at: (file: string) => string, spec: string, conflict = false): Lane[] {
  return [
    stepsLane("spec", "Write the spec of this feature", () => [
      {
        toolCalls: [
          {
            name: "write",
            args: {
              filePath: at(spec),
              content:
                "# Greetings\n\n## Acceptance criteria\n1. hello.js greets\n2. bye.js says goodbye\n\n## Checks\nnpm test\n",
            },
          },
        ],
      },
      result({
        path: spec,
        criteria: ["hello.js greets", "bye.js says goodbye"],
        checks: ["npm test"],
        decisions: ["plain console output: simplest"],
      }),
    ]),
    stepsLane("plan", "Plan the implementation of the spec", () => [
      { toolCalls: [{ name: "tasks", args: { action: "create", title: "hello.js greets (AC 1)" } }] },
      { toolCalls: [{ name: "tasks", args: { action: "create", title: "bye.js says goodbye (AC 2)" } }] },
      result({
        tasks: [
          { id: "T1", title: "hello.js greets", files: ["hello.js"], dependsOn: [] },
          { id: "T2", title: "bye.js says goodbye", files: ["bye.js"], dependsOn: [] },
        ],
      }),
    ]),
    stepsLane("implement", "Implement task T", (r) => {
      const t1 = prompt(r).startsWith("Implement task T1");
      const file = t1 ? "hello.js" : "bye.js";
      return [
        {
          toolCalls: [
            {
              name: "write",
              args: { filePath: at(file), content: t1 ? "console.log('hello')\n" : "console.log('bye')\n" },
            },
          ],
        },
        ...(conflict
          ? [
              {
                toolCalls: [
                  { name: "write", args: { filePath: at("shared.txt"), content: t1 ? "from T1\n" : "from T2\n" } },
                ],
              },
            ]
          : []),
        { toolCalls: [{ name: "tasks", args: { action: "done", id: t1 ? "T1" : "T2" } }] },
        result({
          status: "done",
          summary: `${file} written`,
          files: [file],
          tests: [{ command: "npm test", passed: true }],
        }),
      ];
    }),
    // A checks agent that would claim success whatever ran: compose no longer asks one (the exit codes decide).
    stepsLane("checks", "Run the project's checks", () => [
      result({ passed: true, commands: [{ command: "npm test", exitCode: 0, summary: "all passed" }] }),
    ]),
    ...reviewLanes(),
  ];
}

test("compose workflow: spec, two tasks in the tree, both implemented, the project's check run, a review verdict, a report", {
  timeout: 300000,
}, async () => {
  let projectDir = "";
  const at = (file: string) => join(projectDir, file);
  const spec = "docs/compose/greetings.md";
  const lanes = composeLanes(at, spec);
  await withOpencode({ model: { lanes, exhausted: { text: "ok" } }, install: false }, async ({ env, model, serve }) => {
    projectDir = env.projectDir;
    writeFileSync(
      at("package.json"),
      JSON.stringify({
        name: "fixture",
        private: true,
        scripts: { test: "node -e \"require('./hello.js'); require('./bye.js'); console.log('2 tests passed')\"" },
      }),
    );
    installPack(env);
    const served = await serve();
    const session = await createSession(served);
    const run = await runWorkflow(served, env, session, 'compose {"feature": "greet and say goodbye"}');
    assert.equal(run.status, "done", JSON.stringify(run));
    const outcome = run.result;
    assert.equal(outcome.ok, true, outcome.message);
    assert.ok(existsSync(at(spec)), "the spec was written");
    assert.equal(readFileSync(at("hello.js"), "utf8"), "console.log('hello')\n");
    assert.equal(readFileSync(at("bye.js"), "utf8"), "console.log('bye')\n");
    // npm test ran by code in a snapshot of the merged tree (it requires both files): its real exit code decides.
    assert.equal(outcome.checks.passed, true, JSON.stringify(outcome.checks));
    assert.deepEqual(
      outcome.checks.commands.map((c: { command: string; exitCode: number }) => [c.command, c.exitCode]),
      [["npm test", 0]],
    );
    assert.match(outcome.checks.commands[0].tail, /2 tests passed/);
    assert.equal(model.lane("checks").length, 0, "no agent was asked whether the checks pass");
    assert.equal(outcome.review.accepted, true, "a review verdict");
    // Each task ran in its own worktree, side by side, and both changes were merged back into the working tree.
    const spans = await childSpans(served, session, /implement T[12]/);
    assert.equal(spans.length, 2, "two implementing child sessions");
    assert.ok(
      spans[0]!.start < spans[1]!.end && spans[1]!.start < spans[0]!.end,
      `the two tasks overlapped in time: ${JSON.stringify(spans)}`,
    );
    assert.ok(
      run.transcript.some((t) => /merge: applied \(2 change/.test(t.text)),
      "both changes merged",
    );
    assert.deepEqual(
      outcome.merge.merged
        .map((m: { files: string[] }) => m.files)
        .flat()
        .sort(),
      ["bye.js", "hello.js"],
    );
    assert.equal(
      readdirSync(join(env.packDataDir, "projects")).flatMap((p) =>
        existsSync(join(env.packDataDir, "projects", p, "worktrees"))
          ? readdirSync(join(env.packDataDir, "projects", p, "worktrees")).filter(
              (n) => n.startsWith("wt-") && !n.endsWith(".json"),
            )
          : [],
      ).length,
      0,
      "no worktree left",
    );
    const report = readFileSync(at("docs/compose/greetings.report.md"), "utf8");
    assert.match(report, /Outcome: done/);
    assert.match(report, /T1 hello\.js greets: done/);
    assert.match(report, /- `npm test`: exit 0/);
    // The two tasks are in the task tree of the session that ran the workflow.
    const db = await openDatabase(join(env.packDataDir, "continuum.db"), { readonly: true });
    try {
      const rows = db
        .prepare("SELECT id, title, status FROM tasks WHERE session_id = ? ORDER BY id")
        .all<{ id: string; title: string; status: string }>(session);
      assert.deepEqual(
        rows.map((t) => [t.id, t.status]),
        [
          ["T1", "done"],
          ["T2", "done"],
        ],
      );
    } finally {
      db.close();
    }

    // Same OpenCode, a project whose npm test now fails: compose reports not done with the real exit code, although
    // every agent says its work passed (and the checks agent would say so too, were it asked).
    writeFileSync(
      at("package.json"),
      JSON.stringify({
        name: "fixture",
        private: true,
        scripts: { test: "node -e \"console.log('1 test failed'); process.exit(3)\"" },
      }),
    );
    const failing = await runWorkflow(
      served,
      env,
      await createSession(served),
      'compose {"feature": "greet again", "reviewRounds": 0}',
    );
    assert.equal(failing.status, "done", JSON.stringify(failing));
    assert.equal(failing.result.ok, false);
    assert.deepEqual(
      failing.result.checks.commands.map((c: { command: string; exitCode: number }) => [c.command, c.exitCode]),
      [["npm test", 3]],
    );
    assert.match(failing.result.message, /checks not passed \(`npm test` exit 3\)/);
    assert.match(failing.result.checks.commands[0].tail, /1 test failed/);
    assert.match(readFileSync(at("docs/compose/greetings.report.md"), "utf8"), /- `npm test`: exit 3/);
    assert.ok(
      failing.transcript.some((t) => /check checks: npm test: exit 3 \(failed\)/.test(t.text)),
      JSON.stringify(failing.transcript.slice(-15)),
    );
    assert.equal(model.lane("checks").length, 0);
  });
});

test("compose workflow: two tasks that both changed shared.txt stop at the merge with the file named; nothing applied, the user's own edit kept", {
  timeout: 300000,
}, async () => {
  let projectDir = "";
  const at = (file: string) => join(projectDir, file);
  const spec = "docs/compose/greetings.md";
  await withOpencode(
    {
      model: { lanes: composeLanes(at, spec, true), exhausted: { text: "ok" } },
      install: false,
    },
    async ({ env, model, serve }) => {
      projectDir = env.projectDir;
      writeFileSync(
        at("package.json"),
        JSON.stringify({
          name: "fixture",
          private: true,
          scripts: { test: "node -e \"console.log('2 tests passed')\"" },
        }),
      );
      installPack(env);
      const served = await serve();
      const session = await createSession(served);
      const run = await runWorkflow(served, env, session, 'compose {"feature": "greet and say goodbye"}');
      assert.equal(run.status, "done", JSON.stringify(run));
      const outcome = run.result;
      assert.equal(outcome.ok, false);
      assert.equal(outcome.stage, "merge", JSON.stringify(outcome));
      assert.ok(
        outcome.conflictFiles.includes("shared.txt"),
        `the conflicting file is named: ${JSON.stringify(outcome)}`,
      );
      assert.ok(
        run.transcript.some((t) => /merge stopped: .*shared\.txt/.test(t.text)),
        "the transcript names it too",
      );
      // Every task's change is saved (the one that would have merged cleanly too), and the message says where.
      assert.equal(outcome.saved.length, 2, JSON.stringify(outcome));
      for (const saved of outcome.saved)
        assert.ok(existsSync(saved.file) && outcome.message.includes(saved.file), `${saved.label}: ${saved.file}`);
      for (const file of ["hello.js", "bye.js", "shared.txt"])
        assert.equal(existsSync(at(file)), false, `${file}: nothing was applied`);
      assert.equal(
        readFileSync(at("package.json"), "utf8").includes("fixture"),
        true,
        "the user's uncommitted file is untouched",
      );
      assert.equal(model.lane("checks").length, 0, "no checks after a stopped merge");
    },
  );
});

test("debug workflow: reproduced, two hypotheses investigated side by side, the confirmed one fixed with a regression test, verified afresh", {
  timeout: 240000,
}, async () => {
  let projectDir = "";
  const lanes: Lane[] = [
    stepsLane("reproduce", "Reproduce this problem", () => [
      { toolCalls: [{ name: "bash", args: { command: "node sum.js", description: "reproduce" } }] },
      result({ reproduced: true, command: "node sum.js", output: "sum([]) = NaN" }),
    ]),
    stepsLane("hypotheses", "A failure reproduces", () => [
      result({
        hypotheses: [
          { statement: "reduce has no initial value", test: "read sum.js" },
          { statement: "the input is not an array", test: "log the input" },
        ],
      }),
    ]),
    stepsLane("investigate", "Test one hypothesis", (r) => [
      prompt(r).includes("reduce has no initial value")
        ? { ...result({ verdict: "confirmed", evidence: "sum.js:1 reduce((a, b) => a + b) without 0" }), delayMs: 1500 }
        : { ...result({ verdict: "ruled out", evidence: "input is []" }), delayMs: 1500 },
    ]),
    stepsLane("fix", "Fix the root cause", () => [
      {
        toolCalls: [
          {
            name: "write",
            args: {
              filePath: join(projectDir, "sum.js"),
              content:
                "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\nconsole.log(`sum([]) = ${sum([])}`);\nif (Number.isNaN(sum([]))) process.exit(1);\n",
            },
          },
        ],
      },
      result({
        fixed: true,
        regressionTest: "sum.js exits 1 on NaN",
        summary: "initial value 0 for reduce",
        files: ["sum.js"],
      }),
    ]),
  ];
  await withOpencode({ model: { lanes, exhausted: { text: "ok" } }, install: false }, async ({ env, serve }) => {
    projectDir = env.projectDir;
    writeFileSync(
      join(projectDir, "sum.js"),
      "const sum = (xs) => xs.reduce((a, b) => a + b);\nconsole.log(`sum([]) = ${sum([])}`);\n",
    );
    installPack(env);
    const served = await serve();
    const session = await createSession(served);
    const run = await runWorkflow(served, env, session, "debug sum of an empty list is wrong");
    assert.equal(run.status, "done", JSON.stringify(run));
    assert.equal(run.result.fixed, true, run.result.message);
    assert.deepEqual(
      run.result.hypotheses.map((h: { verdict: string }) => h.verdict),
      ["confirmed", "ruled out"],
    );
    assert.match(readFileSync(join(projectDir, "sum.js"), "utf8"), /a \+ b, 0\)/);
    // Verified by code: the reproduction ran again through check(), its exit code and output from the fixed file.
    assert.deepEqual(
      run.result.verification.commands.map((c: { command: string; exitCode: number }) => [c.command, c.exitCode]),
      [["node sum.js", 0]],
    );
    assert.match(run.result.verification.commands[0].tail, /sum\(\[\]\) = 0/);
    const spans = await childSpans(served, session, /hypothesis/);
    assert.equal(spans.length, 2);
    assert.ok(
      spans[0]!.start < spans[1]!.end && spans[1]!.start < spans[0]!.end,
      `the two investigations overlap in time: ${JSON.stringify(spans)}`,
    );
  });
});
