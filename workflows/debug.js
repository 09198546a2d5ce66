// Built-in workflow: systematic debugging. Reproduce → hypotheses → each hypothesis investigated by its own agent
// in parallel → root cause → fix with a regression test (red, then green) → the reproduction and the checks run
// again by a fresh agent. Stops early, saying why, when the failure does not reproduce or no cause is confirmed.
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
const VERIFY_SCHEMA = {
  type: "object",
  required: ["passed", "commands"],
  properties: {
    passed: { type: "boolean" },
    commands: { type: "array", items: { type: "object", required: ["command", "exitCode"], properties: { command: { type: "string" }, exitCode: { type: "integer" }, summary: { type: "string", maxLength: 2000 } } } },
  },
};

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
  const verify = await agent(
    `Verify a fix with fresh runs, changing no file: run \`${repro.command}\` (it must now succeed), the regression test ${fix.regressionTest}, and the project's checks (package.json scripts, Makefile or CI config). Report each command with its exit code and a one-line summary; passed is true only when all of them succeed.`,
    { schema: VERIFY_SCHEMA, label: "verify", phase: "Verify" },
  );
  const fixed = fix.fixed && !!verify && verify.passed;
  return {
    fixed,
    stage: "done",
    message: fixed ? `fixed: ${fix.summary.split("\n")[0]}` : verify ? "the fix did not pass its verification" : "the verifying agent failed: the fix is unverified",
    reproduction: repro,
    hypotheses: investigated,
    fix,
    verification: verify,
  };
}
