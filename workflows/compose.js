// Built-in workflow: spec-driven development of one feature. Spec → tasks → independent tasks implemented in
// parallel, each in its own git worktree, test first → merged back into the working tree (the user's index and tree
// backed up first; a conflict stops everything with the files named and every task's change saved) through the
// engine's merge(changes) when it has one → the project's checks, run by code with check() → review by fresh
// agents with at most two rework rounds → report.
export const meta = {
  name: "compose",
  description: "Build a feature the compose way: write the spec, plan tasks, implement independent tasks in parallel worktrees with TDD, merge back safely, run the project's checks, review with bounded rework, report.",
  phases: ["Spec", "Plan", "Implement", "Merge", "Verify", "Review", "Report"],
  args: {
    feature: "what to build (required; a plain string works too)",
    specDir: "folder of the spec inside the project (default docs/compose)",
    reviewRounds: "rework rounds after the review, 0 to 2 (default 2)",
  },
};

const MAX_TASKS = 8;

const SPEC_SCHEMA = {
  type: "object",
  required: ["path", "criteria", "checks"],
  properties: {
    path: { type: "string", minLength: 1 },
    criteria: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 30 },
    checks: { type: "array", items: { type: "string" }, maxItems: 10 },
    decisions: { type: "array", items: { type: "string" }, maxItems: 20 },
  },
};

const PLAN_SCHEMA = {
  type: "object",
  required: ["tasks"],
  properties: {
    tasks: {
      type: "array",
      minItems: 1,
      maxItems: MAX_TASKS,
      items: {
        type: "object",
        required: ["id", "title", "files", "dependsOn"],
        properties: {
          id: { type: "string", pattern: "^T[0-9]+(\\.[0-9]+)*$" },
          title: { type: "string", minLength: 1, maxLength: 200 },
          files: { type: "array", items: { type: "string" }, maxItems: 50 },
          dependsOn: { type: "array", items: { type: "string" } },
          criteria: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
};

const TASK_SCHEMA = {
  type: "object",
  required: ["status", "summary", "files", "tests"],
  properties: {
    status: { enum: ["done", "blocked"] },
    summary: { type: "string", maxLength: 3000 },
    files: { type: "array", items: { type: "string" } },
    tests: {
      type: "array",
      items: { type: "object", required: ["command", "passed"], properties: { command: { type: "string" }, passed: { type: "boolean" }, output: { type: "string", maxLength: 4000 } } },
    },
  },
};

const FIX_SCHEMA = {
  type: "object",
  required: ["fixed", "summary"],
  properties: { fixed: { type: "array", items: { type: "string" } }, summary: { type: "string", maxLength: 3000 } },
};

function normalise(args) {
  const given = typeof args === "string" ? { feature: args } : args && typeof args === "object" && !Array.isArray(args) ? args : {};
  const feature = typeof given.feature === "string" ? given.feature.trim().slice(0, 4000) : "";
  const dir = typeof given.specDir === "string" ? given.specDir.trim().replace(/\/+$/, "") : "";
  // The spec stays inside the project: no absolute path, no way up.
  const specDir = dir && !dir.startsWith("/") && !dir.split("/").includes("..") && !/[\u0000-\u001f]/.test(dir) ? dir : "docs/compose";
  const rounds = Number.isInteger(given.reviewRounds) ? Math.max(0, Math.min(2, given.reviewRounds)) : 2;
  return { feature, specDir, rounds };
}

/** Tasks in waves: each wave holds the tasks whose dependencies were all in earlier waves. */
function waves(tasks) {
  const ids = new Set(tasks.map((t) => t.id));
  const placed = new Set();
  const result = [];
  let left = tasks.map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => ids.has(d) && d !== t.id) }));
  while (left.length) {
    const ready = left.filter((t) => t.dependsOn.every((d) => placed.has(d)));
    // A cycle in the plan: run the rest one by one, in the order given.
    const wave = ready.length ? ready : [left[0]];
    result.push(wave);
    for (const t of wave) placed.add(t.id);
    left = left.filter((t) => !placed.has(t.id));
  }
  return result;
}

/** Two tasks of one wave that name the same file cannot both run isolated and merge cleanly: split them. */
function splitOverlaps(wave) {
  const groups = [];
  for (const task of wave) {
    const group = groups.find((g) => !g.some((other) => other.files.some((f) => task.files.includes(f))));
    if (group) group.push(task);
    else groups.push([task]);
  }
  return groups;
}

function taskPrompt(task, spec, isolated) {
  return [
    `Implement task ${task.id} of the feature specified in ${spec.path}: ${task.title}.`,
    task.criteria && task.criteria.length ? `Acceptance criteria it covers: ${task.criteria.join("; ")}.` : "",
    task.files.length ? `Files it is expected to touch: ${task.files.join(", ")}. Touch no file another task owns.` : "",
    isolated ? "You work in your own git worktree of the project: change files only there; the workflow merges your change back." : "Other tasks ran before you in this same working tree: keep to your task's files.",
    "Work test first: write a failing test and run it (show the failure), write the least code to pass, run it again, refactor, and run the tests of the area.",
    `Mark progress in the task tree with the tasks tool (start ${task.id}; done only when its tests pass, block with the reason otherwise).`,
    spec.checks.length ? `The project's checks: ${spec.checks.join(" ; ")}. Run them before you finish.` : "Run the project's tests before you finish.",
    "Report status done or blocked, a short summary, the files you changed, and each test command you ran with whether it passed.",
  ].filter(Boolean).join("\n");
}

/** At most this many check commands per round: a spec naming more is cut, said in the log. */
const MAX_CHECKS = 10;

/**
 * The project's checks, run by code through check() (a snapshot worktree, the OS sandbox, a time limit): passed is
 * decided from the exit codes here, never from an agent's report. No command at all is not a pass either.
 */
async function runProjectChecks(spec, label) {
  const named = spec.checks.map((c) => (typeof c === "string" ? c.trim() : "")).filter(Boolean);
  const commands = named.length ? named : typeof projectChecks === "function" ? await projectChecks() : [];
  if (commands.length > MAX_CHECKS) log(`only the first ${MAX_CHECKS} of ${commands.length} checks run`);
  const ran = [];
  for (const command of commands.slice(0, MAX_CHECKS)) {
    try {
      if (typeof check !== "function") throw new Error("this workflow engine has no check()");
      ran.push(await check(command, { label: `${label}: ${command}`.slice(0, 200) }));
    } catch (error) {
      ran.push({ command, exitCode: null, passed: false, timedOut: false, durationMs: 0, tail: `not run: ${error && error.message ? error.message : String(error)}`, sandboxed: false });
    }
  }
  const passed = ran.length > 0 && ran.every((r) => r.exitCode === 0 && !r.timedOut);
  return { passed, source: named.length ? "spec" : "detected", commands: ran };
}

/** `npm test` exit 1, or timed out / no exit code: how a check ended, in words. */
function ended(c) {
  return c.timedOut ? "timed out" : c.exitCode === null || c.exitCode === undefined ? "no exit code" : `exit ${c.exitCode}`;
}

function lastLine(text) {
  const lines = String(text || "").split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1].slice(0, 200) : "";
}

export default async function (args) {
  const input = normalise(args);
  if (!input.feature) return { ok: false, stage: "input", message: "compose needs a feature: run it with {\"feature\": \"what to build\"} or a plain string" };
  const canMerge = typeof merge === "function";
  const outcome = { ok: false, feature: input.feature, decisions: [], tasks: [], merge: null, checks: null, review: null, rework: 0 };

  phase("Spec");
  const spec = await agent(
    [
      `Write the spec of this feature for the project: ${input.feature}`,
      "First read the code the feature touches and the project's README; choose the smallest approach that works.",
      `Write the spec file to ${input.specDir}/<feature-name>.md (kebab-case name) with these sections: Goal; Behaviour (input → output, errors and edge cases); Out of scope; Design (files and interfaces touched, rejected options in a line each); Acceptance criteria (numbered, each checkable by a command or a test); Checks (the project's exact test/typecheck/lint/build commands, as found in package.json, Makefile or CI config).`,
      "Decide what is not settled yourself and list each decision with its reason (nobody can answer questions in this run).",
      "Return the spec's path, its acceptance criteria, the exact check commands of the project it names, and your decisions.",
    ].join("\n"),
    { schema: SPEC_SCHEMA, label: "spec", phase: "Spec" },
  );
  if (!spec) return { ...outcome, stage: "spec", message: "no spec was written (the spec agent failed)" };
  if (!(await exists(spec.path))) return { ...outcome, stage: "spec", message: `the spec agent named ${spec.path}, but no such file exists` };
  outcome.spec = spec.path;
  outcome.decisions = spec.decisions || [];

  phase("Plan");
  const plan = await agent(
    [
      `Plan the implementation of the spec in ${spec.path}.`,
      `Split it into at most ${MAX_TASKS} tasks, create each one in the task tree with the tasks tool, and return them with the ids the tool gave (T1, T2, …), the files each will touch, and which tasks each depends on.`,
      "Two tasks are independent when they touch different files and neither needs the other's result: give them no dependency, so they can run in parallel.",
    ].join("\n"),
    { schema: PLAN_SCHEMA, label: "plan", phase: "Plan" },
  );
  if (!plan) return { ...outcome, stage: "plan", message: "no plan (the planning agent failed)" };
  const tasks = plan.tasks.slice(0, MAX_TASKS);

  phase("Implement");
  const results = {};
  for (const wave of waves(tasks)) {
    for (const group of splitOverlaps(wave)) {
      if (canMerge) {
        const done = await parallel(group.map((task) => () => agent(taskPrompt(task, spec, true), { schema: TASK_SCHEMA, label: `implement ${task.id}`, phase: "Implement", isolation: "worktree" })));
        // An isolated agent's answer is { value, diff, files }: its result, and what it changed in its worktree.
        const changes = [];
        group.forEach((task, i) => {
          const answer = done[i];
          results[task.id] = answer ? answer.value : null;
          if (answer && typeof answer.diff === "string" && answer.diff.trim()) changes.push({ label: `implement ${task.id}`, diff: answer.diff });
        });
        phase("Merge");
        const merged = await merge(changes);
        outcome.merge = merged;
        if (!merged || !merged.ok) {
          const conflict = merged && merged.conflict ? merged.conflict : { reason: "the merge did not answer", files: [] };
          log(`merge stopped: ${conflict.reason}${conflict.files && conflict.files.length ? ` (files: ${conflict.files.join(", ")})` : ""}`);
          outcome.tasks = tasks.map((t) => ({ id: t.id, title: t.title, result: results[t.id] || null }));
          const saved = merged && merged.saved ? merged.saved : [];
          if (saved.length) log(`every change is saved: ${saved.map((x) => `${x.label} → ${x.file}`).join("; ")}`);
          const where = saved.length ? `; every task's change is saved: ${saved.map((x) => `${x.label} → ${x.file}`).join("; ")}` : "";
          return { ...outcome, stage: "merge", message: `merge stopped${conflict.label ? ` at ${conflict.label}` : ""}: ${conflict.reason}${where}`, conflictFiles: conflict.files || [], saved, kept: merged ? merged.kept : [] };
        }
        phase("Implement");
      } else {
        // No merge primitive in this engine: isolated work could not come back, so tasks share the working tree, one at a time.
        log("no merge() in this workflow engine: tasks run one after another in the working tree");
        for (const task of group) results[task.id] = await agent(taskPrompt(task, spec, false), { schema: TASK_SCHEMA, label: `implement ${task.id}`, phase: "Implement" });
      }
    }
  }
  outcome.tasks = tasks.map((t) => ({ id: t.id, title: t.title, result: results[t.id] || null }));
  const unfinished = outcome.tasks.filter((t) => !t.result || t.result.status !== "done").map((t) => t.id);
  if (unfinished.length) log(`tasks not done: ${unfinished.join(", ")}`);

  let checks = null;
  let review = null;
  for (let round = 0; ; round++) {
    phase("Verify");
    checks = await runProjectChecks(spec, round ? `checks after rework ${round}` : "checks");
    for (const c of checks.commands) log(`check \`${c.command}\`: ${ended(c)}${c.sandboxed === false ? " (not sandboxed)" : ""}`);
    if (!checks.commands.length) log("no checks to run: the spec names none and the project has no test command that could be found");
    phase("Review");
    try {
      review = await workflow("review", { target: "the uncommitted changes (git diff HEAD and untracked files)", spec: spec.path });
    } catch (error) {
      log(`review failed: ${error && error.message ? error.message : String(error)}`);
      review = null;
    }
    const failing = checks.commands.filter((c) => !(c.exitCode === 0 && !c.timedOut));
    if ((checks.passed && review && review.accepted) || round >= input.rounds) break;
    const problems = [
      // The output's end is where a test runner sums up: the rework agent reads it there.
      ...failing.map((c) => `Failing check \`${c.command}\` (${ended(c)}), the end of its output:\n${String(c.tail || "").slice(-1500)}`),
      ...(review ? review.findings.filter((f) => f.severity === "blocker" || f.severity === "major").map((f) => `[${f.severity}] ${f.file}:${f.line} ${f.title}: ${f.why}${f.fix ? ` Fix: ${f.fix}` : ""}`) : []),
    ];
    if (!problems.length) break;
    phase("Review");
    outcome.rework = round + 1;
    const fixed = await agent(
      [
        `Rework round ${round + 1} of ${input.rounds} for the feature in ${spec.path}. Fix exactly these confirmed problems in the working tree, nothing else, each test first (a failing test shown, then passing):`,
        ...problems.map((p) => `- ${p}`),
        "Then run the project's checks. Report what you fixed.",
      ].join("\n"),
      { schema: FIX_SCHEMA, label: `rework ${round + 1}`, phase: "Review" },
    );
    if (!fixed) log(`rework ${round + 1}: the agent failed`);
  }
  outcome.checks = checks;
  outcome.review = review;

  phase("Report");
  outcome.ok = unfinished.length === 0 && !!checks && checks.passed && !!review && review.accepted;
  const checkWords = checks && checks.commands.length ? checks.commands.map((c) => `\`${c.command}\` ${ended(c)}`).join(", ") : "no checks ran";
  outcome.message = outcome.ok
    ? `done: ${tasks.length} task(s), checks pass (${checkWords}), review accepted${outcome.rework ? ` after ${outcome.rework} rework round(s)` : ""}`
    : `not done: ${[unfinished.length ? `unfinished tasks ${unfinished.join(", ")}` : "", checks && checks.passed ? "" : `checks not passed (${checkWords})`, review && review.accepted ? "" : "review not accepted"].filter(Boolean).join("; ")}`;
  log(outcome.message);
  outcome.report = spec.path.replace(/\.md$/, "") + ".report.md";
  await writeFile(outcome.report, reportText(outcome));
  return outcome;
}

/** The run's report, written next to the spec (made from the results, no model call). */
function reportText(o) {
  const lines = [`# Compose report: ${o.feature.split("\n")[0].slice(0, 120)}`, "", `Outcome: ${o.message}.`, `Spec: ${o.spec}`, "", "## Tasks"];
  for (const t of o.tasks) lines.push(`- ${t.id} ${t.title}: ${t.result ? `${t.result.status}. ${t.result.summary.split("\n")[0].slice(0, 300)}` : "no result"}`);
  lines.push("", "## Checks (after the last change, run by the workflow itself)");
  if (o.checks && o.checks.commands.length) {
    for (const c of o.checks.commands) lines.push(`- \`${c.command}\`: ${ended(c)}${c.sandboxed === false ? " (not sandboxed)" : ""}${lastLine(c.tail) ? `, last line: ${lastLine(c.tail)}` : ""}`);
  } else lines.push("- none ran (the spec names none and no test command was found): not a pass");
  lines.push("", "## Review");
  if (o.review) {
    lines.push(`Verdict: ${o.review.accepted ? "accepted" : "not accepted"}${o.rework ? ` after ${o.rework} rework round(s)` : ""}.`);
    for (const f of o.review.findings) lines.push(`- [${f.severity}] ${f.file}:${f.line} ${f.title}`);
  } else lines.push("No review verdict.");
  if (o.merge && o.merge.merged) lines.push("", "## Merged", ...o.merge.merged.map((m) => `- ${m.label}: ${m.files.join(", ")}`));
  if (o.merge && o.merge.backup) lines.push(`Your index and working tree were backed up first: \`continuum restore ${o.merge.backup}\` puts them back.`);
  lines.push("", "## Decisions taken without asking", ...(o.decisions.length ? o.decisions.map((d) => `- ${d}`) : ["- none"]));
  return lines.join("\n") + "\n";
}
