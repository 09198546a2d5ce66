// Shared pieces of the Max Mode end-to-end tests: scripted lanes for the candidates and the judge (recognised by
// their agents' system prompts), and a view of the parent's child sessions.
import type { Lane, RecordedRequest, ScriptedReply } from "../harness/scripted-model.ts";
import type { Served } from "../harness/opencode.ts";

export const isCandidateRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You are a Max Mode candidate"));
export const isMaxJudgeRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You are the Max Mode judge"));

export interface PlanArgs {
  summary: string;
  steps: string[];
  files: string[];
  risks: string[];
  tests: string[];
}

/** Which candidate a request belongs to (its first user message names it). */
export function candidateIndex(r: RecordedRequest): number {
  const first = r.body.messages.find((m) => m.role === "user");
  const text =
    typeof first?.content === "string" ? first.content : (first?.content ?? []).map((p) => p.text ?? "").join("");
  return Number(/Max Mode candidate (\d+) of/.exec(text)?.[1] ?? 0);
}

export interface CandidateCall {
  index: number;
  at: number;
}

/**
 * Candidates answer with the plan of their index (after `delayMs`); later calls of a session say "done". With
 * `readFirst` a candidate first reads README.md, as its prompt asks it to look at the code before planning.
 */
export function candidateLane(
  plan: (index: number) => PlanArgs | undefined,
  options: { delayMs?: number; calls?: CandidateCall[]; readFirst?: boolean } = {},
): Lane {
  return {
    name: "candidate",
    match: isCandidateRequest,
    replies: (request): ScriptedReply => {
      const last = request.body.messages.at(-1)?.role;
      const tools = ([...request.body.messages].reverse().find((m) => m.role === "assistant")?.tool_calls ?? []).map(
        (c) => c.function.name,
      );
      if (options.readFirst && last !== "tool")
        return {
          toolCalls: [{ name: "read", args: { filePath: "README.md" } }],
          ...(options.delayMs ? { delayMs: options.delayMs } : {}),
        };
      if (last === "tool" && !(options.readFirst && tools.includes("read"))) return { text: "done" };
      const index = candidateIndex(request);
      options.calls?.push({ index, at: Date.now() });
      const args = plan(index);
      const delay = options.delayMs ? { delayMs: options.delayMs } : {};
      return args
        ? { toolCalls: [{ name: "max_plan", args: args as unknown as Record<string, unknown> }], ...delay }
        : { text: "I have no plan.", ...delay };
    },
  };
}

const score = (candidate: number, v: number) => ({
  candidate,
  correct: v,
  grounded: v,
  complete: v,
  safe: v,
  tested: v,
  small: v,
});

/** The judge picks `winner` among the candidates it was shown. */
export function maxJudgeLane(winner: number): Lane {
  return {
    name: "max-judge",
    match: isMaxJudgeRequest,
    replies: (request): ScriptedReply => {
      if (request.body.messages.at(-1)?.role === "tool") return { text: "done" };
      const shown = [...request.raw.matchAll(/<candidate-(\d+)>/g)].map((m) => Number(m[1]));
      return {
        toolCalls: [
          {
            name: "max_verdict",
            args: {
              winner,
              scores: shown.map((c) => score(c, c === winner ? 5 : 2)),
              rationale: `candidate ${winner} is grounded and tested`,
            },
          },
        ],
      };
    },
  };
}

export function plan(index: number, marker = `PLAN-${index}`): PlanArgs {
  return {
    summary: `${marker}: approach number ${index}`,
    steps: [`Step unique to ${marker} alpha${index} beta${index}`, `Second step gamma${index} delta${index}`],
    files: [`src/file${index}.ts`],
    risks: [],
    tests: ["npm test"],
  };
}

export async function children(served: Served, session: string): Promise<string[]> {
  return ((await served.client.session.children({ path: { id: session } })).data ?? []).map((s) => s.id);
}

export async function busyChildren(served: Served, session: string): Promise<string[]> {
  const status = ((await served.client.session.status()).data ?? {}) as Record<string, { type: string }>;
  return (await children(served, session)).filter((id) => status[id] && status[id]!.type !== "idle");
}

export function maxEnv(max: Record<string, unknown>) {
  return {
    continuumConfig: { checkpoint: { enabled: false }, tasks: { gate: false }, agents: { maxConcurrent: 8 }, max },
    opencodeConfig: { snapshot: false },
  };
}

export const isBuilderRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You are a Max Mode builder"));

/** Names of the tools called in the request's latest assistant message. */
const lastTools = (r: RecordedRequest) =>
  ([...r.body.messages].reverse().find((m) => m.role === "assistant")?.tool_calls ?? []).map((c) => c.function.name);

export function builderIndex(r: RecordedRequest): number {
  const first = r.body.messages.find((m) => m.role === "user");
  const text =
    typeof first?.content === "string" ? first.content : (first?.content ?? []).map((p) => p.text ?? "").join("");
  return Number(/Max Mode builder (\d+) of/.exec(text)?.[1] ?? 0);
}

/**
 * Builders write `file` with the content of their index, then record max_patch; later calls say "done". With
 * `firstBash`, builder 1 first runs that shell command.
 */
export function builderLane(
  file: string,
  content: (index: number) => string,
  options: { delayMs?: number; calls?: CandidateCall[]; firstBash?: string } = {},
): Lane {
  return {
    name: "builder",
    match: isBuilderRequest,
    replies: (request): ScriptedReply => {
      const index = builderIndex(request);
      const last = request.body.messages.at(-1)?.role;
      if (last === "tool" && lastTools(request).includes("max_patch")) return { text: "done" };
      if (last === "tool" && lastTools(request).includes("bash"))
        return { toolCalls: [{ name: "write", args: { filePath: file, content: content(index) } }] };
      if (last === "tool")
        return { toolCalls: [{ name: "max_patch", args: { summary: `builder ${index} wrote ${file}` } }] };
      if (options.firstBash && index === 1)
        return { toolCalls: [{ name: "bash", args: { command: options.firstBash, description: "try it" } }] };
      options.calls?.push({ index, at: Date.now() });
      return {
        toolCalls: [{ name: "write", args: { filePath: file, content: content(index) } }],
        ...(options.delayMs ? { delayMs: options.delayMs } : {}),
      };
    },
  };
}

/** OpenCode sends a temperature only to a model that declares it takes one: the scripted model does here. */
export function temperatureModel(baseURL: string) {
  return {
    provider: {
      fake: {
        npm: "@ai-sdk/openai-compatible",
        name: "Scripted",
        options: { baseURL, apiKey: "scripted" },
        models: {
          "fake-model": {
            name: "Fake model",
            tool_call: true,
            temperature: true,
            limit: { context: 32000, output: 4000 },
          },
        },
      },
    },
  };
}
