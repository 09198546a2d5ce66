// Start-up of the pack inside OpenCode 1.x: configuration, storage, the session layer, the helper runner, the
// ledger, the features in order, and the one hook set composed from them.
import type { Hooks, PluginInput } from "@opencode-ai/plugin";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fillAgent, fillCommand, readAsset } from "../core/assets.ts";
import { keepOutOfTaskTool, restrictInternalTool } from "../core/internal-tools.ts";
import { runIsolated } from "./compose.ts";
import { loadConfig, formatProblem, summarizeProblems } from "../core/config.ts";
import { editPermissions } from "../core/edit-permission.ts";
import type { FeatureContext, FeatureModule } from "../core/feature.ts";
import { HelperRunner } from "../core/helpers.ts";
import { openLedger, recordWorkerCalls, type Ledger } from "../core/ledger.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { errorText, type Reporter } from "../core/report.ts";
import { createSessionLayer } from "../core/sessions.ts";
import { createContinuation } from "../core/continuation.ts";
import { openStore } from "../core/storage/store.ts";
import { appendStoredText } from "../core/storage/stored-text.ts";
import { PACK_VERSION } from "../core/version.ts";
import { createWorktrees, type Worktrees } from "../core/worktrees.ts";
import { sandboxFor } from "../core/sandbox.ts";
import { createReportChannel, type ReportChannel } from "./commands.ts";
import { buildHooks } from "./hooks.ts";
import { checkHookShape } from "./host-contract.ts";
import { registeredHooks, watchUpstream } from "./upstream.ts";
import { isBusy, lookupParent, openCodeHost } from "./host.ts";
import { FEATURE_MODULES } from "../features.ts";
import { orderFeatures } from "../core/feature-order.ts";
import { startFeatures } from "../core/feature-start.ts";
import { keepSkillsToAgents, registerPackSkills, type SkillPlaces } from "../core/skills.ts";
import { processAlive } from "../core/process-alive.ts";

/** Starts the pack in one OpenCode process: the hooks OpenCode gets, and the context (for tests and the doctor). */
export async function bootPack(
  input: PluginInput,
  reporter: Reporter,
): Promise<{ hooks: Hooks; context?: FeatureContext }> {
  const doctor = doctorTrace(process.env.CONTINUUM_DOCTOR_REPORT);
  const { config, problems } = loadConfig(input.directory);
  for (const problem of problems)
    reporter.log(problem.severity === "warning" ? "warn" : "error", formatProblem(problem));
  // One toast for every config problem, warnings included (shown at the first session activity: see start-toast.ts).
  const summary = summarizeProblems(problems);
  if (summary) reporter.problem("config", summary);
  if (!config.enabled) {
    reporter.log("info", "disabled by continuum.jsonc (enabled: false)");
    return { hooks: {} };
  }
  const modules = orderOrReport(reporter);
  if (!modules) return { hooks: {} };

  const paths = packPaths(dataRoot());
  const project = resolveProjectIdentity(input.directory, input.project?.id, input.worktree);
  const db = await openDatabaseOrReport(paths.database, reporter);
  const isolation = { reporter, timeoutMs: config.hookTimeoutMs };
  const sessions = createSessionLayer({
    lookupParent: (id) => lookupParent(input.client, id),
    isolate: (feature, label, run, timeoutMs) =>
      runIsolated(`${feature}:${label}`, run, timeoutMs ? { ...isolation, timeoutMs } : isolation),
  });
  const host = openCodeHost(input.client, input.directory);
  // Before any feature starts: the arbiter's view of a turn is settled before the features' own handlers run.
  const continuation = createContinuation({ sessions, host, reporter });
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
  const projectPaths = paths.project(project.id);
  const worktrees = createWorktrees({ projectDir: input.directory, root: join(projectPaths.root, "worktrees") });
  sweepWorktrees(worktrees, reporter);
  const context: FeatureContext = {
    config,
    project,
    paths,
    projectPaths,
    worktrees,
    db,
    reporter,
    sandbox: () => sandboxFor(config.sandbox),
    host,
    sessions,
    continuation,
    helpers,
    ledger,
    services: { permissions: { edit: undefined } },
    provide: () => {
      throw new Error("a feature offers its services through the context it is started with");
    },
  };

  const started = await startFeatures(modules, context, (module) => offReason(module, context));
  const reports = createReportChannel({ host, sessions, reporter, isBusy: (id) => isBusy(input.client, id) });
  const hooks = buildHooks({
    features: started.map(({ module, parts }) => ({ name: module.name, parts })),
    context,
    reports,
    timeoutMs: config.hookTimeoutMs,
    onFirstCall: (hook, hookInput, output) =>
      firstCall(hook, checkHookShape(hook, hookInput, output), reporter, doctor),
  });
  const withAssets = addAssetRegistration(
    hooks,
    started.map((s) => s.module),
    reports,
    reporter,
    config.hookTimeoutMs,
    {
      places: { directory: input.directory, worktree: input.worktree },
      wanted: skillOfStartedFeature(started.map((s) => s.module.name)),
    },
  );
  captureEditPermission(withAssets, context);
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
    hooks: registeredHooks(withAssets),
  });
  reporter.log("info", `loaded ${PACK_VERSION}: ${started.map((s) => s.module.name).join(", ") || "no features"}`);
  // In the background: start-up never waits for the host's answer (a toast waits for the first activity anyway).
  void watchUpstream(input.client, withAssets, reporter).then((verdict) => doctor?.({ event: "upstream", ...verdict }));
  return { hooks: withAssets, context };
}

function openLedgerOrReport(db: FeatureContext["db"], reporter: Reporter): Ledger | undefined {
  if (!db) return undefined;
  try {
    const ledger = openLedger(db);
    ledger.closeOrphans(processAlive);
    return ledger;
  } catch (error) {
    reporter.problem("ledger", `the ledger of what the pack spends is unavailable: ${errorText(error)}`);
    return undefined;
  }
}

/** Worktrees a crashed OpenCode left behind go at the next start; in the background, never delaying it. */
function sweepWorktrees(worktrees: Worktrees, reporter: Reporter): void {
  if (!existsSync(worktrees.root)) return;
  void worktrees
    .sweep()
    .then((count) => count > 0 && reporter.log("info", `removed ${count} worktree(s) left by an earlier run`))
    .catch((error) => reporter.log("warn", `could not sweep old worktrees: ${errorText(error)}`));
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
    if (opened.restored?.length)
      reporter.notify(
        `the database was missing; restored from the session files: ${opened.restored.join(", ")}`,
        "info",
      );
    if (opened.readOnly)
      reporter.problem("db-read-only", `${opened.readOnly.reason}: memory and state are read-only in this run`);
    return opened.db;
  } catch (error) {
    reporter.problem("db-unavailable", `storage unavailable, features that need it are off: ${errorText(error)}`);
    return undefined;
  }
}

/** Start-up order from the features' declarations; a wrong set of them is said once, and the pack stays off. */
function orderOrReport(reporter: Reporter): FeatureModule[] | undefined {
  try {
    return orderFeatures(FEATURE_MODULES);
  } catch (error) {
    reporter.problem("start:order", `opencode-continuum is off: ${errorText(error)}`);
    return undefined;
  }
}

/** Why a feature is not started: switched off in continuum.jsonc (<feature>.enabled), or storage is unavailable. */
function offReason(module: FeatureModule, context: FeatureContext): string | undefined {
  const section = context.config[module.name] as { enabled?: boolean };
  if (section.enabled === false) return `${module.name}.enabled is false`;
  if (module.needsDatabase && !context.db) return "storage is unavailable";
  return undefined;
}

/**
 * Registers the enabled features' agents and commands, never replacing what the user defined, and keeps each
 * feature's internal tools to the one agent that needs them. A command whose template the user replaced is theirs:
 * the pack's command hooks then leave it alone, so the override wins.
 */
function addAssetRegistration(
  hooks: Hooks,
  modules: FeatureModule[],
  reports: ReportChannel,
  reporter: Reporter,
  timeoutMs: number,
  skills: { places: SkillPlaces; wanted: (name: string) => boolean },
): Hooks {
  const userCommands = new Set<string>();
  const previousConfig = hooks.config;
  hooks.config = async (cfg) => {
    await previousConfig?.(cfg);
    await runIsolated(
      "assets:config",
      () => {
        const mutable = cfg as {
          agent?: Record<string, Record<string, unknown>>;
          command?: Record<string, Record<string, unknown>>;
        };
        mutable.agent ??= {};
        mutable.command ??= {};
        for (const module of modules) {
          for (const name of module.assets?.agents ?? []) {
            fillAgent(mutable.agent, readAsset("agents", name));
            keepOutOfTaskTool(mutable as never, name);
          }
          for (const internal of module.internalTools ?? []) restrictInternalTool(mutable as never, internal);
          keepSkillsToAgents(mutable as never, module.assets?.skills ?? [], module.assets?.agents ?? []);
          for (const name of module.assets?.commands ?? []) {
            const asset = readAsset("commands", name);
            fillCommand(mutable.command, asset);
            if (mutable.command[name]?.template !== asset.body) userCommands.add(name);
          }
        }
        // The pack's reports are answered by a local report model (no model call).
        reports.configure(mutable as never);
        // The pack's skills, each unless the user has a skill of that name (theirs then always wins).
        const registered = registerPackSkills(mutable as never, skills.places, skills.wanted);
        for (const { name, by } of registered.overridden)
          reporter.log("info", `your skill ${by} takes the place of the pack's ${name}`);
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

/** The user's edit rules from the live merged config, read before the pack adds its own rules to it. */
function captureEditPermission(hooks: Hooks, context: FeatureContext): void {
  const next = hooks.config;
  hooks.config = async (cfg) => {
    try {
      // Changed in place: every feature's view of the services holds this same object.
      context.services.permissions!.edit = editPermissions(cfg);
    } catch (error) {
      context.reporter.log("warn", `the edit permission could not be read from OpenCode's config: ${errorText(error)}`);
    }
    await next?.(cfg);
  };
}

/** A pack skill is offered when no feature claims it, or when the feature claiming it started. */
function skillOfStartedFeature(started: string[]): (name: string) => boolean {
  const owner = new Map(
    FEATURE_MODULES.flatMap((m) => (m.assets?.skills ?? []).map((skill) => [skill, m.name] as const)),
  );
  return (name) => {
    const feature = owner.get(name);
    return feature === undefined || started.includes(feature);
  };
}

/** The first call of a hook: a host that changed the shape of its arguments is logged (the adapter reads them). */
function firstCall(hook: string, shape: string, reporter: Reporter, doctor: ReturnType<typeof doctorTrace>): void {
  if (shape !== "ok" && shape !== "no schema")
    reporter.log("warn", `OpenCode called ${hook} with arguments of an unexpected shape: ${shape}`);
  doctor?.({ event: "hook", hook, shape });
}

/** When the doctor runs OpenCode it asks for a trace of what loaded and which hooks fired. */
function doctorTrace(file: string | undefined) {
  if (!file) return undefined;
  return (record: Record<string, unknown>) =>
    appendStoredText(file, JSON.stringify({ ...record, at: Date.now() }) + "\n");
}
