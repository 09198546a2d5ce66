// Dream and distill benchmark (run by `npm run bench`, or alone: `npx tsx test/bench/run.ts dream`). The code-side
// work of a run, without the model: mining 30 days of a busy project's history (200 sessions, 50,000 tool calls),
// checking a full MEMORY.md's mentions against this repository, and the draft's limit check and diff.
import { fileURLToPath } from "node:url";
import { MemoryDraft } from "../../plugins/dream/draft.ts";
import { unifiedDiff } from "../../plugins/dream/diff.ts";
import { limitProblems } from "../../plugins/dream/limits.ts";
import { missingMentions, projectView } from "../../plugins/dream/verify.ts";
import { mineRequests, mineSequences, type HistoryStep } from "../../plugins/distill/miner.ts";

export interface BenchRow {
  measure: string;
  target: string;
  result: string;
  ok: boolean;
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

function history(sessions: number, callsPerSession: number): HistoryStep[] {
  const commands = [
    "npm run lint",
    "npm test",
    "git status",
    "git diff",
    "npm run build",
    "make check",
    "pytest -q",
    "cargo test",
  ];
  const tools = ["bash", "edit", "write", "read", "grep"];
  const steps: HistoryStep[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let s = 0; s < sessions; s++) {
    for (let c = 0; c < callsPerSession; c++) {
      const tool = tools[next() % tools.length]!;
      const input =
        tool === "bash"
          ? { command: `${commands[next() % commands.length]} ${next() % 3 ? "" : `src/file${next() % 90}.ts`}` }
          : { filePath: `src/file${next() % 90}.ts` };
      steps.push({ sessionId: `ses_${s}`, tool, input, at: s * 1e6 + c });
    }
    steps.push({
      sessionId: `ses_${s}`,
      tool: "user",
      input: `please fix the failing tests in module ${s}`,
      at: s * 1e6,
    });
  }
  return steps;
}

export async function run(): Promise<BenchRow[]> {
  const steps = history(200, 250);
  const mined = time(() => ({
    sequences: mineSequences(steps, { minSessions: 2 }),
    requests: mineRequests(steps, { minSessions: 2 }),
  }));
  const repo = fileURLToPath(new URL("../../", import.meta.url));
  const entries = Array.from(
    { length: 60 },
    (_, i) =>
      `- Entry ${i} about \`parseEntries\` in plugins/memory/entries.ts and src/missing${i}.ts <!-- id:m-b${String(i).padStart(7, "0")} · 2026-11-01 · ses_1 -->`,
  );
  const text = `# Project memory\n\n## Rules\n\n${entries.join("\n")}\n`;
  const verify = time(() => {
    const view = projectView(repo);
    return entries.map((e) => missingMentions(e, view)).filter((m) => m.length).length;
  });
  const draft = new MemoryDraft(text, "2026-11-29", new Set(["ses_1"]));
  const check = time(() => {
    for (let i = 0; i < 10; i++) draft.replace(`m-b${String(i).padStart(7, "0")}`, `Rewritten entry ${i}.`, ["ses_1"]);
    return {
      problems: limitProblems(draft, { maxLines: 200, maxBytes: 10240, maxDeleteFraction: 0.3 }),
      diff: unifiedDiff("MEMORY.md", text, draft.text),
    };
  });
  return [
    {
      measure: "distill miner: 200 sessions, 50,000 tool calls",
      target: "≤ 2,000 ms",
      result: `${mined.ms.toFixed(0)} ms (${mined.value.sequences.length} sequences, ${mined.value.requests.length} request kinds)`,
      ok: mined.ms <= 2000,
    },
    {
      measure: "dream mention check: 60 entries against this repository",
      target: "≤ 2,000 ms",
      result: `${verify.ms.toFixed(0)} ms (${verify.value} entries with missing mentions)`,
      ok: verify.ms <= 2000 && verify.value === 60,
    },
    {
      measure: "dream draft: 10 rewrites + limit check + diff of a 60-entry MEMORY.md",
      target: "≤ 100 ms",
      result: `${check.ms.toFixed(1)} ms`,
      ok: check.ms <= 100,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) console.table(await run());
