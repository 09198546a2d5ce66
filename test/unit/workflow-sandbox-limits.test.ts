// A runaway script cannot hurt the host: its memory limit holds for strings too (QuickJS's own accounting missed
// them and the shared WebAssembly memory grew the host to 2.3 GB and stayed), it ends near sliceMs even inside
// long built-in calls (before: 35 s for the allocation loop, 82 s for a repeat loop), the memory comes back, and
// nothing bigger than MAX_HOST_CHARS is copied to the host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_HOST_CHARS, Sandbox } from "../../plugins/workflow/sandbox.ts";

const limits = () => ({
  memoryMiB: 64,
  maxStackKiB: 256,
  sliceMs: 1000,
  budget: { activeMs: 60_000, usedMs: 0, deadlineAt: Date.now() + 60_000 },
});

async function runScript(body: string, host: Record<string, (...args: unknown[]) => unknown> = {}) {
  const started = performance.now();
  let maxGap = 0;
  let last = performance.now();
  // The host's event loop: how long it was held at once.
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 20);
  try {
    const sandbox = await Sandbox.create(limits());
    last = performance.now();
    const outcome = await sandbox.run(`export default async function () {\n${body}\n}`, "t.js", host, null, 1);
    sandbox.dispose();
    await new Promise((r) => setTimeout(r, 40));
    return { outcome, ms: performance.now() - started, maxGap };
  } finally {
    clearInterval(timer);
  }
}

const rssMiB = () => process.memoryUsage().rss / 1048576;

test("the allocation loop of the issue ends with 'out of memory' near sliceMs, and three runs leave the host's memory where it was", async () => {
  const before = rssMiB();
  for (let i = 0; i < 3; i++) {
    const { outcome, ms, maxGap } = await runScript(`const a = []; for (;;) a.push("y".repeat(1 << 20) + a.length);`);
    assert.equal(outcome.ok, false);
    assert.match(!outcome.ok ? outcome.error : "", /out of memory \(limit 64 MiB|more than 1000 ms without awaiting/);
    assert.ok(ms < 4000, `run ${i} took ${Math.round(ms)} ms`);
    assert.ok(maxGap < 2500, `the host's thread was held ${Math.round(maxGap)} ms`);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const grown = rssMiB() - before;
  // Before the fix: +2200 MiB after the first run, never given back.
  assert.ok(grown < 400, `the host grew by ${Math.round(grown)} MiB`);
});

test("loops of long built-in calls end at sliceMs (QuickJS polls its interrupt only every 10,000 steps)", async () => {
  for (const body of [
    `let s; for (;;) s = "y".repeat(1 << 20);`,
    `const s = "ab".repeat(1 << 21); let t; for (;;) t = s.toUpperCase();`,
    `const a = new Array(1 << 18).fill("x"); for (;;) a.join("-");`,
  ]) {
    const { outcome, ms } = await runScript(body);
    assert.equal(outcome.ok, false, body);
    assert.match(!outcome.ok ? outcome.error : "", /more than 1000 ms without awaiting \(workflow\.sliceMs\)/, body);
    assert.ok(ms < 4000, `${body}: ${Math.round(ms)} ms`);
  }
});

test("a string or JSON bigger than MAX_HOST_CHARS never reaches the host; the result is capped the same way", async () => {
  const seen: number[] = [];
  const log = (text: unknown) => void seen.push(String(text).length);
  const big = `const s = "y".repeat(${MAX_HOST_CHARS} + 1);`;
  const { outcome } = await runScript(
    `${big} try { log(s); } catch (e) { log("refused: " + e.message); } try { log({ s }); } catch (e) { log("refused too"); } return 1;`,
    { log },
  );
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  assert.deepEqual(seen.length, 2);
  assert.ok(
    seen.every((n) => n < 200),
    String(seen),
  );
  const result = await runScript(`${big} return s;`);
  assert.equal(result.outcome.ok, false);
  assert.match(!result.outcome.ok ? result.outcome.error : "", /more than the \d+ a script may hand to the host/);
});
