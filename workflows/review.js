// Built-in workflow: a code review by several reviewers, each with one lens, in parallel; then an independent
// verifier that keeps only the findings it can confirm (reading the code, running a command). Read-only.
export const meta = {
  name: "review",
  description: "Review a change with several lenses in parallel (correctness, tests, safety, simplicity), then keep only the findings an independent verifier confirms. Returns {accepted, findings, evidence}.",
  phases: ["Review", "Verify findings"],
  args: {
    target: "what to review: 'the uncommitted changes' (default), a git range like main..HEAD, or paths",
    spec: "optional path of the spec whose acceptance criteria the change must meet",
    lenses: "optional subset of: correctness, tests, safety, simplicity",
  },
};

const LENSES = {
  correctness: "Correctness: does the change do what it should, for normal input, edge cases (empty, huge, wrong type, missing file) and errors? Off-by-one, wrong conditions, unhandled promise rejections, state left inconsistent.",
  tests: "Tests: does every behaviour the change adds or fixes have a test that would fail without it? Tests that assert nothing, tests of mocks instead of the code, a failing or skipped test.",
  safety: "Safety: untrusted input validated at boundaries, paths (.., symlinks) kept inside where they belong, secrets not logged or stored, no data loss on error or concurrent use, resources released.",
  simplicity: "Simplicity: dead code, duplication, needless changes outside the task, names that mislead, functions doing several things.",
};
const SEVERITIES = ["blocker", "major", "minor", "nit"];

const FINDINGS_SCHEMA = {
  type: "object",
  required: ["findings"],
  properties: {
    findings: {
      type: "array",
      maxItems: 30,
      items: {
        type: "object",
        required: ["severity", "file", "line", "title", "why"],
        properties: {
          severity: { enum: SEVERITIES },
          file: { type: "string", minLength: 1 },
          line: { type: "integer", minimum: 0 },
          title: { type: "string", minLength: 1, maxLength: 200 },
          why: { type: "string", maxLength: 2000 },
          fix: { type: "string", maxLength: 2000 },
        },
      },
    },
  },
};

const VERDICT_SCHEMA = {
  type: "object",
  required: ["confirmed", "rejected"],
  properties: {
    confirmed: {
      type: "array",
      items: { type: "object", required: ["id", "evidence"], properties: { id: { type: "string" }, evidence: { type: "string", minLength: 1, maxLength: 3000 } } },
    },
    rejected: {
      type: "array",
      items: { type: "object", required: ["id", "why"], properties: { id: { type: "string" }, why: { type: "string", maxLength: 2000 } } },
    },
  },
};

function normalise(args) {
  const given = args && typeof args === "object" && !Array.isArray(args) ? args : typeof args === "string" && args.trim() ? { target: args } : {};
  const target = typeof given.target === "string" && given.target.trim() ? given.target.trim().slice(0, 500) : "the uncommitted changes (git diff HEAD, plus untracked files from git status)";
  const spec = typeof given.spec === "string" && given.spec.trim() ? given.spec.trim().slice(0, 300) : "";
  const wanted = Array.isArray(given.lenses) ? given.lenses.filter((l) => typeof l === "string" && LENSES[l]) : [];
  const lenses = wanted.length ? [...new Set(wanted)] : Object.keys(LENSES);
  return { target, spec, lenses };
}

function reviewPrompt(lens, input) {
  return [
    `You are one of several independent code reviewers. Review ${input.target} in this project through one lens only:`,
    LENSES[lens],
    input.spec ? `The change must meet the acceptance criteria in ${input.spec}: read it first.` : "",
    "Read every changed hunk in its context (the whole function, its callers). Do not modify any file.",
    "Report only real problems you can point at: file (relative to the project), line, severity (blocker: wrong result, data loss, security hole, failing check; major: missing test or edge case, likely bug; minor; nit), what is wrong and why it matters, and a fix. No praise, no style preferences. An empty list is a fine answer.",
  ].filter(Boolean).join("\n");
}

function verifyPrompt(candidates, input) {
  const list = candidates.map((f) => `- ${f.id} [${f.severity}] ${f.file}:${f.line} ${f.title}: ${f.why}`).join("\n");
  return [
    `You verify code review findings on ${input.target} in this project. Other reviewers reported the findings below; some may be wrong.`,
    "For each one, check it yourself: read the code at that place, and where it helps run a command (a test, a small script) that shows the problem. Do not modify any project file.",
    "Put a finding in `confirmed` only with concrete evidence (the quoted line, the command and its output). Put it in `rejected` when the code shows it is wrong, or when you cannot confirm it. Use the ids as given.",
    "",
    list,
  ].join("\n");
}

export default async function (args) {
  const input = normalise(args);
  phase("Review");
  const reviews = await parallel(
    input.lenses.map((lens) => () => agent(reviewPrompt(lens, input), { schema: FINDINGS_SCHEMA, label: `review: ${lens}`, phase: "Review" })),
  );
  const failedLenses = input.lenses.filter((_, i) => !reviews[i]);
  if (failedLenses.length) log(`reviewers without an answer: ${failedLenses.join(", ")}`);

  // One candidate per place and title: several lenses often report the same thing.
  const candidates = [];
  const seen = new Set();
  reviews.forEach((review, i) => {
    for (const finding of review ? review.findings : []) {
      const key = `${finding.file}:${finding.line}:${finding.title.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push({ id: `F${candidates.length + 1}`, lens: input.lenses[i], ...finding });
    }
  });
  log(`${candidates.length} candidate finding(s) from ${input.lenses.length - failedLenses.length} reviewer(s)`);

  if (reviews.every((r) => !r)) {
    return { accepted: false, findings: [], evidence: [], dropped: [], note: "no reviewer answered: the change is not reviewed" };
  }
  if (candidates.length === 0) return { accepted: true, findings: [], evidence: [], dropped: [] };

  phase("Verify findings");
  const verdict = await agent(verifyPrompt(candidates, input), { schema: VERDICT_SCHEMA, label: "verify findings", phase: "Verify findings" });
  if (!verdict) {
    // Unverified findings are not facts: none is reported as one, and the change is not accepted either.
    return { accepted: false, findings: [], evidence: [], dropped: candidates.map((c) => ({ id: c.id, why: "the verifier did not answer" })), note: "the verifier did not answer: nothing confirmed" };
  }
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const evidence = verdict.confirmed.filter((c) => byId.has(c.id) && c.evidence.trim());
  const confirmedIds = new Set(evidence.map((e) => e.id));
  const findings = candidates.filter((c) => confirmedIds.has(c.id)).sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
  const rejectedWhy = new Map(verdict.rejected.map((r) => [r.id, r.why]));
  const dropped = candidates.filter((c) => !confirmedIds.has(c.id)).map((c) => ({ id: c.id, title: c.title, why: rejectedWhy.get(c.id) || "not confirmed by the verifier" }));
  if (dropped.length) log(`dropped ${dropped.length} unconfirmed finding(s): ${dropped.map((d) => d.id).join(", ")}`);
  const accepted = !findings.some((f) => f.severity === "blocker" || f.severity === "major");
  return { accepted, findings, evidence, dropped };
}
