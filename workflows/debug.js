// Built-in workflow: systematic debugging. Reproduce → hypotheses → each hypothesis investigated by its own agent
// in parallel → root cause → fix with a regression test (red, then green) → the reproduction and the project's
// checks run again by code (check(), confined; exit codes decide). Stops early, saying why, when the failure does
// not reproduce or no cause is confirmed.
export const meta = {
  name: "debug",
  description: "Find and fix a bug systematically: reproduce it, investigate several hypotheses in parallel, confirm the root cause, fix it with a regression test, verify with a fresh run.",
  phases: ["Reproduce", "Investigate", "Fix", "Verify"],
  args: { problem: "the failure: error text, failing command or wrong behaviour (required; a plain string works too)" },
};

const REPRO_SCHEMA = {
  type: "object",
  required: ["reproduced", "command", "output"],
  properties: { reproduced: { type: "boolean" }, command: { type: "string" }, output: { type: "string", maxLength: 4000 } },
};
const HYPOTHESES_SCHEMA = {
  type: "object",
  required: ["hypotheses"],
  properties: {
    hypotheses: {
      type: "array",
      minItems: 1,
      maxItems: 4,
      items: { type: "object", required: ["statement", "test"], properties: { statement: { type: "string", maxLength: 500 }, test: { type: "string", maxLength: 1000 } } },
    },
  },
};
const FINDING_SCHEMA = {
  type: "object",
  required: ["verdict", "evidence"],
  properties: { verdict: { enum: ["confirmed", "ruled out", "unclear"] }, evidence: { type: "string", maxLength: 3000 } },
};
const FIX_SCHEMA = {
  type: "object",
  required: ["fixed", "regressionTest", "summary"],
  properties: { fixed: { type: "boolean" }, regressionTest: { type: "string" }, summary: { type: "string", maxLength: 3000 }, files: { type: "array", items: { type: "string" } } },
};
/**
 * The reproduction and the project's checks, run by code through check() (a snapshot worktree, the OS sandbox, a
 * time limit): each must exit 0. A command that could not run, timed out or has no exit code is not a pass.
 */
async function verifyByCode(commands) {
  const ran = [];
  for (const command of commands) {
    try {
      if (typeof check !== "function") throw new Error("this workflow engine has no check()");
      ran.push(await check(command, { label: `verify: ${command}`.slice(0, 200) }));
    } catch (error) {
      ran.push({ command, exitCode: null, passed: false, timedOut: false, durationMs: 0, tail: `not run: ${error && error.message ? error.message : String(error)}`, sandboxed: false });
    }
  }
  for (const c of ran) log(`check \`${c.command}\`: ${c.timedOut ? "timed out" : c.exitCode === null ? "no exit code" : `exit ${c.exitCode}`}`);
  return { passed: ran.length > 0 && ran.every((c) => c.exitCode === 0 && !c.timedOut), commands: ran };
}

export default async function (args) {
  const given = typeof args === "string" ? { problem: args } : args && typeof args === "object" && !Array.isArray(args) ? args : {};
  const problem = typeof given.problem === "string" ? given.problem.trim().slice(0, 4000) : "";
  if (!problem) return { fixed: false, stage: "input", message: "debug needs the problem: run it with {\"problem\": \"…\"} or a plain string" };

  phase("Reproduce");
  const repro = await agent(
    `Reproduce this problem in the project with the shortest command you can find, and run it. Do not change any project file.\nProblem: ${problem}\nReport whether it reproduced, the command, and its output (the relevant part).`,
    { schema: REPRO_SCHEMA, label: "reproduce", phase: "Reproduce" },
  );
  if (!repro) return { fixed: false, stage: "reproduce", message: "the reproducing agent failed" };
  if (!repro.reproduced) return { fixed: false, stage: "reproduce", message: "the problem did not reproduce; collect more facts (inputs, environment, versions) before changing code", reproduction: repro };

  phase("Investigate");
  const listed = await agent(
    `A failure reproduces with \`${repro.command}\`:\n${repro.output}\nRead the code involved (do not change files) and give two to four distinct hypotheses for its root cause, each with the observation that would confirm or rule it out.`,
    { schema: HYPOTHESES_SCHEMA, label: "hypotheses", phase: "Investigate" },
  );
  if (!listed) return { fixed: false, stage: "investigate", message: "no hypotheses (the agent failed)", reproduction: repro };
  const findings = await parallel(
    listed.hypotheses.map((h, i) => () =>
      agent(
        `Test one hypothesis about a failure that reproduces with \`${repro.command}\`.\nHypothesis: ${h.statement}\nHow to test it: ${h.test}\nRead code, run narrow commands or temporary scripts outside the project's files; do not change project files. Answer confirmed, ruled out or unclear, with the evidence (quoted lines, command output).`,
        { schema: FINDING_SCHEMA, label: `hypothesis ${i + 1}`, phase: "Investigate" },
      ),
    ),
  );
  const investigated = listed.hypotheses.map((h, i) => ({ ...h, verdict: findings[i] ? findings[i].verdict : "unclear", evidence: findings[i] ? findings[i].evidence : "the agent failed" }));
  const confirmed = investigated.filter((h) => h.verdict === "confirmed");
  for (const h of investigated) log(`hypothesis "${h.statement.slice(0, 80)}": ${h.verdict}`);
  if (confirmed.length === 0) return { fixed: false, stage: "investigate", message: "no hypothesis was confirmed: the root cause is still open", reproduction: repro, hypotheses: investigated };

  phase("Fix");
  const fix = await agent(
    [
      `Fix the root cause of a failure that reproduces with \`${repro.command}\`.`,
      `Confirmed cause: ${confirmed.map((h) => `${h.statement} (evidence: ${h.evidence.slice(0, 1500)})`).join("\n")}`,
      "First write a regression test that fails because of this cause and run it (show the failure); then fix at the root, minimally; run the test again and the tests of the area. Remove any temporary logging.",
      "Report whether it is fixed, the regression test (file and name), the files changed and a short summary.",
    ].join("\n"),
    { schema: FIX_SCHEMA, label: "fix", phase: "Fix" },
  );
  if (!fix) return { fixed: false, stage: "fix", message: "the fixing agent failed", reproduction: repro, hypotheses: investigated };

  phase("Verify");
  const detected = typeof projectChecks === "function" ? await projectChecks() : [];
  const commands = [repro.command, ...detected].map((c) => String(c || "").trim()).filter((c, i, all) => c && all.indexOf(c) === i);
  const verify = await verifyByCode(commands);
  const fixed = fix.fixed && !!verify && verify.passed;
  return {
    fixed,
    stage: "done",
    message: fixed
      ? `fixed: ${fix.summary.split("\n")[0]}`
      : fix.fixed
        ? `the fix did not pass its verification: ${verify.commands.map((c) => `\`${c.command}\` ${c.timedOut ? "timed out" : c.exitCode === null ? "no exit code" : `exit ${c.exitCode}`}`).join(", ")}`
        : "the fixing agent says it did not fix it",
    reproduction: repro,
    hypotheses: investigated,
    fix,
    verification: verify,
  };
}
