// The words of the git guard: what one git invocation risks, and the verdict the classifiers return. Pure.

/** An argument whose value is only known when the shell runs ($VAR, $(…), globs). */
export const DYNAMIC = "\u0000dynamic";

export type GitRisk =
  /** Discards uncommitted work or rewrites history. */
  | "destructive"
  /** Writes shared git state (refs, config, remotes, objects) without losing work. */
  | "writes"
  /** What runs is only known at run time (a variable, an unknown subcommand or alias, a command in config). */
  | "dynamic";

export interface GitVerdict {
  risk: GitRisk | "safe";
  /** The subcommand as git would see it ("reset", "stash"), or the reason it is unknown. */
  subcommand: string;
  reason: string;
  /** Shell text git would run (a `-c alias.x=!…`, a `-c core.pager=…`): the caller inspects it as a script. */
  scripts?: string[];
}

// Config keys whose value is a command git runs: a `-c` setting them makes what runs unknowable here.
export const COMMAND_KEYS =
  /^(core\.(pager|editor|sshcommand|fsmonitor|hookspath|askpass)|sequence\.editor|pager\..*|diff\..*\.(textconv|command)|diff\.external|filter\..*|merge\..*\.driver|credential\..*helper|credential\.helper|gpg\..*program|uploadpack\.packobjectshook|include\.path|includeif\..*)$/i;

export const verdict = (risk: GitVerdict["risk"], subcommand: string, reason: string): GitVerdict => ({
  risk,
  subcommand,
  reason,
});
