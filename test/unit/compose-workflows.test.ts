// The built-in workflow scripts' own logic (waves, merge stop, rework bound, dropping unconfirmed findings), run
// against a small stand-in for the workflow engine's script API. The engine itself, and these scripts inside it with
// the real host, are tested on the workflow branch and in test/e2e once both are on main.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/env.ts";

type AgentOpts = { schema?: unknown; label?: string; phase?: string; isolation?: string; agent?: string };
type Call = { prompt: string; opts: AgentOpts };

interface Api {
  agent(prompt: string, opts: AgentOpts): Promise<unknown>;
  merge?: (changes: { label: string; diff: string }[]) => Promise<unknown>;
  workflow?: (name: string, args: unknown) => Promise<unknown>;
  exists?: (path: string) => Promise<boolean>;
  /** The engine's check(): by default every command exits 0. */
  check?: (command: string, opts: { label?: string }) => Promise<unknown>;
  projectChecks?: () => Promise<string[]>;
}

const exited = (command: string, exitCode: number | null, tail = "") => ({
  command,
  exitCode,
  passed: exitCode === 0,
  timedOut: false,
  durationMs: 5,
  tail,
  sandboxed: true,
});

const GLOBALS = [
  "agent",
  "parallel",
  "pipeline",
  "dag",
  "workflow",
  "phase",
  "log",
  "readFile",
  "writeFile",
  "glob",
  "exists",
  "merge",
  "check",
  "projectChecks",
];

function load(name: string) {
  const source = readFileSync(join(REPO_ROOT, "workflows", `${name}.js`), "utf8");
  const body = source
    .replace(/^export const meta =/m, "const meta =")
    .replace(/^export default async function/m, "const main = async function");
  const factory = new Function(...GLOBALS, `${body}\nreturn { meta, main };`);
  return (api: Api) => {
    const calls: Call[] = [];
    const logs: string[] = [];
    const phases: string[] = [];
    const written: Record<string, string> = {};
    let inFlight = 0;
    let maxInFlight = 0;
    const agent = async (prompt: string, opts: AgentOpts) => {
      calls.push({ prompt, opts });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      try {
        return await api.agent(prompt, opts);
      } finally {
        inFlight--;
      }
    };
    const parallel = (thunks: (() => unknown)[]) => Promise.all(thunks.map((t) => t()));
    const checked: string[] = [];
    const check = async (command: string, opts: { label?: string }) => (
      checked.push(command), api.check ? api.check(command, opts) : exited(command, 0, "3 passed")
    );
    const script = factory(
      agent,
      parallel,
      undefined,
      undefined,
      api.workflow ?? (async () => null),
      (title: string) => phases.push(title),
      (...parts: unknown[]) => logs.push(parts.join(" ")),
      async () => "",
      async (path: string, text: string) => void (written[path] = text),
      async () => [],
      api.exists ?? (async () => true),
      api.merge,
      check,
      api.projectChecks ?? (async () => []),
    ) as { meta: { name: string; phases: string[] }; main(args: unknown): Promise<any> };
    return { script, calls, logs, phases, written, checked, maxInFlight: () => maxInFlight };
  };
}

test("each built-in script declares its name and phases in a literal meta", () => {
  for (const name of ["compose", "review", "debug"]) {
    const { script } = load(name)({ agent: async () => null });
    assert.equal(script.meta.name, name);
    assert.ok(script.meta.phases.length >= 2);
    // Its agents run as the general subagent, to which the compose-* skills are not offered: prompts stand alone.
    assert.doesNotMatch(
      readFileSync(join(REPO_ROOT, "workflows", `${name}.js`), "utf8"),
      /compose-(tdd|spec|plan|debug|brainstorm)|load the .* skill/i,
    );
  }
});

// ---- review ------------------------------------------------------------------------------------------------------

const finding = (severity: string, file: string, line: number, title: string) => ({
  severity,
  file,
  line,
  title,
  why: `${title} because`,
});

test("review: lenses run in parallel, duplicates merge, and only findings the verifier confirms with evidence are kept", async () => {
  const run = load("review")({
    agent: async (prompt, opts) => {
      if (opts.label === "review: correctness")
        return { findings: [finding("major", "src/a.ts", 10, "Off by one"), finding("minor", "src/a.ts", 3, "Name")] };
      if (opts.label === "review: tests")
        return {
          findings: [finding("major", "src/a.ts", 10, "off by one"), finding("blocker", "src/b.ts", 1, "Imagined bug")],
        };
      if (opts.label === "verify findings") {
        assert.match(prompt, /F1 \[major\] src\/a\.ts:10 Off by one/);
        return {
          confirmed: [
            { id: "F1", evidence: "a.ts:10 `i <= n` reads past the end; node -e test prints undefined" },
            { id: "F9", evidence: "unknown id" },
            { id: "F2", evidence: "  " },
          ],
          rejected: [{ id: "F3", why: "b.ts:1 is a comment" }],
        };
      }
      return { findings: [] };
    },
  });
  const result = await run.script.main({});
  assert.equal(run.maxInFlight(), 4, "four lenses at once");
  assert.deepEqual(
    result.findings.map((f: { id: string }) => f.id),
    ["F1"],
  );
  assert.equal(result.accepted, false, "a confirmed major finding rejects the change");
  assert.deepEqual(
    result.evidence.map((e: { id: string }) => e.id),
    ["F1"],
  );
  assert.deepEqual(
    result.dropped.map((d: { id: string; why: string }) => [d.id, d.why]),
    [
      ["F2", "not confirmed by the verifier"],
      ["F3", "b.ts:1 is a comment"],
    ],
  );
});

test("review: no findings is acceptance without a verifier; a silent verifier confirms nothing and accepts nothing", async () => {
  const clean = load("review")({ agent: async () => ({ findings: [] }) });
  assert.deepEqual(await clean.script.main("main..HEAD"), { accepted: true, findings: [], evidence: [], dropped: [] });
  assert.ok(!clean.calls.some((c) => c.opts.label === "verify findings"));
  assert.match(clean.calls[0]!.prompt, /main\.\.HEAD/);
  const silent = load("review")({
    agent: async (_p, o) => (o.label === "verify findings" ? null : { findings: [finding("minor", "x", 1, "t")] }),
  });
  const result = await silent.script.main({ lenses: ["tests", "bogus", "tests"] });
  assert.equal(
    silent.calls.filter((c) => c.opts.label?.startsWith("review:")).length,
    1,
    "unknown and repeated lenses are ignored",
  );
  assert.equal(result.accepted, false);
  assert.deepEqual(result.findings, []);
});

// ---- compose -----------------------------------------------------------------------------------------------------

const task = (id: string, files: string[], dependsOn: string[] = []) => ({ id, title: `task ${id}`, files, dependsOn });

function composeAgent(
  overrides: Partial<Record<string, (prompt: string) => unknown>> = {},
  plan = [task("T1", ["a.ts"]), task("T2", ["b.ts"])],
) {
  return async (prompt: string, opts: AgentOpts) => {
    const label = opts.label ?? "";
    const override = Object.entries(overrides).find(([prefix]) => label.startsWith(prefix));
    if (override) return override[1]!(prompt);
    if (label === "spec")
      return {
        path: "docs/compose/csv-export.md",
        criteria: ["exports CSV"],
        checks: ["npm test"],
        decisions: ["comma separator: the usual"],
      };
    if (label === "plan") return { tasks: plan };
    if (label.startsWith("implement")) {
      const value = {
        status: "done",
        summary: `did ${label}`,
        files: ["x"],
        tests: [{ command: "npm test", passed: true }],
      };
      // In a worktree the engine hands back the result with the diff of what the agent changed there.
      return opts.isolation === "worktree"
        ? { value, diff: `diff --git a/${label} b/${label}\n`, files: [label] }
        : value;
    }
    if (label.startsWith("rework")) return { fixed: ["F1"], summary: "fixed" };
    return null;
  };
}

test("compose: spec, plan, two independent tasks in parallel worktrees, one merge, checks, review, a report file", async () => {
  const merges: { label: string; diff: string }[][] = [];
  const reviews: unknown[] = [];
  const run = load("compose")({
    agent: composeAgent(),
    merge: async (changes) => {
      merges.push(changes);
      return {
        ok: true,
        merged: changes.map((c) => ({ label: c.label, files: ["x"] })),
        unchanged: [],
        kept: [],
        backup: "2026-12-07T10-00-00-000Z",
      };
    },
    workflow: async (name, args) => {
      reviews.push([name, args]);
      return { accepted: true, findings: [], evidence: [] };
    },
  });
  const result = await run.script.main({ feature: "CSV export", specDir: "specs" });
  assert.equal(result.ok, true, result.message);
  assert.match(run.calls[0]!.prompt, /specs\/<feature-name>\.md/);
  const implement = run.calls.filter((c) => c.opts.label?.startsWith("implement"));
  assert.deepEqual(
    implement.map((c) => c.opts.isolation),
    ["worktree", "worktree"],
  );
  assert.equal(run.maxInFlight(), 2, "the two independent tasks ran at the same time");
  assert.deepEqual(
    merges,
    [
      [
        { label: "implement T1", diff: "diff --git a/implement T1 b/implement T1\n" },
        { label: "implement T2", diff: "diff --git a/implement T2 b/implement T2\n" },
      ],
    ],
    "the diffs the engine handed back",
  );
  assert.match(
    run.written["docs/compose/csv-export.report.md"]!,
    /T1 task T1: done\. did implement T1/,
    "the task's own result, not the engine's wrapper",
  );
  assert.deepEqual(reviews, [
    [
      "review",
      { target: "the uncommitted changes (git diff HEAD and untracked files)", spec: "docs/compose/csv-export.md" },
    ],
  ]);
  assert.deepEqual(
    run.phases.filter((p, i, all) => all.indexOf(p) === i),
    ["Spec", "Plan", "Implement", "Merge", "Verify", "Review", "Report"],
  );
  const report = run.written["docs/compose/csv-export.report.md"];
  assert.ok(report, "the report is written next to the spec");
  assert.match(report!, /Outcome: done/);
  assert.match(report!, /`npm test`: exit 0, last line: 3 passed/);
  assert.deepEqual(run.checked, ["npm test"], "the spec's check ran by code");
  assert.ok(!run.calls.some((c) => /checks/.test(c.opts.label ?? "")), "no agent is asked whether the checks pass");
  assert.match(report!, /comma separator: the usual/);
  assert.match(report!, /backed up first: `continuum restore 2026-12-07T10-00-00-000Z` puts them back/);
});

test("compose: a merge conflict stops the run with the files named; nothing is checked or reviewed on a half merge", async () => {
  const run = load("compose")({
    agent: composeAgent(),
    merge: async () => ({
      ok: false,
      merged: [],
      unchanged: [],
      conflict: { label: "implement T2", reason: "it does not apply", files: ["src/shared.ts"] },
      saved: [
        { label: "implement T1", file: "/data/c/01-T1.diff" },
        { label: "implement T2", file: "/data/c/02-T2.diff" },
      ],
      kept: [
        { label: "implement T1", dir: "/wt/1" },
        { label: "implement T2", dir: "/wt/2" },
      ],
    }),
  });
  const result = await run.script.main("CSV export");
  assert.equal(result.ok, false);
  assert.equal(result.stage, "merge");
  assert.deepEqual(result.conflictFiles, ["src/shared.ts"]);
  assert.equal(result.kept.length, 2);
  assert.match(result.message, /merge stopped at implement T2/);
  assert.match(
    result.message,
    /every task's change is saved: implement T1 → \/data\/c\/01-T1\.diff; implement T2 → \/data\/c\/02-T2\.diff/,
  );
  assert.equal(result.saved.length, 2);
  assert.deepEqual(run.checked, [], "nothing is checked on a half merge");
});

test("compose: dependent tasks wait for their dependency's merge; tasks naming one file never run side by side", async () => {
  const merges: string[][] = [];
  const run = load("compose")({
    agent: composeAgent({}, [
      task("T1", ["a.ts"]),
      task("T2", ["b.ts"], ["T1"]),
      task("T3", ["a.ts"]),
      task("T4", ["c.ts"], ["T9"]),
    ]),
    merge: async (changes) => (
      merges.push(changes.map((c) => c.label)), { ok: true, merged: [], unchanged: [], kept: [] }
    ),
    workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
  });
  const result = await run.script.main({ feature: "f" });
  assert.equal(result.ok, true, result.message);
  assert.deepEqual(
    merges,
    [["implement T1", "implement T4"], ["implement T3"], ["implement T2"]],
    "an unknown dependency is ignored",
  );
});

test("compose: review rework is bounded (two rounds by default, fewer when asked), and the run says it is not done", async () => {
  const major = {
    accepted: false,
    findings: [{ severity: "major", file: "a.ts", line: 2, title: "bug", why: "w", fix: "f" }],
    evidence: [],
  };
  for (const [rounds, expected] of [
    [undefined, 2],
    [0, 0],
    [1, 1],
    [9, 2],
  ] as const) {
    const run = load("compose")({
      agent: composeAgent(),
      merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
      workflow: async () => major,
    });
    const result = await run.script.main({ feature: "f", reviewRounds: rounds });
    assert.equal(
      run.calls.filter((c) => c.opts.label?.startsWith("rework")).length,
      expected,
      `reviewRounds ${rounds}`,
    );
    assert.equal(result.ok, false);
    assert.match(result.message, /review not accepted/);
  }
  const run = load("compose")({
    agent: composeAgent(),
    merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
    workflow: async () => major,
  });
  await run.script.main({ feature: "f" });
  assert.match(run.calls.find((c) => c.opts.label === "rework 1")!.prompt, /\[major\] a\.ts:2 bug: w Fix: f/);
});

test("compose: failing checks (their exit code, by code) trigger rework with the output's end; fixed on the second look", async () => {
  let runs = 0;
  const run = load("compose")({
    agent: composeAgent(),
    check: async (command) =>
      ++runs === 1
        ? exited(command, 1, "lots of output\nFAIL test/a.test.js\n1 failed, 2 passed")
        : exited(command, 0, "3 passed"),
    merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
    workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
  });
  const result = await run.script.main("f");
  assert.equal(result.ok, true, result.message);
  assert.equal(result.rework, 1);
  assert.match(
    run.calls.find((c) => c.opts.label === "rework 1")!.prompt,
    /`npm test` \(exit 1\)[\s\S]*1 failed, 2 passed/,
  );
  assert.match(result.message, /checks pass \(`npm test` exit 0\)/);
});

test("compose: an agent that claims the checks pass does not make them pass; no exit code, a timeout or no check at all is not a pass", async () => {
  const liar = composeAgent({ checks: () => ({ passed: true, commands: [{ command: "npm test", exitCode: 0 }] }) });
  const cases: [string, (command: string) => unknown, RegExp][] = [
    ["exit 1", (command) => exited(command, 1, "1 failed"), /checks not passed \(`npm test` exit 1\)/],
    ["killed", (command) => exited(command, null, "killed"), /checks not passed \(`npm test` no exit code\)/],
    [
      "timed out",
      (command) => ({ ...exited(command, 0), timedOut: true, passed: false }),
      /checks not passed \(`npm test` timed out\)/,
    ],
    [
      "throws",
      () => Promise.reject(new Error("check(command): command is empty")),
      /checks not passed \(`npm test` no exit code\)/,
    ],
  ];
  for (const [name, check, message] of cases) {
    const run = load("compose")({
      agent: liar,
      check: async (c) => check(c),
      merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
      workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
    });
    const result = await run.script.main({ feature: "f", reviewRounds: 0 });
    assert.equal(result.ok, false, name);
    assert.match(result.message, message, name);
    assert.equal(result.checks.passed, false, name);
    assert.match(
      run.written["docs/compose/csv-export.report.md"]!,
      /## Checks \(after the last change, run by the workflow itself\)\n- `npm test`: /,
      name,
    );
  }
  // The spec names no check: the project's own test command is found and run; none found is not done.
  const detected = load("compose")({
    agent: composeAgent({ spec: () => ({ path: "docs/compose/x.md", criteria: ["c"], checks: [] }) }),
    projectChecks: async () => ["cargo test"],
    merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
    workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
  });
  assert.equal((await detected.script.main("f")).ok, true);
  assert.deepEqual(detected.checked, ["cargo test"]);
  const none = load("compose")({
    agent: composeAgent({ spec: () => ({ path: "docs/compose/x.md", criteria: ["c"], checks: [] }) }),
    merge: async () => ({ ok: true, merged: [], unchanged: [], kept: [] }),
    workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
  });
  const unverified = await none.script.main("f");
  assert.equal(unverified.ok, false);
  assert.match(unverified.message, /checks not passed \(no checks ran\)/);
  assert.equal(
    none.calls.filter((c) => c.opts.label?.startsWith("rework")).length,
    0,
    "nothing to rework for a project without checks",
  );
  assert.match(none.written["docs/compose/x.report.md"]!, /none ran .*not a pass/);
});

test("compose: without a merge primitive the tasks share the tree one by one; bad input and a missing spec file stop early", async () => {
  const run = load("compose")({
    agent: composeAgent(),
    workflow: async () => ({ accepted: true, findings: [], evidence: [] }),
  });
  const result = await run.script.main("f");
  assert.equal(result.ok, true);
  assert.equal(run.maxInFlight(), 1);
  assert.ok(run.calls.every((c) => c.opts.isolation === undefined));
  assert.ok(run.logs.some((l) => /no merge\(\)/.test(l)));

  for (const bad of [undefined, {}, { feature: "  " }, 42, ["x"]])
    assert.equal((await load("compose")({ agent: composeAgent() }).script.main(bad)).stage, "input");
  const escaping = load("compose")({ agent: composeAgent() });
  await escaping.script.main({ feature: "f", specDir: "../../etc" });
  assert.match(escaping.calls[0]!.prompt, /docs\/compose\/<feature-name>\.md/);
  const noFile = load("compose")({ agent: composeAgent(), exists: async () => false });
  assert.match((await noFile.script.main("f")).message, /no such file exists/);
  const noSpec = load("compose")({ agent: composeAgent({ spec: () => null }) });
  assert.equal((await noSpec.script.main("f")).stage, "spec");
});

// ---- debug -------------------------------------------------------------------------------------------------------

test("debug: stops when the failure does not reproduce or no cause is confirmed; fixes and verifies otherwise", async () => {
  const base = (over: Record<string, unknown>) => async (_p: string, o: AgentOpts) => {
    const label = o.label ?? "";
    if (label in over) return over[label];
    if (label === "reproduce")
      return { reproduced: true, command: "npm test -- parse", output: "TypeError: x is undefined" };
    if (label === "hypotheses")
      return {
        hypotheses: [
          { statement: "null input", test: "run with null" },
          { statement: "stale cache", test: "clear cache" },
        ],
      };
    if (label === "hypothesis 1") return { verdict: "confirmed", evidence: "parse(null) throws at parse.ts:4" };
    if (label === "hypothesis 2") return { verdict: "ruled out", evidence: "no cache involved" };
    if (label === "fix")
      return {
        fixed: true,
        regressionTest: "test/parse.test.ts: null input",
        summary: "guard null input",
        files: ["parse.ts"],
      };
    return null;
  };
  const fixed = load("debug")({ agent: base({}) });
  const result = await fixed.script.main("parse crashes on empty input");
  assert.equal(result.fixed, true, result.message);
  assert.equal(fixed.maxInFlight(), 2, "hypotheses investigated in parallel");
  assert.match(fixed.calls.find((c) => c.opts.label === "fix")!.prompt, /parse\(null\) throws/);
  assert.equal(
    (
      await load("debug")({ agent: base({ reproduce: { reproduced: false, command: "x", output: "" } }) }).script.main(
        "p",
      )
    ).stage,
    "reproduce",
  );
  assert.equal((await load("debug")({ agent: base({ "hypothesis 1": null }) }).script.main("p")).stage, "investigate");
  assert.deepEqual(fixed.checked, ["npm test -- parse"], "the reproduction ran again by code");
  // The verifying agent is gone: the exit codes decide, whatever an agent would say.
  const failing = load("debug")({
    agent: base({ verify: { passed: true, commands: [] } }),
    projectChecks: async () => ["npm test", "npm test -- parse"],
    check: async (c) => exited(c, c === "npm test" ? 1 : 0),
  });
  const unverified = await failing.script.main("p");
  assert.equal(unverified.fixed, false);
  assert.deepEqual(failing.checked, ["npm test -- parse", "npm test"], "each command once");
  assert.match(unverified.message, /did not pass its verification: `npm test -- parse` exit 0, `npm test` exit 1/);
  assert.equal((await load("debug")({ agent: base({}) }).script.main({})).stage, "input");
});
