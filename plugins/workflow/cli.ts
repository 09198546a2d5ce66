// `continuum workflow run|resume|list|status|cancel`: workflow scripts outside the TUI. list/status/cancel read the
// run records under the pack's data dir; run and resume start `opencode serve` (the scripts' agents are OpenCode
// sessions), send /workflow in a new session and wait for the run record to end.
import type { Command } from "commander";
import { join } from "node:path";
import { createLoader } from "./loader.ts";
import { displayStatus, runList, runSummary, workflowList } from "./format.ts";
import { RunStore, type RunRecord } from "./journal.ts";
import { processAlive } from "../core/process-alive.ts";
import { effectiveConfig, featureState, type Effective } from "../cli/config-view.ts";
import { act, emit, existingDir, jsonOption, notFound, positiveNumber, projectOption } from "../cli/kit.ts";
import {
  errorMessage,
  findOpencode,
  lastAssistantText,
  startServe,
  stopOnSignals,
  type Served,
} from "../cli/opencode-driver.ts";

type Options = { project?: string; json?: boolean };

function open(options: Options): { eff: Effective; store: RunStore } {
  const eff = effectiveConfig(existingDir("--project", options.project));
  eff.warn(options.json);
  return { eff, store: new RunStore(join(eff.paths.project(eff.project.id).root, "workflows")) };
}

function found(store: RunStore, runId: string): RunRecord {
  const run = store.load(runId);
  if (!run) throw notFound(`no workflow run "${runId}" in this project`);
  return run;
}

/** Only a run whose process is gone (or that ended) is not live. */
const liveHere = (run: RunRecord) => run.status === "running" && processAlive(run.pid);

export function register(program: Command): void {
  const workflow = program
    .command("workflow")
    .description("workflow scripts: run and resume headlessly, list, status, cancel");

  workflow
    .command("list")
    .description("the workflows this project can run (built-in, global, project) and its recent runs")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act((o: Options) => {
        const { eff, store } = open(o);
        const workflows = createLoader(eff.directory).list();
        const runs = store.list();
        emit(
          o.json,
          { workflows, runs: runs.map((r) => ({ ...summaryOf(r), status: displayStatus(r, liveHere(r)) })) },
          () => ["Workflows:", workflowList(workflows), "", "Runs:", runList(runs, (id) => liveHere(store.load(id)!))],
        );
        return 0;
      }),
    );

  workflow
    .command("status")
    .description("one run (phases, logs, result) or every run of the project")
    .argument("[runId]", "the run's id (wf_…)")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act((runId: string | undefined, o: Options) => {
        const { store } = open(o);
        if (!runId) {
          const runs = store.list();
          emit(o.json, { runs: runs.map(summaryOf) }, () => runList(runs, (id) => liveHere(store.load(id)!)));
          return 0;
        }
        const run = found(store, runId);
        emit(o.json, { ...run, status: displayStatus(run, liveHere(run)) }, () => runSummary(run, liveHere(run), 50));
        return run.status === "failed" ? 1 : 0;
      }),
    );

  workflow
    .command("cancel")
    .description("ask the OpenCode process running a workflow to cancel it (checked once a second)")
    .argument("<runId>", "the run's id")
    .addOption(projectOption())
    .action(
      act((runId: string, o: Options) => {
        const { store } = open(o);
        const run = found(store, runId);
        if (!liveHere(run)) {
          console.log(`run ${runId} is not running (${displayStatus(run, false)})`);
          return 1;
        }
        store.requestCancel(runId);
        console.log(`asked process ${run.pid} to cancel run ${runId}`);
        return 0;
      }),
    );

  const headless = (verb: "run" | "resume") =>
    act(async (first: string, rest: string[] | Options, maybe?: RunOptions) => {
      const o = (verb === "run" ? maybe : rest) as RunOptions;
      const args = verb === "run" ? (rest as string[]).join(" ") : "";
      const dir = existingDir("--dir", o.dir);
      const eff = effectiveConfig(dir);
      const state = featureState(eff, "workflow");
      if (!state.on) throw notFound(`workflows are off here (${state.reason})`);
      if (verb === "resume") {
        const run = found(new RunStore(join(eff.paths.project(eff.project.id).root, "workflows")), first);
        if (liveHere(run)) throw notFound(`run ${first} is still running in process ${run.pid}`);
      }
      return runHeadless(eff, verb === "run" ? `${first} ${args}`.trim() : `resume ${first}`, o);
    });

  workflow
    .command("run")
    .description("run a workflow headlessly (opencode serve + SDK) and print its result")
    .argument("<name>", "a workflow name, or a .js file in the project")
    .argument("[args...]", 'arguments: JSON (e.g. \'{"files":["a.ts"]}\') or plain text')
    .option("--dir <dir>", "the project directory (default: the current directory)")
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 60)
    .addOption(jsonOption())
    .action(headless("run"));

  workflow
    .command("resume")
    .description("finish an interrupted run headlessly: journaled agent results are replayed, not asked again")
    .argument("<runId>", "the run's id")
    .option("--dir <dir>", "the project directory (default: the current directory)")
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 60)
    .addOption(jsonOption())
    .action(headless("resume"));
}

type RunOptions = { dir?: string; timeoutMin: number; json?: boolean };

function summaryOf(run: RunRecord) {
  const { transcript: _transcript, result: _result, ...rest } = run;
  return rest;
}

async function runHeadless(eff: Effective, commandArgs: string, o: RunOptions): Promise<number> {
  const store = new RunStore(join(eff.paths.project(eff.project.id).root, "workflows"));
  const server: Served = await startServe({
    binary: findOpencode(),
    cwd: eff.directory,
    env: process.env,
    outputLimit: 20000,
  });
  let runId: string | undefined;
  // A stop signal ends OpenCode (which cancels its runs); a run it could not mark is marked here, never left running.
  const unwatch = stopOnSignals(async () => {
    await server.stop();
    const run = runId ? store.load(runId) : undefined;
    if (run?.status === "running") {
      run.status = "cancelled";
      run.endedAt = Date.now();
      run.error = `interrupted: continuum workflow was stopped by a signal (continuum workflow resume ${run.id} finishes it)`;
      store.save(run);
    }
    console.error(
      `continuum workflow: stopped by a signal; OpenCode was shut down${runId ? ` and run ${runId} interrupted` : ""}`,
    );
  });
  try {
    const created = await server.client.session.create({ body: { title: `workflow ${commandArgs.slice(0, 60)}` } });
    if (!created.data) throw new Error(`could not create a session: ${JSON.stringify(created.error)}`);
    const sessionId = created.data.id;
    const sent = await server.client.session.command({
      path: { id: sessionId },
      body: { command: "workflow", arguments: commandArgs },
    });
    if (sent.error) throw new Error(`/workflow failed: ${errorMessage(sent.error)}`);
    // The command's report names the run it started, or says why it did not.
    const reply = (await lastAssistantText(server, sessionId)) ?? "";
    runId = /(?:Started|Resumed) run (wf_[\w-]+)/.exec(reply)?.[1];
    if (!runId) {
      console.error(
        `continuum workflow: ${reply.replace(/^\[continuum \/workflow\] /, "") || "no answer from /workflow"}`,
      );
      return 1;
    }
    if (!o.json) console.log(`[continuum] run ${runId} in session ${sessionId}`);
    const deadline = Date.now() + o.timeoutMin * 60000;
    let run: RunRecord | undefined;
    for (;;) {
      run = store.load(runId);
      if (run && run.status !== "running") break;
      if (server.exited()) throw new Error(`opencode serve exited unexpectedly:\n${server.output().slice(-2000)}`);
      if (Date.now() > deadline) {
        store.requestCancel(runId);
        console.error(`continuum workflow: timed out after ${o.timeoutMin} min; asked the run to cancel`);
        return 8;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    emit(o.json, run, () => runSummary(run!, false, 50));
    return run.status === "done" ? 0 : 1;
  } finally {
    unwatch();
    await server.stop();
  }
}
