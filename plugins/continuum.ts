// OpenCode entry of opencode-continuum. Export-clean on purpose: OpenCode runs every export of a plugin file,
// so this file exports exactly one thing, the { id, server } module object.
import type { Hooks, Plugin, PluginInput } from "@opencode-ai/plugin";
import { appendFileSync } from "node:fs";
import { fillAgent, fillCommand, readAsset } from "./core/assets.ts";
import { restrictInternalTool } from "./core/internal-tools.ts";
import { runIsolated } from "./core/compose.ts";
import { loadConfig, formatProblem } from "./core/config.ts";
import type { FeatureContext, FeatureModule, FeatureParts } from "./core/feature.ts";
import { HelperRunner } from "./core/helpers.ts";
import { openLedger, recordWorkerCalls, type Ledger } from "./core/ledger.ts";
import { dataRoot, packPaths } from "./core/paths.ts";
import { resolveProjectIdentity } from "./core/project-id.ts";
import { createReporter, errorText, SERVICE, type Reporter } from "./core/report.ts";
import { createSessionLayer } from "./core/sessions.ts";
import { openStore } from "./core/storage/store.ts";
import { PACK_VERSION } from "./core/version.ts";
import { buildHooks } from "./opencode/hooks.ts";
import { lookupParent, openCodeHost } from "./opencode/host.ts";
import tasksFeature from "./tasks/index.ts";
import checkpointFeature from "./checkpoint/index.ts";
import memoryFeature from "./memory/index.ts";
import goalFeature from "./goal/index.ts";
import agentsFeature from "./agents/index.ts";

// Feature modules in start-up order. Each can be switched off in continuum.jsonc (<feature>.enabled).
const FEATURES: FeatureModule[] = [memoryFeature, tasksFeature, checkpointFeature, goalFeature, agentsFeature];

const server: Plugin = async (input: PluginInput) => {
  const reporter = createReporter({
    log: (entry) => input.client.app.log({ body: { service: SERVICE, ...entry } }),
    toast: (toast) => input.client.tui.showToast({ body: toast }),
  });
  try {
    return await boot(input, reporter);
  } catch (error) {
    // Nothing the pack does at start-up may stop OpenCode: report and run without the pack.
    reporter.problem("boot", `opencode-continuum could not start and is inactive: ${errorText(error)}`);
    return {};
  }
};

async function boot(input: PluginInput, reporter: Reporter): Promise<Hooks> {
  const doctor = doctorTrace(process.env.CONTINUUM_DOCTOR_REPORT);
  const { config, problems } = loadConfig(input.directory);
  for (const problem of problems) {
    if (problem.severity === "warning") reporter.log("warn", formatProblem(problem));
    else reporter.problem(`config:${problem.file}:${problem.key}`, `invalid config: ${formatProblem(problem)}`);
  }
  if (!config.enabled) {
    reporter.log("info", "disabled by continuum.jsonc (enabled: false)");
    return {};
  }

  const paths = packPaths(dataRoot());
  const project = resolveProjectIdentity(input.directory, input.project?.id, input.worktree);
  const db = await openDatabaseOrReport(paths.database, reporter);
  const isolation = { reporter, timeoutMs: config.hookTimeoutMs };
  const sessions = createSessionLayer({
    lookupParent: (id) => lookupParent(input.client, id),
    isolate: (feature, label, run) => runIsolated(`${feature}:${label}`, run, isolation),
  });
  const host = openCodeHost(input.client, input.directory);
  const ledger = openLedgerOrReport(db, reporter);
  if (ledger) recordWorkerCalls(sessions, ledger, project.id);
  const helpers = new HelperRunner({
    host,
    sessions,
    ledger,
    maxConcurrent: config.agents.maxConcurrent,
    projectId: project.id,
    log: (level, message) => reporter.log(level, message),
  });
  const context: FeatureContext = {
    config,
    project,
    paths,
    projectPaths: paths.project(project.id),
    db,
    reporter,
    host,
    sessions,
    helpers,
    ledger,
    services: {},
  };

  const started = await startFeatures(context, reporter);
  const hooks = buildHooks({
    features: started.map(({ module, parts }) => ({ name: module.name, parts })),
    context,
    timeoutMs: config.hookTimeoutMs,
    onFirstCall: doctor ? (hook) => doctor({ event: "hook", hook }) : undefined,
  });
  const withAssets = addAssetRegistration(hooks, started.map((s) => s.module), reporter, config.hookTimeoutMs);
  const dispose = withAssets.dispose;
  withAssets.dispose = async () => {
    // Shutdown has begun: no event reaches a feature any more, so nothing touches the database after this.
    sessions.close();
    await dispose?.();
    db?.close();
  };
  doctor?.({
    event: "loaded",
    version: PACK_VERSION,
    project: project.id,
    features: started.map((s) => s.module.name),
    tools: Object.keys(withAssets.tool ?? {}),
  });
  reporter.log("info", `loaded ${PACK_VERSION}: ${started.map((s) => s.module.name).join(", ") || "no features"}`);
  return withAssets;
}

function openLedgerOrReport(db: FeatureContext["db"], reporter: Reporter): Ledger | undefined {
  if (!db) return undefined;
  try {
    const ledger = openLedger(db);
    ledger.closeOrphans(isAlive);
    return ledger;
  } catch (error) {
    reporter.problem("ledger", `the ledger of what the pack spends is unavailable: ${errorText(error)}`);
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function openDatabaseOrReport(path: string, reporter: Reporter) {
  try {
    const opened = await openStore(path);
    if (opened.recovered) {
      reporter.problem(
        "db-recovered",
        `the database was damaged (${opened.recovered.reason}); it was moved to ${opened.recovered.movedTo} and a new one created. Indexes are rebuilt from your files.`,
      );
    }
    return opened.db;
  } catch (error) {
    reporter.problem("db-unavailable", `storage unavailable, features that need it are off: ${errorText(error)}`);
    return undefined;
  }
}

async function startFeatures(context: FeatureContext, reporter: Reporter) {
  const started: { module: FeatureModule; parts: FeatureParts }[] = [];
  for (const module of FEATURES) {
    const section = context.config[module.name] as { enabled?: boolean };
    if (section.enabled === false) continue;
    if (module.needsDatabase && !context.db) continue;
    try {
      started.push({ module, parts: await module.create(context) });
    } catch (error) {
      reporter.problem(`start:${module.name}`, `${module.name} could not start and is off for this run: ${errorText(error)}`);
    }
  }
  return started;
}

/**
 * Registers the enabled features' agents and commands, never replacing what the user defined, and keeps each
 * feature's internal tools to the one agent that needs them. A command whose
 * template the user replaced is theirs: the pack's command hooks then leave it alone, so the override wins.
 */
function addAssetRegistration(hooks: Hooks, modules: FeatureModule[], reporter: Reporter, timeoutMs: number): Hooks {
  const userCommands = new Set<string>();
  const previousConfig = hooks.config;
  hooks.config = async (cfg) => {
    await previousConfig?.(cfg);
    await runIsolated(
      "assets:config",
      () => {
        const mutable = cfg as { agent?: Record<string, Record<string, unknown>>; command?: Record<string, Record<string, unknown>> };
        mutable.agent ??= {};
        mutable.command ??= {};
        for (const module of modules) {
          for (const name of module.assets?.agents ?? []) fillAgent(mutable.agent, readAsset("agents", name));
          for (const internal of module.internalTools ?? []) restrictInternalTool(mutable as never, internal);
          for (const name of module.assets?.commands ?? []) {
            const asset = readAsset("commands", name);
            fillCommand(mutable.command, asset);
            if (mutable.command[name]?.template !== asset.body) userCommands.add(name);
          }
        }
      },
      { reporter, timeoutMs },
    );
  };
  const previousCommand = hooks["command.execute.before"];
  if (previousCommand) {
    hooks["command.execute.before"] = async (input, output) => {
      if (userCommands.has(input.command)) return;
      await previousCommand(input, output);
    };
  }
  return hooks;
}

/** When the doctor runs OpenCode it asks for a trace of what loaded and which hooks fired. */
function doctorTrace(file: string | undefined) {
  if (!file) return undefined;
  return (record: Record<string, unknown>) => appendFileSync(file, JSON.stringify({ ...record, at: Date.now() }) + "\n");
}

export default { id: "opencode-continuum", server } satisfies { id: string; server: Plugin };
