// What the memory tools print: ids and snippets, a way forward on zero hits, and never more than the bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatAround, formatPart, formatSearch, MAX_TOOL_OUTPUT_CHARS } from "../../plugins/memory/format.ts";
import type { SearchHit } from "../../plugins/memory/index-store.ts";

const hit = (i: number, text = `entry ${i}`): SearchHit => ({
  rowid: i,
  entryId: `m-${String(i).padStart(8, "0")}`,
  path: "/m/MEMORY.md",
  scope: "project",
  scopeId: "p",
  projectId: "p",
  section: "Rules",
  heading: "Project memory > Rules",
  lineStart: i,
  lineEnd: i + 1,
  text,
  date: "2026-11-21",
  session: "ses",
  uses: 0,
  tokens: 5,
  score: 1,
  snippet: text,
});

test("search results carry id, file:lines, section and date; zero hits say how to widen", () => {
  const out = formatSearch("rules", "project", "all", [hit(3)]);
  assert.match(
    out,
    /^1 memory entry for "rules" \(scope project, best first\):\n- \[m-00000003\] Rules · MEMORY\.md:3-4 · 2026-11-21 · project\n  entry 3$/,
  );
  const none = formatSearch("kubernetes", "project", "all", []);
  assert.match(
    none,
    /No memory entries match "kubernetes" \(scope project, mode all\)\. To widen the search try: scope "all"[^]*mode "any"[^]*the history tool/,
  );
  assert.match(formatSearch("", "all", "any", [], true), /has no searchable words/);
});

test("outputs stay under the bound however many or long the hits are", () => {
  const many = Array.from({ length: 100 }, (_, i) => hit(i, "x".repeat(150)));
  const out = formatSearch("x", "all", "any", many);
  assert.ok(out.length <= MAX_TOOL_OUTPUT_CHARS + 100);
  assert.match(out, /more lines not shown\]$/);
  const part = {
    partId: "prt_1",
    sessionId: "s",
    messageId: "msg_1",
    role: "assistant",
    kind: "tool",
    tool: "bash",
    createdAt: 0,
    text: "a".repeat(10_000),
  };
  const slice = formatPart(part, 4000, 4000);
  assert.match(slice, /characters 4000-8000 of 10000/);
  assert.match(slice, /history \{action: "get", id: "prt_1", offset: 8000\}/);
  const around = formatAround([{ messageId: "msg_1", role: "assistant", parts: [part] }], "msg_1");
  assert.match(
    around,
    /^▶ message msg_1 \(assistant\)\n  - prt_1 tool bash: a{400}… \[history get prt_1 for all 10000 chars\]$/,
  );
});
