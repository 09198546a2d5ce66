// The distill miner: normalisation of commands and steps, recurring sequences and request kinds, with fast-check
// properties for determinism, soundness (every reported sequence really occurs in every session it names) and the
// session threshold.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  mineRequests,
  mineSequences,
  normalizeCommand,
  requestKind,
  stepOf,
  suggestName,
  type HistoryStep,
} from "../../plugins/distill/miner.ts";
import { toolInput } from "../../plugins/distill/history.ts";

const bash = (sessionId: string, command: string, at: number): HistoryStep => ({
  sessionId,
  tool: "bash",
  input: { command },
  at,
});
const tool = (sessionId: string, name: string, input: Record<string, unknown>, at: number): HistoryStep => ({
  sessionId,
  tool: name,
  input,
  at,
});

test("commands are normalised: paths, numbers, ids and quoted strings abstracted; only the first command of a chain", () => {
  assert.equal(normalizeCommand("npm test -- src/app.test.ts"), "npm test -- <path>");
  assert.equal(normalizeCommand("git commit -m 'fix the thing' && git push"), "git commit -m <str>");
  assert.equal(normalizeCommand("curl localhost:3000/health"), "curl <path>");
  assert.equal(normalizeCommand("pytest -k test_parser --maxfail 3"), "pytest -k test_parser --maxfail <n>");
  assert.equal(normalizeCommand("kubectl logs pod-7f9c2b1a8d"), "kubectl logs <id>");
  assert.equal(normalizeCommand("   "), "");
  assert.equal(stepOf(tool("s", "edit", { filePath: "src/A.TS" }, 0)), "edit *.ts");
  assert.equal(stepOf(tool("s", "read", { filePath: "x.ts" }, 0)), undefined, "reads say nothing about a workflow");
  assert.equal(stepOf({ sessionId: "s", tool: "bash", input: "not an object", at: 0 }), undefined);
});

test("three sessions running lint → test → fix → test give one candidate with all three sessions and a name", () => {
  const steps: HistoryStep[] = [];
  for (const [i, s] of ["ses_c", "ses_a", "ses_b"].entries()) {
    steps.push(
      bash(s, "npm run lint", i * 100 + 1),
      tool(s, "read", { filePath: `src/f${i}.ts` }, i * 100 + 2),
      bash(s, "npm test", i * 100 + 3),
    );
    steps.push(
      tool(s, "edit", { filePath: `src/f${i}.ts` }, i * 100 + 4),
      bash(s, `npm test -- src/f${i}.test.ts`, i * 100 + 5),
    );
  }
  const found = mineSequences(steps, { minSessions: 2 });
  assert.equal(found.length, 1, JSON.stringify(found, null, 2));
  assert.deepEqual(found[0]!.steps, ["bash: npm run lint", "bash: npm test", "edit *.ts", "bash: npm test -- <path>"]);
  assert.deepEqual(found[0]!.sessions, ["ses_a", "ses_b", "ses_c"]);
  assert.equal(found[0]!.suggestedName, "lint-test-fix");
  assert.deepEqual(mineSequences(steps, { minSessions: 4 }), []);
});

test("a sequence repeated often within one session is a candidate even below the session threshold (costly)", () => {
  const steps: HistoryStep[] = [];
  for (let i = 0; i < 5; i++) steps.push(bash("ses_x", "make build", i * 10), bash("ses_x", "make deploy", i * 10 + 1));
  const found = mineSequences(steps, { minSessions: 2, costlyOccurrences: 4 });
  assert.ok(found.some((c) => c.key === "bash: make build → bash: make deploy" && c.occurrences >= 4));
});

test("request kinds: the first content words, numbers and paths dropped; only kinds seen in enough sessions", () => {
  assert.equal(requestKind("Please fix the failing tests in src/app.ts (3 of them)"), "fix failing tests");
  const steps: HistoryStep[] = ["a", "b", "c"].map((s, i) => ({
    sessionId: s,
    tool: "user",
    input: `please fix the failing tests ${i}`,
    at: i,
  }));
  steps.push({ sessionId: "a", tool: "user", input: "write docs", at: 9 });
  assert.deepEqual(
    mineRequests(steps, { minSessions: 2 }).map((r) => [r.key, r.sessions]),
    [["fix failing tests", ["a", "b", "c"]]],
  );
});

test("history rows: the JSON arguments on the first line; damaged or cut JSON gives {}", () => {
  assert.deepEqual(toolInput('tool bash {"command":"npm test"}\n→ ok'), { command: "npm test" });
  assert.deepEqual(toolInput('tool bash {"command":"npm te'), {});
  assert.deepEqual(toolInput("random text"), {});
  assert.equal(suggestName(["read", "glob"]), "read-glob");
  assert.equal(suggestName(["bash: <path>"]), "workflow");
});

const stepArb = fc.record({
  sessionId: fc.constantFrom("s1", "s2", "s3", "s4"),
  tool: fc.constantFrom("bash", "edit", "write", "read", "user", "task"),
  command: fc.constantFrom("npm test", "npm run lint", "git status", "make", "npm test -- a/b.ts", "echo 'x y'", ""),
  file: fc.constantFrom("a.ts", "b.py", "c", undefined),
  at: fc.integer({ min: 0, max: 50 }),
});
type RawStep = { sessionId: string; tool: string; command: string; file: string | undefined; at: number };
const toSteps = (raw: RawStep[]): HistoryStep[] =>
  raw.map((r) => ({
    sessionId: r.sessionId,
    tool: r.tool,
    at: r.at,
    input:
      r.tool === "bash" ? { command: r.command } : r.tool === "user" ? `please ${r.command}` : { filePath: r.file },
  }));

test("property: deterministic, and independent of the order rows arrive in", () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (raw, minSessions) => {
      const steps = toSteps(raw);
      const shuffled = [...steps].reverse();
      // Ties in time keep the arrival order, so compare on rows with distinct times only.
      const distinct = steps.filter(
        (s, i) => steps.findIndex((o) => o.sessionId === s.sessionId && o.at === s.at) === i,
      );
      assert.deepEqual(mineSequences(steps, { minSessions }), mineSequences(steps, { minSessions }));
      assert.deepEqual(
        mineSequences(distinct, { minSessions }),
        mineSequences([...distinct].reverse(), { minSessions }),
      );
      assert.deepEqual(mineRequests(steps, { minSessions }), mineRequests(shuffled, { minSessions }));
    }),
    { numRuns: 300 },
  );
});

test("property: every candidate occurs contiguously in every session it names, in enough sessions, with a valid skill name", () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (raw, minSessions) => {
      const steps = toSteps(raw);
      const found = mineSequences(steps, { minSessions, costlyOccurrences: 1000 });
      for (const candidate of found) {
        assert.ok(candidate.sessions.length >= minSessions);
        assert.ok(candidate.steps.length >= 2 && candidate.steps.length <= 6);
        assert.match(candidate.suggestedName, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        for (const session of candidate.sessions) {
          const seq = steps
            .map((s, i) => ({ s, i }))
            .filter(({ s }) => s.sessionId === session)
            .sort((a, b) => a.s.at - b.s.at || a.i - b.i)
            .map(({ s }) => stepOf(s))
            .filter((x): x is string => x !== undefined)
            .filter((x, i, all) => i === 0 || all[i - 1] !== x);
          const joined = `\u0001${seq.join("\u0001")}\u0001`;
          assert.ok(joined.includes(`\u0001${candidate.steps.join("\u0001")}\u0001`), `${candidate.key} in ${session}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test("property: normalising never throws and keeps at most six words", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (command) => {
      const once = normalizeCommand(command);
      assert.equal(typeof once, "string");
      assert.ok(once.split(" ").length <= 6);
    }),
    { numRuns: 500 },
  );
});
