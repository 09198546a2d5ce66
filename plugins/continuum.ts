// OpenCode entry of opencode-continuum. Export-clean on purpose: OpenCode runs every export of a plugin file,
// so this file exports exactly one thing, the { id, server } module object.
import type { Hooks, Plugin, PluginInput } from "@opencode-ai/plugin";
import { appendFileSync } from "node:fs";
import { fillAgent, fillCommand, readAsset } from "./core/assets.ts";
import { restrictInternalTool } from "./core/internal-tools.ts";
import { composeHooks, runIsolated, type FeatureHooks } from "./core/compose.ts";
import { loadConfig, formatProblem } from "./core/config.ts";
import { dataRoot, packPaths } from "./core/paths.ts";
import { resolveProjectIdentity } from "./core/project-id.ts";
import { createReporter, errorText, SERVICE, type Reporter } from "./core/report.ts";
import { openStore } from "./core/storage/store.ts";
import { createSessionRegistry, type FeatureContext, type FeatureModule } from "./core/feature.ts";
import { PACK_VERSION } from "./core/version.ts";
import tasksFeature from "./tasks/index.ts";
import checkpointFeature from "./checkpoint/index.ts";
import memoryFeature from "./memory/index.ts";
import goalFeature from "./goal/index.ts";

// Feature modules in start-up order. Each can be switched off in continuum.jsonc (<feature>.enabled).
const FEATURES: FeatureModule[] = [memoryFeature, tasksFeature, checkpointFeature, goalFeature];

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
  const context: FeatureContext = {
    host: input,
    config,
    project,
    paths,
    projectPaths: paths.project(project.id),
    db,
    reporter,
    sessions: createSessionRegistry(async (id) => {
      const found = await input.client.session.get({ path: { id } });
      return found.data ? (found.data.parentID ?? "") : undefined;
    }),
  };

  const started = await startFeatures(context, reporter);
  const featureHooks = [{ name: "sessions", hooks: trackSessions(context) }, ...started.map(({ module, hooks }) => ({ name: module.name, hooks }))];
  const hooks = composeHooks(featureHooks, {
    reporter,
    timeoutMs: config.hookTimeoutMs,
    onFirstCall: doctor ? (hook) => doctor({ event: "hook", hook }) : undefined,
  });
  const withAssets = addAssetRegistration(hooks, started.map((s) => s.module), reporter, config.hookTimeoutMs);
  const dispose = withAssets.dispose;
  withAssets.dispose = async () => {
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
  const started: { module: FeatureModule; hooks: Hooks }[] = [];
  for (const module of FEATURES) {
    if (!context.config[module.name].enabled) continue;
    if (module.needsDatabase && !context.db) continue;
    try {
      started.push({ module, hooks: await module.create(context) });
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

/**
 * Records parent links as sessions appear, so every feature can tell a main session from a child, and each
 * session's latest agent/model, so every continuation the pack sends goes on with the user's choice.
 */
function trackSessions(context: FeatureContext): Hooks {
  return {
    "chat.message": async (input) => {
      if (!context.sessions.internalPurpose(input.sessionID)) context.sessions.recordTurn(input.sessionID, { agent: input.agent, model: input.model });
    },
    event: async ({ event }) => {
      if (event.type !== "session.created" && event.type !== "session.updated") return;
      const info = (event.properties as { info?: { id: string; parentID?: string } }).info;
      if (info) context.sessions.markChild(info.id, info.parentID ?? "");
    },
  };
}

/** When the doctor runs OpenCode it asks for a trace of what loaded and which hooks fired. */
function doctorTrace(file: string | undefined) {
  if (!file) return undefined;
  return (record: Record<string, unknown>) => appendFileSync(file, JSON.stringify({ ...record, at: Date.now() }) + "\n");
}

export default { id: "opencode-continuum", server } satisfies { id: string; server: Plugin };
