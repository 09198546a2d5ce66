// Per-model-call overhead benchmark (run by `npm run bench`, or alone: `npx tsx test/bench/transform.bench.ts`).
// The whole pack is booted through its real entry on a small fake host, and every hook OpenCode calls before a
// model request (chat.params, system.transform, messages.transform) is timed on a 2,000-message session (p99 ≤ 2 ms,
// with and without a stored cut); plus the writer's input size (≤ delta + previous checkpoint + 3,000 tokens).
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hooks } from "@opencode-ai/plugin";
import { openDatabase } from "../../plugins/core/storage/database.ts";
import { estimateTokens } from "../../plugins/core/tokens.ts";
import { openCheckpointStore } from "../../plugins/checkpoint/store.ts";
import { bootFakeHost, type FakeHost } from "../harness/fake-host.ts";
import { estimateMessageTokens, renderCompact, type HostMessage } from "../../plugins/checkpoint/transcript.ts";
import { buildWriterInput } from "../../plugins/checkpoint/writer-input.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

const SESSION = "ses_bench";

function session(count: number, SESSION: string): HostMessage[] {
  const messages: HostMessage[] = [];
  for (let i = 0; i < count; i++) {
    const id = `msg_${String(i).padStart(6, "0")}`;
    const info = { id, sessionID: SESSION, role: i % 2 ? "assistant" : "user", time: { created: i }, agent: "build" };
    const parts =
      i % 2
        ? [
            { id: `${id}_t`, type: "text", text: `Looking at step ${i}. `.repeat(8) },
            {
              id: `${id}_c`,
              type: "tool",
              tool: "read",
              state: {
                status: "completed",
                input: { filePath: `src/file${i % 50}.ts` },
                output: `line ${i}\n`.repeat(120),
              },
            },
          ]
        : [{ id: `${id}_u`, type: "text", text: `Please continue with item ${i}, keep db/schema.sql untouched.` }];
    messages.push({ info, parts });
  }
  return messages;
}

/** A booted pack and a main session on a 200K-window model, as chat.params reports it for every call. */
async function bootPack() {
  const host = await bootFakeHost();
  const store = openCheckpointStore(await openDatabase(join(host.dataDir, "opencode-continuum", "continuum.db")));
  return { host, store };
}

const CALL = (sessionID: string) => ({
  sessionID,
  agent: "build",
  model: { id: "m", providerID: "p", limit: { context: 200000, output: 32000 } },
});

/** What OpenCode runs before every model request. */
async function beforeRequest(hooks: Hooks, sessionID: string, messages: HostMessage[]) {
  await hooks["chat.params"]!(CALL(sessionID) as never, {} as never);
  await hooks["experimental.chat.system.transform"]!(
    { sessionID, model: {} } as never,
    { system: ["You are OpenCode."] } as never,
  );
  await hooks["experimental.chat.messages.transform"]!({}, { messages: [...messages] } as never);
}

/** Wall time per call, and CPU time per call (what the hook itself costs when other processes share the cores). */
async function time(
  host: FakeHost,
  sessionID: string,
  messages: HostMessage[],
  runs: number,
): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    await beforeRequest(host.hooks, sessionID, messages);
    wall.push(performance.now() - started);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall: wall.sort((a, b) => a - b), cpu: cpu.sort((a, b) => a - b) };
}

const describe = (t: { wall: number[]; cpu: number[] }) =>
  `wall p50 ${pct(t.wall, 0.5).toFixed(2)} ms, p99 ${pct(t.wall, 0.99).toFixed(2)} ms; CPU p99 ${pct(t.cpu, 0.99).toFixed(2)} ms (${runtime()}, load ${loadavg()[0]!.toFixed(1)})`;

const runtime = () =>
  (globalThis as { Bun?: { version: string } }).Bun
    ? `Bun ${(globalThis as { Bun?: { version: string } }).Bun!.version}`
    : `Node ${process.version}`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { host, store } = await bootPack();
  try {
    const plainSession = await host.createSession();
    const messages = session(2000, plainSession);
    await time(host, plainSession, messages, 50);
    const plain = await time(host, plainSession, messages, 1000);
    rows.push({
      measure: "hooks before each model call, 2,000 messages, no cut",
      target: "p99 ≤ 2 ms",
      result: describe(plain),
      ok: pct(plain.wall, 0.99) <= 2,
    });

    const cutSession = await host.createSession();
    const cutMessages = session(2000, cutSession);
    store.update(cutSession, {
      boundaryMessageId: cutMessages[1800]!.info.id,
      boundaryDump: "[continuum rebuild] " + "summary ".repeat(4000),
    });
    await time(host, cutSession, cutMessages, 50);
    const cut = await time(host, cutSession, cutMessages, 1000);
    rows.push({
      measure: "hooks before each model call, 2,000 messages, stored cut applied",
      target: "p99 ≤ 2 ms",
      result: describe(cut),
      ok: pct(cut.wall, 0.99) <= 2,
    });

    const previous = "# Checkpoint\n" + "- a fact worth keeping\n".repeat(500);
    const delta = messages.slice(1700);
    const rawDelta = delta.reduce((sum, m) => sum + estimateMessageTokens(m), 0);
    const facts = {
      taskTree: "- [~] T1 work (in_progress)\n".repeat(40),
      files: "- `src/file.ts` (read ×3)\n".repeat(60),
      errors: "(no failed tool calls)",
      liveResources: "- cwd: `/p`",
      exactValues: ["postgres://app@db:5432/x"],
    };
    const input = buildWriterInput({
      sessionId: SESSION,
      previous,
      delta,
      facts,
      firstRequest: "Build the importer.",
      redact: (t) => t,
      maxDeltaTokens: 40000,
    });
    const compact = estimateTokens(renderCompact(delta, { toolOutputTokens: 250, textTokens: 1500, redact: (t) => t }));
    const bound = rawDelta + estimateTokens(previous) + 3000;
    rows.push({
      measure: "writer input, 300-message delta",
      target: "≤ delta + previous checkpoint + 3,000 tokens",
      result: `${estimateTokens(input)} tokens (delta ${rawDelta} raw / ${compact} compact, previous ${estimateTokens(previous)}; bound ${bound})`,
      ok: estimateTokens(input) <= bound,
    });
  } finally {
    await host.dispose();
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await run())
    console.log(`${row.ok ? "ok  " : "MISS"} ${row.measure}: ${row.result} (target ${row.target})`);
}
