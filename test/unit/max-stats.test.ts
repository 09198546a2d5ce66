// Max Mode's per-session record and the context candidates get: a damaged record loses nothing and starts again;
// the context is bounded, redacted, and keeps the newest messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTEXT_BUDGET, renderContext } from "../../plugins/max/context.ts";
import { multiplier, openStatsStore, sessionReport, type TurnRecord } from "../../plugins/max/stats.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";
import { redact } from "../../plugins/core/redaction.ts";
import type { HostMessage } from "../../plugins/core/host-types.ts";

const turn = (over: Partial<TurnRecord> = {}): TurnRecord => ({
  at: "2026-11-29T00:00:00.000Z",
  mode: "plan",
  requested: 5,
  started: 5,
  valid: 5,
  consensus: false,
  judged: true,
  winner: 3,
  how: "judge",
  tokens: 6000,
  cost: 0.01,
  perCandidate: 1000,
  estimated: false,
  ...over,
});

test("stats: turns survive reopening; a hand-damaged max.json is moved aside, reported, and a new record starts", () => {
  const root = mkdtempSync(join(tmpdir(), "max-stats-"));
  try {
    const logs: string[] = [];
    const dir = (id: string) => join(root, id);
    const store = openStatsStore(dir, (m) => logs.push(m));
    assert.deepEqual(store.turns("s1"), []);
    store.add("s1", turn());
    store.add("s1", turn({ consensus: true, judged: false, started: 2, tokens: 2000 }));
    assert.equal(openStatsStore(dir, () => undefined).turns("s1").length, 2);
    writeFileSync(join(root, "s1", "max.json"), '{"version":1,"turns":[{"at":5}]}');
    assert.deepEqual(store.turns("s1"), []);
    assert.match(logs[0]!, /max\.json of s1 was unreadable .* moved to .*damaged-/);
    const aside = readdirSync(join(root, "s1")).find((n) => n.includes("damaged"))!;
    assert.equal(readFileSync(join(root, "s1", aside), "utf8"), '{"version":1,"turns":[{"at":5}]}', "nothing lost");
    store.add("s1", turn());
    assert.equal(store.turns("s1").length, 1);
    mkdirSync(join(root, "s2"));
    writeFileSync(join(root, "s2", "max.json"), "\u0000\u0001 not json");
    assert.deepEqual(store.turns("s2"), []);
    assert.equal(existsSync(join(root, "s2", "max.json")), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("stats report: sums per session and the multiplier against one candidate", () => {
  assert.equal(multiplier(turn()), 6);
  assert.equal(multiplier(turn({ perCandidate: 0 })), 0);
  const report = sessionReport(
    [
      turn(),
      turn({ mode: "patch", consensus: true, judged: false, started: 2, tokens: 2000, winner: 1, how: "consensus" }),
    ],
    "Ledger (feature max): 7 runs",
  );
  assert.match(
    report,
    /Turns: 2 \(1 plan, 1 patch\) · candidates run: 7 \(10 valid\) · consensus exits: 1 · judge runs: 1/,
  );
  assert.match(report, /Tokens: 8,000 · cost \$0\.0200 · overhead 4\.0× one candidate per turn on average/);
  assert.match(report, /Ledger \(feature max\): 7 runs/);
  assert.match(
    report,
    /- Max patch: candidate 1 of 5 won \(consensus of the scouts\) · 2 candidates run · 2,000 tokens/,
  );
  assert.match(sessionReport([]), /No Max turn yet/);
});

test("context: bounded per part, secrets redacted, the newest messages kept", () => {
  const messages: HostMessage[] = Array.from({ length: 30 }, (_, i) => ({
    info: { id: `m${i}`, sessionID: "s", role: i % 2 ? "assistant" : "user" },
    parts: [{ type: "text", text: `message ${i} ${"word ".repeat(i === 29 ? 5000 : 50)}` }],
  }));
  messages.push({
    info: { id: "x", sessionID: "s", role: "user" },
    parts: [{ type: "text", text: "my key is sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }],
  });
  messages.push({
    info: { id: "y", sessionID: "s", role: "assistant", summary: true },
    parts: [{ type: "text", text: "COMPACTION SUMMARY" }],
  });
  const text = renderContext({ checkpoint: "cp ".repeat(20000), tasks: "- [ ] t1", messages, redact });
  assert.ok(
    estimateTokens(text) <= CONTEXT_BUDGET.checkpoint + CONTEXT_BUDGET.tasks + CONTEXT_BUDGET.messages + 100,
    String(estimateTokens(text)),
  );
  assert.match(text, /## Latest checkpoint\n/);
  assert.match(text, /## Task tree\n- \[ \] t1/);
  assert.doesNotMatch(text, /sk-ant-api03-A{20}/);
  assert.match(text, /user: my key is/, "the newest message is kept");
  assert.doesNotMatch(text, /message 3 /, "old messages go first");
  assert.doesNotMatch(text, /COMPACTION SUMMARY/);
  assert.equal(renderContext({ messages: [], redact }), "");
});
