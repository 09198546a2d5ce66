// The CLI's view of the configuration: the same loadConfig the plugin runs at start-up (global + project
// continuum.jsonc, validated), the same project identity and data paths, so a command reports what the plugin
// in that directory would actually do.
import { formatProblem, loadConfig, type ConfigProblem } from "../core/config.ts";
import type { ContinuumConfig, FeatureName } from "../core/config-schema.ts";
import { dataRoot, packPaths, type PackPaths } from "../core/paths.ts";
import { resolveProjectIdentity, type ProjectIdentity } from "../core/project-id.ts";

export interface Effective {
  directory: string;
  config: ContinuumConfig;
  files: string[];
  problems: ConfigProblem[];
  paths: PackPaths;
  project: ProjectIdentity;
  /** Prints the config problems to stderr once (text mode; with --json they are part of the document). */
  warn(json?: boolean): void;
}

export function effectiveConfig(directory: string, env: Record<string, string | undefined> = process.env): Effective {
  const { config, files, problems } = loadConfig(directory, env);
  let warned = false;
  return {
    directory,
    config,
    files,
    problems,
    paths: packPaths(dataRoot(env)),
    project: resolveProjectIdentity(directory),
    warn(json) {
      if (warned || json) return;
      warned = true;
      for (const problem of problems) console.error(`warning: ${formatProblem(problem)}`);
    },
  };
}

/** Whether the plugin would run a feature here, and if not, the setting that switched it off. */
export function featureState(
  eff: Pick<Effective, "config">,
  feature: Exclude<FeatureName, "agents">,
): { on: boolean; reason: string | null } {
  if (!eff.config.enabled)
    return { on: false, reason: "the whole pack is switched off (continuum.jsonc: enabled: false)" };
  if (!eff.config[feature].enabled) return { on: false, reason: `continuum.jsonc: ${feature}.enabled: false` };
  return { on: true, reason: null };
}
