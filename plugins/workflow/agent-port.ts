// agent() in OpenCode: one helper run per call through the shared runner (concurrency limit, ledger under the
// feature "workflow", /agents, cancel). With a schema the agent records its result with workflow_result, which
// validates it against that call's JSON Schema; without one the run's value is the agent's final text.
import { z } from "zod";
import type { FeatureContext } from "../core/feature.ts";
import type { HelperOutcome, HelperRequest, ResultChannel } from "../core/helpers.ts";
import type { AgentAnswer, AgentCall, AgentPort } from "./engine.ts";
import { compileSchema, schemaProblems } from "./schema.ts";
import type { ValidateFunction } from "ajv";
import type { Confinement } from "../core/confinement.ts";
import { errorText } from "../core/report.ts";
import { totalTokens } from "../core/tokens.ts";
import type { Worktree } from "../core/worktrees.ts";

export const RESULT_TOOL = "workflow_result";
/** An agent a workflow started is not offered the workflow tool: nesting goes through workflow() in the script. */
const NO_NESTED_TOOLS = { workflow: false } as const;
export const FEATURE = "workflow";

export interface ResultContext {
  validate: ValidateFunction;
}

export type WorkflowResultChannel = ResultChannel<unknown, ResultContext>;

export function workflowResultChannel(context: FeatureContext): WorkflowResultChannel {
  return context.helpers.resultChannel(RESULT_TOOL, {
    description:
      "Records your result for the workflow that started you: `result` must match the JSON Schema your instructions give. Call it once, when done.",
    args: { result: z.unknown().describe("Your result: a JSON value matching the schema in your instructions") },
    reserved: `${RESULT_TOOL} only records the result of an agent started by a workflow script's agent() call with a schema; this session is not one.`,
    accept(args, ctx) {
      let value = args.result;
      // Some models send the object as a JSON string.
      if (typeof value === "string") {
        try {
          value = JSON.parse(value);
        } catch {
          // Not JSON: validated as the string it is.
        }
      }
      const problems = schemaProblems(ctx.validate, value);
      if (problems.length) return { ok: false, problems };
      return { ok: true, value, reply: "Recorded. You are done: stop here." };
    },
  });
}

export function schemaPrompt(prompt: string, schema: unknown): string {
  return `${prompt}\n\nWhen you are done, call the ${RESULT_TOOL} tool once with \`result\` set to a JSON value matching this JSON Schema (your text reply is not read):\n${JSON.stringify(schema)}`;
}

export function helperAgentPort(context: FeatureContext, channel: WorkflowResultChannel): AgentPort {
  return {
    async run(call: AgentCall): Promise<AgentAnswer> {
      if (!call.parentSessionId)
        return { ok: false, message: "the run has no session to start agents under", tokens: 0 };
      const model = call.model
        ? {
            providerID: call.model.slice(0, call.model.indexOf("/")),
            modelID: call.model.slice(call.model.indexOf("/") + 1),
          }
        : undefined;
      const base = {
        feature: FEATURE,
        agent: call.agent,
        parentSessionId: call.parentSessionId,
        title: `workflow ${call.workflow}: ${call.label}`,
        timeoutMs: call.timeoutMs,
        retries: 1,
        signal: call.signal,
        reason: `workflow ${call.workflow} ${call.runId}${call.phase ? ` [${call.phase}]` : ""}: ${call.label}`,
        ...(model ? { model } : {}),
      };
      const run = (worktree: Confinement | undefined) =>
        runHelper(context, channel, call, { ...base, ...(worktree ? { worktree } : {}) });
      return call.isolation === "worktree" ? isolated(context, call, run) : run(undefined);
    },
  };
}

type BaseRequest = Omit<HelperRequest<unknown, unknown>, "prompt" | "channel" | "context">;

async function runHelper(
  context: FeatureContext,
  channel: WorkflowResultChannel,
  call: AgentCall,
  base: BaseRequest,
): Promise<AgentAnswer> {
  let outcome: HelperOutcome<unknown>;
  if (call.schema) {
    const compiled = compileSchema(call.schema);
    if (!compiled.ok) return { ok: false, message: compiled.problem, tokens: 0 };
    outcome = await context.helpers.run({
      ...base,
      prompt: schemaPrompt(call.prompt, call.schema),
      channel,
      context: { validate: compiled.validate },
      tools: { [RESULT_TOOL]: true, ...NO_NESTED_TOOLS },
      retryPrompt: (problem) =>
        problem
          ? `Your result was not recorded: ${problem}. Call ${RESULT_TOOL} again with a fixed result.`
          : `You did not record a result. Call ${RESULT_TOOL} now.`,
    });
  } else {
    outcome = await context.helpers.run<string, undefined>({
      ...base,
      prompt: call.prompt,
      context: undefined,
      tools: NO_NESTED_TOOLS,
    });
  }
  const tokens = totalTokens(outcome.usage.tokens);
  return outcome.ok
    ? { ok: true, value: outcome.value, tokens }
    : { ok: false, message: `${outcome.failure}: ${outcome.message}`, tokens };
}

/**
 * isolation: "worktree": the agent works in a git worktree of the project (a snapshot of it as it is now, under the
 * pack's data dir), never in the project itself. Its value comes back as { value, diff, files }: the diff of what it
 * changed there, for the script to hand on; the worktree is removed afterwards.
 */
async function isolated(
  context: FeatureContext,
  call: AgentCall,
  run: (worktree: Confinement) => Promise<AgentAnswer>,
): Promise<AgentAnswer> {
  const { worktrees } = context;
  if (!(await worktrees.isRepo().catch(() => false)))
    return { ok: false, message: 'isolation: "worktree" needs the project to be a git repository', tokens: 0 };
  let worktree: Worktree;
  try {
    worktree = await worktrees.create(FEATURE, call.label);
  } catch (error) {
    return { ok: false, message: `could not create a worktree: ${errorText(error)}`, tokens: 0 };
  }
  try {
    const answer = await run({ dir: worktree.dir, projectDir: worktrees.projectDir });
    if (!answer.ok) return answer;
    const [diff, files] = await Promise.all([worktrees.diff(worktree), worktrees.changedFiles(worktree)]);
    return { ok: true, value: { value: answer.value, diff, files }, tokens: answer.tokens };
  } catch (error) {
    return { ok: false, message: `the worktree's changes could not be read: ${errorText(error)}`, tokens: 0 };
  } finally {
    await worktrees.remove(worktree).catch(() => undefined);
  }
}
