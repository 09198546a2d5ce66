// Starting the features in their declared order: each gets a context whose `services` holds what it declared it
// needs or uses, and offers its own services through `context.provide`. A feature whose needed service is missing
// stays off, said once with the names; one that only uses it sees undefined.
import type {
  FeatureContext,
  FeatureModule,
  FeatureParts,
  FeatureServices,
  ProvidedServices,
  ServiceName,
} from "./feature.ts";
import { errorText } from "./report.ts";

export interface StartedFeature {
  module: FeatureModule;
  parts: FeatureParts;
}

/**
 * Starts `modules` (already in order) on `base`, whose `services` becomes the registry of every service offered.
 * `offReason` says why a module is switched off (config, no storage), undefined when it may start.
 */
export async function startFeatures(
  modules: FeatureModule[],
  base: FeatureContext,
  offReason: (module: FeatureModule) => string | undefined,
): Promise<StartedFeature[]> {
  const registry = base.services;
  const why = new Map<string, string>();
  const providerOf = new Map(modules.flatMap((m) => (m.provides ?? []).map((s) => [s, m.name] as const)));
  const started: StartedFeature[] = [];
  for (const module of modules) {
    const off = offReason(module);
    if (off) {
      why.set(module.name, off);
      continue;
    }
    const missing = (module.needs ?? []).filter((s) => registry[s] === undefined);
    if (missing.length) {
      const named = missing.map(
        (s) =>
          `${s} (from ${providerOf.get(s)}, which is off: ${why.get(providerOf.get(s)!) ?? "it did not offer it"})`,
      );
      const text = `${module.name} is off: it needs ${named.join(", ")}`;
      why.set(module.name, text);
      base.reporter.problem(`start:${module.name}`, text);
      continue;
    }
    const offered: Partial<ProvidedServices> = {};
    try {
      const parts = await module.create(contextFor(module, base, offered));
      Object.assign(registry, offered);
      started.push({ module, parts });
    } catch (error) {
      why.set(module.name, "it could not start");
      base.reporter.problem(
        `start:${module.name}`,
        `${module.name} could not start and is off for this run: ${errorText(error)}`,
      );
    }
  }
  return started;
}

/** The module's own view: the services it declared, and a `provide` that takes only what it declared it provides. */
function contextFor(module: FeatureModule, base: FeatureContext, offered: Partial<ProvidedServices>): FeatureContext {
  const services: FeatureServices = { permissions: base.services.permissions };
  for (const name of [...(module.needs ?? []), ...(module.uses ?? [])]) copyService(services, base.services, name);
  // Read at the time of use: the registry holds it once its provider has started (after this module, maybe).
  for (const name of module.usesLater ?? [])
    Object.defineProperty(services, name, { enumerable: true, get: () => base.services[name] });
  const provide = <K extends ServiceName>(name: K, service: ProvidedServices[K]) => {
    if (!module.provides?.includes(name))
      throw new Error(`${module.name} offers "${name}" without declaring it in provides`);
    offered[name] = service;
  };
  return { ...base, services, provide };
}

function copyService<K extends ServiceName>(to: FeatureServices, from: FeatureServices, name: K): void {
  if (from[name] !== undefined) to[name] = from[name];
}
