// The start-up order of the features, from what each declares it provides, needs and uses: every provider starts
// before the features that read its service. Pure; a cycle or a needed service nobody provides is an error.
import type { ServiceName } from "./feature.ts";

/** What ordering reads of a feature module. */
export interface Declared {
  name: string;
  provides?: ServiceName[];
  needs?: ServiceName[];
  uses?: ServiceName[];
}

/** A wrong set of declarations: a programming error of the pack, named so it is fixed at once. */
export class FeatureOrderError extends Error {}

/**
 * The modules, each after the providers of what it needs or uses. Among features free to start, the one listed
 * first starts first, so the listing order holds wherever the declarations allow it.
 */
export function orderFeatures<M extends Declared>(modules: M[]): M[] {
  const providers = providerIndex(modules);
  const missing = modules.flatMap((m) =>
    (m.needs ?? []).filter((s) => !providers.has(s)).map((s) => `${m.name} needs "${s}"`),
  );
  if (missing.length) throw new FeatureOrderError(`no feature provides a needed service: ${missing.join("; ")}`);
  const before = modules.map(
    (m) =>
      new Set(
        dependencies(m)
          .flatMap((s) => providers.get(s) ?? [])
          .filter((p) => p !== m),
      ),
  );
  const order: M[] = [];
  const placed = new Set<M>();
  while (order.length < modules.length) {
    const next = modules.find((m, i) => !placed.has(m) && [...before[i]!].every((p) => placed.has(p)));
    if (!next) throw new FeatureOrderError(`the features' services form a cycle: ${cycleOf(modules, before, placed)}`);
    order.push(next);
    placed.add(next);
  }
  return order;
}

const dependencies = (m: Declared): ServiceName[] => [...(m.needs ?? []), ...(m.uses ?? [])];

function providerIndex<M extends Declared>(modules: M[]): Map<ServiceName, M[]> {
  const providers = new Map<ServiceName, M[]>();
  for (const m of modules) for (const s of m.provides ?? []) providers.set(s, [...(providers.get(s) ?? []), m]);
  const doubled = [...providers].filter(([, by]) => by.length > 1);
  if (doubled.length) {
    const names = doubled.map(([s, by]) => `"${s}" by ${by.map((m) => m.name).join(" and ")}`).join("; ");
    throw new FeatureOrderError(`a service has more than one provider: ${names}`);
  }
  return providers;
}

/** One cycle among the features not yet placed, as "a -> b -> a". */
function cycleOf<M extends Declared>(modules: M[], before: Set<M>[], placed: Set<M>): string {
  const waitsOn = (m: M) => [...before[modules.indexOf(m)]!].find((p) => !placed.has(p))!;
  const path: M[] = [];
  let at = modules.find((m) => !placed.has(m))!;
  while (!path.includes(at)) {
    path.push(at);
    at = waitsOn(at);
  }
  return [...path.slice(path.indexOf(at)), at].map((m) => m.name).join(" -> ");
}
