// What a request of the compose agent costs next to one of build, with the pack installed: the agent's own prompt
// and the listing of its eleven skills (name, description, location), which only the compose agent's requests carry.
// `npx tsx test/bench/run.ts compose`.
import { countTokens } from "gpt-tokenizer";
import { createIsolatedEnv } from "../harness/env.ts";
import { installPack } from "../harness/install.ts";
import { killAll, opencodeRun } from "../harness/opencode.ts";
import { contentText, startScriptedModel, type ChatBody } from "../harness/scripted-model.ts";

async function firstRequest(agent: string | undefined): Promise<ChatBody> {
  const model = await startScriptedModel({ main: [{ text: "Hello." }], exhausted: { text: "ok" } });
  const env = createIsolatedEnv({ baseURL: model.baseURL });
  try {
    installPack(env, { scope: "project" });
    const run = await opencodeRun(env, "Say hello.", { args: agent ? ["--agent", agent] : [] });
    if (run.code !== 0) throw new Error(`opencode run failed (${run.code}): ${run.stderr.slice(-2000)}`);
    const first = model.lane("main")[0];
    if (!first) throw new Error("no main request");
    return first.body;
  } finally {
    await model.close();
    env.cleanup();
  }
}

/** Tokens of the compose-* entries of the skill listing in the system prompt. */
function skillListing(body: ChatBody): number {
  const system = body.messages
    .filter((m) => m.role === "system")
    .map(contentText)
    .join("\n");
  const entries = system.match(/<skill>\s*<name>compose-[\s\S]*?<\/skill>/g) ?? [];
  return entries.reduce((n, entry) => n + countTokens(entry), 0);
}

export async function run() {
  try {
    const build = await firstRequest(undefined);
    const compose = await firstRequest("compose");
    const total = (body: ChatBody) => countTokens(JSON.stringify(body));
    return [
      {
        measure: "first request of the compose agent vs. build (pack installed, o200k_base tokens)",
        target: "-",
        result: `${total(compose)} vs. ${total(build)} (${total(compose) - total(build) >= 0 ? "+" : ""}${total(compose) - total(build)})`,
        ok: true,
      },
      {
        measure: "… of which the listing of the eleven compose-* skills (build's requests: none)",
        target: "build: 0",
        result: `compose ${skillListing(compose)}, build ${skillListing(build)}`,
        ok: skillListing(build) === 0,
      },
    ];
  } finally {
    killAll();
  }
}
