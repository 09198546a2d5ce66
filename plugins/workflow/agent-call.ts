// A script's agent(prompt, opts): the options checked, the journaled value replayed, or one helper run through the
// AgentPort, its result journaled before the script sees it. Any failure returns null to the script, never a throw.
import { errorText } from "../core/report.ts";
import { firstWords, hash } from "./engine-util.ts";
import type { AgentAnswer, Occurrence, RunScope } from "./engine-types.ts";
import { reportProgress, saveRun, transcribe } from "./run-record.ts";
import { compileSchema } from "./schema.ts";

/** Agents one run may start (replays not counted): a runaway loop must not open thousands of sessions. */
export const MAX_AGENT_CALLS = 2000;
const MAX_PROMPT_CHARS = 200_000;
const AGENT_OPTIONS = new Set(["schema", "agent", "model", "label", "phase", "timeoutMs", "isolation"]);
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const MODEL_REF = /^[^/\s]+\/\S+$/;

interface AgentOptions {
  schema?: Record<string, unknown>;
  agent?: string;
  model?: string;
  label?: string;
  phase?: string;
  timeoutMs?: number;
  isolation?: "worktree";
}

/** agent(prompt, opts): the journaled value, or a helper run; null on any failure, never a throw. */
export async function agentCall(
  scope: RunScope,
  prefix: string,
  occurrence: Occurrence,
  prompt: unknown,
  rawOpts: unknown,
): Promise<unknown> {
  const { options, run } = scope;
  const checked = checkAgentCall(prompt, rawOpts);
  if (!checked.ok) {
    transcribe(run, "error", `agent(): ${checked.problem}; it returned null`);
    return null;
  }
  const { opts } = checked;
  const agentName = opts.agent ?? options.defaultAgent ?? "general";
  const identity = hash(
    JSON.stringify([prefix, prompt, opts.schema ?? null, agentName, opts.model ?? null, opts.isolation ?? null]),
  );
  const key = `${prefix}${identity}#${occurrence(identity)}`;
  const label = opts.label ?? firstWords(prompt as string);
  const journaled = run.journal.get(key);
  if (journaled) {
    run.record.agents.replayed++;
    transcribe(run, "agent", `${label}: replayed from the journal`);
    return journaled.value;
  }
  const { record } = run;
  if (record.agents.started >= MAX_AGENT_CALLS) {
    transcribe(
      run,
      "error",
      `agent(): this run already started ${MAX_AGENT_CALLS} agents, the most one run may; it returned null`,
    );
    return null;
  }
  record.agents.started++;
  record.agents.running++;
  reportProgress(scope, "agent");
  const call = options.agents
    .run({
      runId: record.id,
      workflow: record.name,
      prompt: prompt as string,
      schema: opts.schema,
      agent: agentName,
      model: opts.model,
      label,
      phase: opts.phase ?? record.phase,
      timeoutMs: opts.timeoutMs ?? options.limits.agentTimeoutMs,
      isolation: opts.isolation,
      parentSessionId: record.parentSessionId,
      signal: run.controller.signal,
    })
    .catch((error): AgentAnswer => ({ ok: false, message: errorText(error), tokens: 0 }));
  run.inflight.add(call);
  const answer = await call.finally(() => run.inflight.delete(call));
  record.agents.running--;
  record.tokens += answer.tokens;
  if (answer.ok) {
    // Journaled before the script sees it: a crash after this line never repeats the call.
    if (!run.controller.signal.aborted) run.journal.put({ key, value: answer.value, label, at: Date.now() });
    record.agents.finished++;
    transcribe(run, "agent", `${label}: done`);
  } else {
    record.agents.failed++;
    transcribe(run, "agent", `${label}: failed (${answer.message}); agent() returned null`);
  }
  saveRun(scope);
  reportProgress(scope, "agent");
  return answer.ok ? answer.value : null;
}

function checkAgentCall(
  prompt: unknown,
  rawOpts: unknown,
): { ok: true; opts: AgentOptions } | { ok: false; problem: string } {
  if (typeof prompt !== "string" || !prompt.trim()) return { ok: false, problem: "prompt must be a non-empty string" };
  if (prompt.length > MAX_PROMPT_CHARS)
    return { ok: false, problem: `prompt is longer than ${MAX_PROMPT_CHARS} characters` };
  if (rawOpts === null || rawOpts === undefined) return { ok: true, opts: {} };
  if (typeof rawOpts !== "object" || Array.isArray(rawOpts)) return { ok: false, problem: "opts must be an object" };
  const opts = rawOpts as Record<string, unknown>;
  const unknown = Object.keys(opts).filter((k) => !AGENT_OPTIONS.has(k));
  if (unknown.length)
    return {
      ok: false,
      problem: `unknown option(s) ${unknown.join(", ")} (known: ${[...AGENT_OPTIONS].join(", ")})`,
    };
  const text = (k: string, max = 200) =>
    opts[k] === undefined || (typeof opts[k] === "string" && (opts[k] as string).length <= max);
  if (!text("label") || !text("phase"))
    return { ok: false, problem: "label and phase must be strings of at most 200 characters" };
  if (opts.agent !== undefined && (typeof opts.agent !== "string" || !AGENT_NAME.test(opts.agent)))
    return { ok: false, problem: "agent must be an agent's name" };
  if (opts.model !== undefined && (typeof opts.model !== "string" || !MODEL_REF.test(opts.model)))
    return { ok: false, problem: 'model must be "provider/model"' };
  if (
    opts.timeoutMs !== undefined &&
    (typeof opts.timeoutMs !== "number" ||
      !Number.isInteger(opts.timeoutMs) ||
      opts.timeoutMs < 1000 ||
      opts.timeoutMs > 86_400_000)
  ) {
    return { ok: false, problem: "timeoutMs must be an integer from 1000 to 86400000" };
  }
  if (opts.isolation !== undefined && opts.isolation !== "worktree")
    return { ok: false, problem: 'isolation must be "worktree"' };
  if (opts.schema !== undefined) {
    const schema = compileSchema(opts.schema);
    if (!schema.ok) return { ok: false, problem: schema.problem };
  }
  return { ok: true, opts: opts as AgentOptions };
}
