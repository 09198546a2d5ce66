// What every model request pays for the pack: the first request of a fresh session of the real pinned OpenCode,
// captured by the scripted model with and without the pack installed (empty memory, every feature on), counted
// with a real tokenizer (gpt-tokenizer, o200k_base). The difference is the pack's fixed cost per request.
// `npx tsx test/bench/request-cost.bench.ts` prints the breakdown per tool and per system message.
import { countTokens } from "gpt-tokenizer";
import { fileURLToPath } from "node:url";
import { createIsolatedEnv } from "../harness/env.ts";
import { installPack } from "../harness/install.ts";
import { killAll, opencodeRun } from "../harness/opencode.ts";
import { contentText, startScriptedModel, type ChatBody } from "../harness/scripted-model.ts";
import { INTERNAL_TOOLS } from "../harness/chaos.ts";

const BUDGET_TOKENS = 1000;
/** Tools only the pack's hidden agents may call (INTERNAL_TOOLS); the main agent's request should not carry them. */
const PROMPT = "Say hello.";

type Tool = NonNullable<ChatBody["tools"]>[number];

export interface RequestCost {
  /** Tokens of the whole request body as sent (JSON). */
  total: number;
  tools: Map<string, number>;
  system: string[];
  systemTokens: number[];
}

/** Runs `opencode run` once in a fresh isolated project and returns the first request of the main agent. */
export async function captureFirstRequest(withPack: boolean): Promise<ChatBody> {
  const model = await startScriptedModel({ main: [{ text: "Hello." }], exhausted: { text: "ok" } });
  const env = createIsolatedEnv({ baseURL: model.baseURL });
  try {
    if (withPack) installPack(env, { scope: "project" });
    const run = await opencodeRun(env, PROMPT);
    if (run.code !== 0) throw new Error(`opencode run failed (${run.code}): ${run.stderr.slice(-2000)}`);
    const first = model.lane("main")[0];
    if (!first) throw new Error("the scripted model saw no main request");
    return first.body;
  } finally {
    await model.close();
    env.cleanup();
  }
}

export function measure(body: ChatBody): RequestCost {
  const system = body.messages.filter((m) => m.role === "system").map(contentText);
  return {
    total: countTokens(JSON.stringify(body)),
    tools: new Map((body.tools ?? []).map((t: Tool) => [t.function.name, countTokens(JSON.stringify(t))])),
    system,
    systemTokens: system.map((s) => countTokens(s)),
  };
}

export interface CostComparison {
  added: number;
  /** Tools only the pack's request has, with their tokens. */
  packTools: [string, number][];
  /** Host tools whose schema grew (e.g. the skill tool listing the pack's skill), with the growth. */
  grownTools: [string, number][];
  /** Growth of OpenCode's own system prompt (system[0]): the skill listing names the pack's skill. */
  systemPromptGrowth: number;
  /** System messages only the pack's request has (the memory block), with their tokens. */
  addedSystem: number;
  /** The pack's internal tools (denied to the main agent) if OpenCode sent them anyway. */
  internalTools: [string, number][];
  rest: number;
}

export function compare(without: RequestCost, withPack: RequestCost): CostComparison {
  const packTools = [...withPack.tools].filter(([name]) => !without.tools.has(name));
  const grownTools = [...withPack.tools]
    .filter(([name, tokens]) => without.tools.has(name) && tokens !== without.tools.get(name))
    .map(([name, tokens]): [string, number] => [name, tokens - without.tools.get(name)!]);
  const systemPromptGrowth = (withPack.systemTokens[0] ?? 0) - (without.systemTokens[0] ?? 0);
  const addedSystem = sum(withPack.systemTokens.slice(1)) - sum(without.systemTokens.slice(1));
  const added = withPack.total - without.total;
  const explained =
    sum(packTools.map(([, t]) => t)) + sum(grownTools.map(([, t]) => t)) + systemPromptGrowth + addedSystem;
  const internalTools = packTools.filter(([name]) => (INTERNAL_TOOLS as readonly string[]).includes(name));
  return { added, packTools, grownTools, systemPromptGrowth, addedSystem, internalTools, rest: added - explained };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export async function run() {
  try {
    const without = measure(await captureFirstRequest(false));
    const withPack = measure(await captureFirstRequest(true));
    const cost = compare(without, withPack);
    const ratio = ((cost.added / without.total) * 100).toFixed(1);
    const tools = cost.packTools.map(([name, t]) => `${name} ${t}`).join(", ") || "none";
    return [
      {
        measure:
          "pack's fixed cost per request: first request of a fresh session, empty memory, every feature on (o200k_base tokens)",
        target: `≤ ${BUDGET_TOKENS} tokens`,
        result: `${cost.added} tokens (${without.total} → ${withPack.total}, +${ratio} %)`,
        ok: cost.added <= BUDGET_TOKENS,
      },
      {
        measure: "… of which the pack's tool schemas",
        target: "-",
        result: `${sum(cost.packTools.map(([, t]) => t))} tokens (${tools})`,
        ok: true,
      },
      {
        measure:
          "… of which OpenCode's `task` tool listing the pack's hidden subagents (writer, judges, candidates, dream, distill)",
        target: "-",
        result: cost.grownTools.length
          ? `${cost.grownTools.map(([name, t]) => `${name} +${t}`).join(", ")} tokens`
          : "0 (not listed)",
        ok: true,
      },
      {
        measure:
          "… of which the skill listing in OpenCode's system prompt / the memory block (empty memory) / JSON framing",
        target: "-",
        result: `${cost.systemPromptGrowth} / ${cost.addedSystem} / ${cost.rest} tokens`,
        ok: true,
      },
      {
        measure: `internal tools (${INTERNAL_TOOLS.length} result tools of hidden agents: ${INTERNAL_TOOLS.slice(0, 3).join(", ")}, …) in the main agent's request`,
        target: "not sent",
        result: cost.internalTools.length
          ? cost.internalTools.map(([name, t]) => `${name} ${t} tokens`).join(", ")
          : "not sent",
        ok: cost.internalTools.length === 0,
      },
    ];
  } finally {
    killAll();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const without = measure(await captureFirstRequest(false));
  const body = await captureFirstRequest(true);
  const withPack = measure(body);
  console.log(
    JSON.stringify(
      { without: { total: without.total, tools: Object.fromEntries(without.tools), system: without.systemTokens } },
      null,
      1,
    ),
  );
  console.log(
    JSON.stringify(
      { with: { total: withPack.total, tools: Object.fromEntries(withPack.tools), system: withPack.systemTokens } },
      null,
      1,
    ),
  );
  console.log(JSON.stringify(compare(without, withPack), null, 1));
  for (const text of withPack.system.slice(1)) console.log(`--- pack system message ---\n${text}`);
  if (process.env.SHOW_TOOLS) for (const t of body.tools ?? []) console.log(JSON.stringify(t));
}
