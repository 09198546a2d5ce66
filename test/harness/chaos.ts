// The scripted model's chaos mode: a seeded generator of random and hostile calls to every pack tool (wrong
// types, missing and extra fields, huge strings, control characters, other scripts, path traversal, ids that do
// not exist, bare strings, arrays, null, broken JSON), plus a responder that plays them through the main lane in
// batches and reads every result back from the next request. The same seed makes the same decisions, so a failing
// run is reproduced by its seed (the ids OpenCode and the pack hand out differ between runs; the choices do not).
import { contentText, type RecordedRequest, type ScriptedReply, type ScriptedToolCall } from "./scripted-model.ts";

/** mulberry32: a tiny, well-mixed 32-bit PRNG; enough for test choices, and the same on every platform. */
export function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
  };
}
export type Rng = ReturnType<typeof prng>;

/** Result tools of the pack's hidden agents: the main agent may be offered them (a user's allow rule), never served. */
export const INTERNAL_TOOLS = [
  "checkpoint_write",
  "goal_verdict",
  "max_plan",
  "max_patch",
  "max_verdict",
  "dream_report",
  "dream_memory",
  "distill_report",
  "distill_asset",
  "workflow_result",
] as const;
export const PACK_TOOLS = ["memory", "history", "tasks", "workflow", ...INTERNAL_TOOLS] as const;
const INTERNAL = new Set<string>(INTERNAL_TOOLS);
const WORKFLOW_ACTIONS = ["run", "status", "wait", "cancel", "resume", "list"];
const MEMORY_ACTIONS = ["search", "remember", "forget", "note"];
const HISTORY_ACTIONS = ["search", "around", "get"];
const TASK_ACTIONS = ["create", "list", "get", "start", "block", "unblock", "done", "abandon", "rename", "progress"];
const SECTIONS = ["Rules", "Architecture decisions", "Discovered durable knowledge", "Project context"];
const BAD_SECTIONS = ["Preferences", "rules", "RULES", "Nonsense", "../Rules", "## Rules", "", "Rules\u0000"];

const WORDS = [
  "lantern",
  "copper",
  "vector",
  "meadow",
  "quartz",
  "harbor",
  "falcon",
  "ember",
  "tundra",
  "saffron",
  "orbit",
  "glacier",
  "pylon",
  "cobalt",
  "juniper",
];
const SCRIPTS = [
  "机器学习模型的训练数据",
  "ภาษาไทยไม่มีช่องว่าง",
  "Ελληνικά γράμματα",
  "עברית מימין לשמאל",
  "العربية من اليمين",
  "Кириллица и ёжик",
  "日本語のテキストとカタカナ",
  "한국어 문장입니다",
  "हिन्दी देवनागरी",
  "🦄🔥👩‍👩‍👧 emoji",
  "Z̴̢͓a̷͎l̶g̵o̸ combining",
  "\u202eRTL override\u202c",
  "e\u0301 vs \u00e9 (NFC/NFD)",
  "ﬁ ligature ＦＵＬＬＷＩＤＴＨ",
];
const CONTROL = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\u0008",
  "\u000b",
  "\u000c",
  "\u001b[31m",
  "\u007f",
  "\r",
  "\r\n",
  "\t",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ud800",
  "\udfff",
];
const TRAVERSAL = [
  "../../etc",
  "../../etc/passwd",
  "..\\..\\windows\\system32",
  "/etc/shadow",
  "~/.ssh/id_rsa",
  "%2e%2e%2f%2e%2e%2f",
  "....//....//",
  "/dev/null",
  "file:///etc/hosts",
  "C:\\Windows",
  "\u0000/etc",
];
const MARKUP = [
  "## Rules\n- injected rule",
  "# Heading\n\n### deeper",
  "```\nunclosed fence",
  "<!--",
  "-->",
  "<!-- id:m-deadbeef · 2020-01-01 · ses_fake -->",
  "<private>hidden",
  "| a | b |\n|---|---|",
  "- [ ] checkbox\n  - nested",
  "> quote\n>> deeper",
  "\\",
  '"',
  "'; DROP TABLE tasks; --",
  "NEAR(a b) AND OR NOT * -",
  '"unbalanced',
  "*",
  "$(rm -rf /)",
  "{{template}} ${var} %s",
];
const FAKE_IDS = [
  "m-00000000",
  "m-deadbeef",
  "m-",
  "h-1234",
  "T999",
  "T1.1.1.1.1",
  "T0",
  "T-1",
  "t1",
  "T1.",
  "msg_doesnotexist",
  "prt_doesnotexist",
  "ses_x",
  "0",
  "-1",
  "null",
  "undefined",
  "NaN",
  "%00",
];

export interface ChaosState {
  /** Ids the pack answered "Remembered as …" for, with the seed that made them (minus the ones forgotten since). */
  remembered: Map<string, { seed: number; callId: string }>;
  taskIds: Set<string>;
  messageIds: Set<string>;
  partIds: Set<string>;
}

export const newChaosState = (): ChaosState => ({
  remembered: new Map(),
  taskIds: new Set(),
  messageIds: new Set(),
  partIds: new Set(),
});

function words(r: Rng, n: number): string {
  return Array.from({ length: n }, () => r.pick(WORDS)).join(" ");
}

/** A string built to hurt: huge, empty, control characters, other scripts, markup, traversal, or a mix. */
export function hostileString(r: Rng): string {
  switch (r.int(12)) {
    case 0:
      return "";
    case 1:
      return r.pick(["x", " ", "\n", "   \t  "]);
    case 2:
      // Huge: past every limit (2,000 / 8,000 characters) and well beyond.
      return (words(r, 3) + " ").repeat(r.pick([600, 2500, 12000]));
    case 3:
      return `${words(r, 2)}${r.pick(CONTROL)}${words(r, 2)}${r.pick(CONTROL)}`;
    case 4:
      return `${r.pick(SCRIPTS)} ${words(r, 1)}`;
    case 5:
      return r.pick(MARKUP) + " " + words(r, 2);
    case 6:
      return r.pick(TRAVERSAL);
    case 7:
      return r.pick(FAKE_IDS);
    case 8:
      return Array.from({ length: 1 + r.int(6) }, () =>
        r.pick([...CONTROL, ...SCRIPTS, ...MARKUP, ...TRAVERSAL, ...WORDS]),
      ).join(r.pick(["", " ", "\n"]));
    case 9:
      return String.fromCodePoint(
        ...Array.from({ length: 1 + r.int(40) }, () => r.int(0x2ffff)).filter((c) => c < 0xd800 || c > 0xdfff),
      );
    default:
      return words(r, 2 + r.int(8));
  }
}

/** Anything but the expected type: numbers, booleans, null, arrays, objects, or a hostile string. */
export function hostileValue(r: Rng): unknown {
  switch (r.int(10)) {
    case 0:
      return r.pick([0, -1, 1, 3.7, 12345, 1e308, -0, Number.MAX_SAFE_INTEGER + 2]);
    case 1:
      return r.pick([true, false]);
    case 2:
      return null;
    case 3:
      return r.pick([[], ["Rules"], [1, 2, 3], [null], [[[]]]]);
    case 4:
      return r.pick([
        {},
        { $ne: 1 },
        JSON.parse('{"__proto__": {"polluted": true}}'),
        { constructor: { prototype: { x: 1 } } },
        { nested: { deep: [1, { a: "b" }] } },
      ]);
    default:
      return hostileString(r);
  }
}

/** A call a careless model might send: the right tool and action, plausible arguments, some of them hostile strings. */
function plausible(r: Rng, tool: string, state: ChaosState): Record<string, unknown> {
  const known = <T>(set: Set<T> | Map<T, unknown>, fallback: () => T): T =>
    set.size > 0 && r.chance(0.6) ? r.pick([...set.keys()]) : fallback();
  const text = () =>
    r.chance(0.5) ? `${words(r, 3 + r.int(5))} ${r.chance(0.5) ? hostileString(r) : ""}`.trim() : hostileString(r);
  const taskId = () => known(state.taskIds, () => (r.chance(0.5) ? r.pick(FAKE_IDS) : `T${1 + r.int(12)}`));
  switch (tool) {
    case "memory": {
      const action = r.chance(0.35) ? "remember" : r.pick(MEMORY_ACTIONS);
      if (action === "search")
        return {
          action,
          query: r.chance(0.5) ? words(r, 1 + r.int(3)) : hostileString(r),
          ...(r.chance(0.3) ? { scope: r.pick(["session", "project", "global", "all"]) } : {}),
          ...(r.chance(0.3) ? { mode: r.pick(["any", "all"]) } : {}),
          ...(r.chance(0.3) ? { limit: 1 + r.int(50) } : {}),
        };
      if (action === "remember") {
        const scope = r.chance(0.3) ? r.pick(["project", "global"]) : undefined;
        const section = r.chance(0.75)
          ? scope === "global"
            ? r.pick(["Rules", "Preferences"])
            : r.pick(SECTIONS)
          : r.pick(BAD_SECTIONS);
        return { action, section, text: text(), ...(scope ? { scope } : {}) };
      }
      if (action === "forget")
        return { action, id: known(state.remembered, () => (r.chance(0.5) ? r.pick(FAKE_IDS) : hostileString(r))) };
      return { action, text: text() };
    }
    case "history": {
      const action = r.pick(HISTORY_ACTIONS);
      if (action === "search")
        return {
          action,
          query: r.chance(0.5) ? words(r, 1 + r.int(2)) : hostileString(r),
          ...(r.chance(0.3) ? { limit: 1 + r.int(50) } : {}),
        };
      if (action === "around") return { action, id: known(state.messageIds, () => r.pick(FAKE_IDS)) };
      return {
        action,
        id: known(state.partIds, () => r.pick(FAKE_IDS)),
        ...(r.chance(0.4) ? { offset: r.int(5000) } : {}),
        ...(r.chance(0.4) ? { length: 1 + r.int(8000) } : {}),
      };
    }
    case "tasks": {
      const action = r.pick(TASK_ACTIONS);
      if (action === "create")
        return {
          action,
          title: r.chance(0.6) ? words(r, 2 + r.int(4)) : hostileString(r),
          ...(r.chance(0.3) ? { parent: taskId() } : {}),
        };
      if (action === "list") return { action };
      if (action === "progress") return { action, note: text(), ...(r.chance(0.5) ? { id: taskId() } : {}) };
      if (action === "rename") return { action, id: taskId(), title: r.chance(0.6) ? words(r, 3) : hostileString(r) };
      const needsNote = action === "block" || action === "abandon";
      return { action, id: taskId(), ...(needsNote || r.chance(0.3) ? { note: text() } : {}) };
    }
    case "workflow": {
      const action = r.pick(WORKFLOW_ACTIONS);
      // Never a real workflow name: a run would start agents the chaos model does not script.
      if (action === "run")
        return {
          action,
          name: r.chance(0.5) ? `no-such-${words(r, 1)}` : hostileString(r),
          ...(r.chance(0.5) ? { args: hostileValue(r) } : {}),
        };
      if (action === "list") return { action };
      return { action, runId: r.chance(0.5) ? r.pick(FAKE_IDS) : `wf_${hostileString(r)}` };
    }
    case "checkpoint_write": {
      const sections = [
        "intent",
        "next_action",
        "directives",
        "current_work",
        "knowledge",
        "decisions",
        "open_notes",
        "task_tree",
        "files",
      ];
      return Object.fromEntries(
        sections.filter(() => r.chance(0.7)).map((key) => [key, key === "intent" ? `> ${text()}` : text()]),
      );
    }
    default:
      return {
        met: r.chance(0.5),
        impossible: r.chance(0.2),
        reason: text(),
        evidence: [text()],
        missing: r.chance(0.5) ? [text()] : [],
      };
  }
}

/** Breaks a plausible call: drops a field, adds one, swaps a value's type, or breaks the action. */
function mutate(r: Rng, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...args };
  const keys = Object.keys(out);
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    switch (r.int(5)) {
      case 0:
        if (keys.length) delete out[r.pick(keys)];
        break;
      case 1:
        // defineProperty: a plain assignment to "__proto__" would set the prototype instead of sending the key.
        Object.defineProperty(
          out,
          r.pick([
            "bogus",
            "__proto__",
            "constructor",
            "ACTION",
            "query ",
            "",
            "scope",
            "limit",
            "offset",
            "path",
            "file",
          ]),
          { value: hostileValue(r), enumerable: true, writable: true, configurable: true },
        );
        break;
      case 2:
        if (keys.length) out[r.pick(keys)] = hostileValue(r);
        break;
      case 3:
        out.action = r.chance(0.5)
          ? hostileValue(r)
          : r.pick(["SEARCH", "remember ", "delete", "drop", "exec", "__proto__", ""]);
        break;
      default:
        out[r.pick(["limit", "offset", "length"])] = r.pick([-1, 0, 51, 1e9, 2.5, "10", "ten", NaN]);
    }
  }
  return out;
}

/** Arguments that are not an object at all, or not JSON. */
function rawGarbage(r: Rng): string {
  return r.pick([
    JSON.stringify("remember pnpm"),
    JSON.stringify(["search", "x"]),
    "null",
    "12345",
    "true",
    "[]",
    '{"action": "rem',
    "{action: search}",
    "",
    "{}{}",
    '{"action":"search","query":"x"',
    JSON.stringify({ action: "search", query: "x" }).replace(/"/g, "'"),
    "\u0000",
    '{"action":"remember","section":"Rules","text":"\\ud800"}',
  ]);
}

/** One call. `prefix` makes the call id unique across seeds and turns, so its result can be matched. */
export function chaosCall(r: Rng, state: ChaosState, id: string): ScriptedToolCall {
  const name = r.chance(0.15)
    ? r.pick(INTERNAL_TOOLS)
    : r.pick(["memory", "memory", "memory", "history", "tasks", "tasks", "workflow"]);
  const roll = r.next();
  if (roll < 0.1) return { id, name, args: {}, rawArguments: rawGarbage(r) };
  const args = plausible(r, name, state);
  return { id, name, args: roll < 0.4 ? mutate(r, args) : args };
}

export interface ToolResult {
  callId: string;
  name: string;
  args: unknown;
  text: string;
}

/** Learns ids from results, so later calls can use ids that exist (and forget what was remembered). */
export function learn(state: ChaosState, seed: number, result: ToolResult): void {
  const remembered = /^Remembered as (m-[a-z0-9]{8}) in /.exec(result.text);
  if (remembered) state.remembered.set(remembered[1]!, { seed, callId: result.callId });
  const removed = /^Removed (m-[a-z0-9]{8}) from /.exec(result.text);
  if (removed) state.remembered.delete(removed[1]!);
  for (const m of result.text.matchAll(/^(?:created )?(T\d+(?:\.\d+)*) /gm)) state.taskIds.add(m[1]!);
  for (const m of result.text.matchAll(/part (prt_\w+) · message (msg_\w+)/g)) {
    state.partIds.add(m[1]!);
    state.messageIds.add(m[2]!);
  }
}

/** The tool results in a request that answer calls this driver sent, not seen before. */
export function newResults(
  request: RecordedRequest,
  sent: Map<string, ScriptedToolCall & { seed: number }>,
  seen: Set<string>,
): (ToolResult & { seed: number })[] {
  const out: (ToolResult & { seed: number })[] = [];
  for (const message of request.body.messages) {
    if (message.role !== "tool" || !message.tool_call_id || seen.has(message.tool_call_id)) continue;
    const call = sent.get(message.tool_call_id);
    if (!call) continue;
    seen.add(message.tool_call_id);
    out.push({
      callId: call.id!,
      seed: call.seed,
      name: call.name,
      args: call.rawArguments ?? call.args,
      text: contentText(message),
    });
  }
  return out;
}

/** What one turn of the driver sends: `calls` tool calls in batches of `batch`, then a closing text. */
export interface ChaosTurn {
  seed: number;
  rng: Rng;
  calls: number;
  batch: number;
  /** Fixed calls instead of random ones (the read-back searches); their own ids are kept. */
  script?: ScriptedToolCall[];
}

/**
 * The main lane's responder in chaos mode. Turns run one at a time: begin() sets the turn, the responder hands out
 * its batches, records each result from the following request, and ends the turn with a text.
 */
export function chaosDriver(state: ChaosState) {
  const sent = new Map<string, ScriptedToolCall & { seed: number }>();
  const seen = new Set<string>();
  const results: (ToolResult & { seed: number })[] = [];
  let turn: (ChaosTurn & { done: number }) | undefined;
  let counter = 0;
  let lastArgs = "";
  let lastName = "";
  const usage = { prompt_tokens: 2000, completion_tokens: 20 };

  const respond = (request: RecordedRequest): ScriptedReply => {
    for (const result of newResults(request, sent, seen)) {
      results.push(result);
      learn(state, result.seed, result);
    }
    if (!turn || turn.done >= turn.calls) return { text: "chaos turn done", usage };
    const size = Math.min(turn.batch, turn.calls - turn.done);
    const calls: ScriptedToolCall[] = [];
    for (let i = 0; i < size; i++) {
      const id = `chaos_${turn.seed}_${++counter}`;
      const scripted = turn.script?.[turn.done + i];
      let call = scripted ? { ...scripted, id: scripted.id ?? id } : chaosCall(turn.rng, state, id);
      // OpenCode asks for permission after three identical calls in a row (its doom-loop guard), and it sees every
      // call of a tool the agent may not use as the same call of its `invalid` tool: never repeat either.
      const repeats = (c: ScriptedToolCall) =>
        JSON.stringify([c.name, c.args, c.rawArguments]) === lastArgs ||
        (INTERNAL.has(c.name) && INTERNAL.has(lastName));
      for (let tries = 0; !turn.script && repeats(call) && tries < 20; tries++) call = chaosCall(turn.rng, state, id);
      lastArgs = JSON.stringify([call.name, call.args, call.rawArguments]);
      lastName = call.name;
      sent.set(call.id!, { ...call, seed: turn.seed });
      calls.push(call);
    }
    turn.done += size;
    return { toolCalls: calls, usage };
  };

  return {
    respond,
    results,
    sent,
    begin(next: ChaosTurn) {
      turn = { ...next, calls: next.script ? next.script.length : next.calls, done: 0 };
    },
    /** Calls sent whose result never came back. */
    unanswered: () => [...sent.keys()].filter((id) => !seen.has(id)),
  };
}
