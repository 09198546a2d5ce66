// One script in its own sandbox, and the host API it is given: agent, merge, check, nested workflows, phase/log
// and the confined file helpers. Nested workflows recurse here, sharing the run's budget, journal and cancel.
import { agentCall } from "./agent-call.ts";
import { checkCall } from "./check-call.ts";
import { checkArgs, hash } from "./engine-util.ts";
import type { Occurrence, RunScope } from "./engine-types.ts";
import type { LoadedWorkflow } from "./loader.ts";
import { mergeCall } from "./merge-call.ts";
import { reportProgress, saveRun, transcribe } from "./run-record.ts";
import { Sandbox, SandboxError } from "./sandbox.ts";

const MAX_DEPTH = 8;

/** Where a script sits in its run: the workflows above it, its journal-key prefix and its Math.random seed. */
interface ScriptPlace {
  stack: string[];
  prefix: string;
  seed: number;
}

/** Runs one script (the run's top one or a nested one) in a fresh sandbox, disposed when it ends. */
export async function runScript(scope: RunScope, loaded: LoadedWorkflow, args: unknown, place: ScriptPlace) {
  const { options, run } = scope;
  const { limits } = options;
  const sandbox = await Sandbox.create({
    memoryMiB: limits.memoryMiB,
    maxStackKiB: limits.maxStackKiB,
    sliceMs: limits.sliceMs,
    budget: run.budget,
  });
  run.sandboxes.add(sandbox);
  if (run.controller.signal.aborted)
    sandbox.stop(new SandboxError(`the run was ${String(run.controller.signal.reason ?? "cancelled")}`, "cancelled"));
  try {
    return await sandbox.run(loaded.source, `${loaded.name}.js`, hostApi(scope, place), args, place.seed);
  } finally {
    run.sandboxes.delete(sandbox);
    sandbox.dispose();
  }
}

/** The functions a script may call; occurrences are counted per script so identical calls get distinct keys. */
function hostApi(scope: RunScope, place: ScriptPlace) {
  const { options, run } = scope;
  const { prefix } = place;
  const occurrences = new Map<string, number>();
  const occurrence = (identity: string) => {
    const n = occurrences.get(identity) ?? 0;
    occurrences.set(identity, n + 1);
    return n;
  };
  return {
    agent: (prompt: unknown, opts: unknown) => agentCall(scope, prefix, occurrence, prompt, opts),
    merge: (changes: unknown) => mergeCall(scope, prefix, occurrence, changes),
    check: (command: unknown, opts: unknown) => checkStep(scope, prefix, occurrence, command, opts),
    projectChecks: () => options.check?.detect() ?? [],
    workflow: (name: unknown, nestedArgs: unknown) => nested(scope, place, occurrence, name, nestedArgs),
    phase: (title: unknown) => {
      run.record.phase = String(title).slice(0, 200);
      transcribe(run, "phase", run.record.phase);
      saveRun(scope);
      reportProgress(scope, "phase");
    },
    log: (message: unknown) => transcribe(run, "log", String(message)),
    readFile: (path: unknown) => run.files.readFile(path),
    writeFile: (path: unknown, text: unknown) => run.files.writeFile(path, text),
    glob: (pattern: unknown) => run.files.glob(pattern),
    exists: (path: unknown) => run.files.exists(path),
  };
}

/** check(command, opts): tracked as in flight so a stopped run waits for the command to wind down. */
function checkStep(scope: RunScope, prefix: string, occurrence: Occurrence, command: unknown, opts: unknown) {
  const { options, run } = scope;
  const step = checkCall(
    {
      prefix,
      occurrence,
      journal: run.journal,
      record: run.record,
      signal: run.controller.signal,
      port: options.check,
      transcribe: (kind, text) => transcribe(run, kind, text),
      save: () => saveRun(scope),
    },
    command,
    opts,
  );
  run.inflight.add(step);
  return step.finally(() => run.inflight.delete(step));
}

/** workflow(name, args): a nested script in its own sandbox, sharing the run's budget, journal and cancel. */
async function nested(
  scope: RunScope,
  place: ScriptPlace,
  occurrence: Occurrence,
  name: unknown,
  args: unknown,
): Promise<unknown> {
  const { stack, prefix, seed } = place;
  if (typeof name !== "string" || !name.trim())
    throw new TypeError("workflow(name, args): name must be a workflow's name");
  if (stack.length >= MAX_DEPTH)
    throw new Error(`workflows nest at most ${MAX_DEPTH} deep (${[...stack, name].join(" → ")})`);
  checkArgs(args);
  const loaded = scope.options.loader.load(name);
  if (stack.includes(loaded.meta.name)) throw new Error(`workflow cycle: ${[...stack, loaded.meta.name].join(" → ")}`);
  const identity = hash(JSON.stringify([loaded.meta.name, args ?? null]));
  const nestedPrefix = `${prefix}${loaded.meta.name}:${identity}#${occurrence(`wf:${identity}`)}/`;
  transcribe(scope.run, "log", `workflow ${loaded.meta.name} started (nested)`);
  const outcome = await runScript(scope, loaded, args ?? null, {
    stack: [...stack, loaded.meta.name],
    prefix: nestedPrefix,
    seed: (seed ^ parseInt(identity.slice(0, 8), 16)) >>> 0,
  });
  if (!outcome.ok) throw new Error(`workflow ${loaded.meta.name} failed: ${outcome.error}`);
  return outcome.value;
}
