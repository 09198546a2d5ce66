// `continuum run`: its command line (through the real parser) and one distinct exit code per outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT_CODES, errorMessage, exitCodeFor, progressPrinter } from "../../plugins/goal/cli-run.ts";
import { capture } from "./helpers/cli.ts";

test("continuum run: bad command lines are usage errors (exit 2) with the usage line; a missing --dir is named (exit 1)", async () => {
  const cases: [string[], RegExp][] = [
    [["run"], /required option '--goal <condition>' not specified/],
    [["run", "--goal", ""], /--goal: The goal is empty/],
    [["run", "--goal", "x".repeat(5000)], /limit is 4000/],
    [["run", "--goal", "x", "--model", "nomodel"], /expected "provider\/model", got "nomodel"/],
    [["run", "--goal", "x", "--timeout-min", "0"], /expected a positive number, got "0"/],
    [["run", "--goal", "x", "--timeout-min", "soon"], /expected a positive number, got "soon"/],
    [["run", "--goal", "x", "--frobnicate", "1"], /unknown option '--frobnicate'/],
    [["run", "--goal", "x", "a", "b"], /too many arguments/],
  ];
  for (const [args, message] of cases) {
    const result = await capture(args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.err}`);
    assert.match(result.err, message);
    if (!/--goal: /.test(result.err)) assert.match(result.err, /usage: continuum run \[options\] \[prompt\]/);
  }
  const missing = await capture(["run", "--goal", "x", "--dir", "/nonexistent/dir"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /continuum run: --dir \/nonexistent\/dir: no such directory/);
  const help = await capture(["run", "--help"]);
  assert.equal(help.code, 0);
  assert.match(
    help.out,
    /Exit codes: 0 met, 1 error, 2 usage, 3 impossible, 4 stuck, 5 unverified, 6 capped, 7 interrupted/,
  );
});

test("continuum run: one distinct exit code per outcome", () => {
  const codes = ["met", "impossible", "stuck", "unverified", "capped"].map((s) => exitCodeFor(s as never));
  assert.deepEqual(codes, [0, 3, 4, 5, 6]);
  assert.equal(exitCodeFor("paused"), EXIT_CODES.interrupted);
  assert.equal(exitCodeFor("cleared"), EXIT_CODES.interrupted);
  assert.equal(new Set(Object.values(EXIT_CODES)).size, Object.keys(EXIT_CODES).length);
});

test("continuum run: the model provider's errors reach the user verbatim, retries included", () => {
  const lines: string[] = [];
  const print = progressPrinter("ses_1", (line) => lines.push(line));
  print({
    type: "session.status",
    properties: {
      sessionID: "ses_1",
      status: { type: "retry", attempt: 2, message: "Cannot connect to API: connect ECONNREFUSED 127.0.0.1:9" },
    },
  });
  print({
    type: "session.error",
    properties: {
      sessionID: "ses_1",
      error: {
        name: "APIError",
        data: { message: "Invalid API key", statusCode: 401, responseBody: '{"error":"bad key"}' },
      },
    },
  });
  print({ type: "session.error", properties: { sessionID: "ses_other", error: { name: "X" } } });
  assert.deepEqual(lines, [
    "[continuum] the model provider failed (attempt 2), OpenCode retries: Cannot connect to API: connect ECONNREFUSED 127.0.0.1:9",
    '[continuum] error from OpenCode or the model provider: Invalid API key (HTTP 401) response: {"error":"bad key"}',
  ]);
  assert.equal(errorMessage({ name: "ProviderAuthError" }), "ProviderAuthError");
});
