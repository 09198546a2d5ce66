// Whether a host version lies in the range the pack was tested on (package.json continuum.testedOpencode), and the one
// notice a user gets when it does not. Pure: the adapter finds the version, the range is read from package.json.

/** "1.18.33" → [1, 18, 33]; anything after the numbers (pre-release, build) is ignored. */
export function parseVersion(text: string): number[] | undefined {
  const match = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

const COMPARATOR = /^(>=|<=|>|<|=)?v?(.+)$/;

/** The subset of semver ranges package.json engines use here: space-separated comparators (>=, >, <=, <, =). */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range
    .trim()
    .split(/\s+/)
    .every((comparator) => {
      const match = COMPARATOR.exec(comparator);
      const bound = match && parseVersion(match[2]!);
      if (!match || !bound) return false;
      const c = compare(v, bound);
      if (match[1] === ">=") return c >= 0;
      if (match[1] === ">") return c > 0;
      if (match[1] === "<=") return c <= 0;
      if (match[1] === "<") return c < 0;
      return c === 0;
    });
}

export interface HostVerdict {
  /** The host's version, or undefined when the host did not say. */
  version?: string;
  /** The tested range (engines.opencode). */
  range: string;
  /** In the range; undefined when the version is unknown (nothing to claim either way). */
  inside?: boolean;
  /** The experimental hooks the pack registered: what an upstream change is most likely to break. */
  experimentalHooks: string[];
}

export function judgeHost(version: string | undefined, range: string, hooks: readonly string[]): HostVerdict {
  const experimentalHooks = experimentalOf(hooks);
  if (!version || !parseVersion(version)) return { range, experimentalHooks };
  return { version, range, inside: satisfies(version, range), experimentalHooks };
}

/** Hook names under OpenCode's `experimental.` prefix, sorted: the host may change or drop them in any release. */
export function experimentalOf(hooks: readonly string[]): string[] {
  return [...new Set(hooks.filter((hook) => hook.startsWith("experimental.")))].sort();
}

/** The notice for a host outside the tested range; undefined when there is nothing to say. */
export function outsideNotice(verdict: HostVerdict): string | undefined {
  if (verdict.inside !== false) return undefined;
  const relied = verdict.experimentalHooks.length ? verdict.experimentalHooks.join(", ") : "none";
  return (
    `OpenCode ${verdict.version} is outside the range opencode-continuum was tested on (${verdict.range}). ` +
    `It relies on these experimental hooks, which OpenCode may change without notice: ${relied}. ` +
    "If memory, checkpoints or Max Mode misbehave, run `continuum doctor`."
  );
}

/** One line for the doctor and the log: version, range, in or out, the experimental hooks. */
export function describeVerdict(verdict: HostVerdict): string {
  const where =
    verdict.inside === undefined
      ? `version unknown, tested on ${verdict.range}`
      : `${verdict.version} ${verdict.inside ? "inside" : "OUTSIDE"} the tested range ${verdict.range}`;
  return `${where}; experimental hooks relied on: ${verdict.experimentalHooks.join(", ") || "none"}`;
}
