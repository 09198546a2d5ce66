// What one git invocation does to the user's work, from its argument vector: global options skipped, aliases given
// on the command line resolved, then the subcommand and its options classified. Pure: no shell, no git, no host.
import { classifySubcommand, KNOWN } from "./git-subcommands.ts";
import { COMMAND_KEYS, DYNAMIC, verdict, type GitVerdict } from "./git-verdict.ts";

export { DYNAMIC, type GitRisk, type GitVerdict } from "./git-verdict.ts";

// Global options that take a value, as `--opt value`; each also accepts `--opt=value`.
const VALUE_OPTIONS = new Set([
  "-C",
  "-c",
  "--git-dir",
  "--work-tree",
  "--namespace",
  "--super-prefix",
  "--config-env",
  "--list-cmds",
  "--attr-source",
]);
const FLAG_OPTIONS = new Set([
  "-p",
  "--paginate",
  "-P",
  "--no-pager",
  "--bare",
  "--literal-pathspecs",
  "--glob-pathspecs",
  "--noglob-pathspecs",
  "--icase-pathspecs",
  "--no-replace-objects",
  "--no-optional-locks",
  "--no-lazy-fetch",
  "--no-advice",
  "--exec-path",
  "--html-path",
  "--man-path",
  "--info-path",
  "-v",
  "--version",
  "-h",
  "--help",
]);

/** Skips git's global options; returns the subcommand's index and any alias or command-running config seen. */
function skipGlobals(args: readonly string[]): {
  index: number;
  aliases: Map<string, string>;
  scripts: string[];
  commandKey?: string;
  unknownOption?: string;
} {
  const aliases = new Map<string, string>();
  const scripts: string[] = [];
  let commandKey: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === DYNAMIC) return { index: i, aliases, scripts, commandKey };
    if (!arg.startsWith("-")) break;
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (VALUE_OPTIONS.has(name)) {
      const value = inline ?? args[++i];
      if (name === "-c" || name === "--config-env") {
        if (value === undefined || value === DYNAMIC) commandKey = "a -c setting only known at run time";
        else {
          const key = value.includes("=") ? value.slice(0, value.indexOf("=")) : value;
          if (/^alias\./i.test(key))
            aliases.set(key.slice(6).toLowerCase(), value.includes("=") ? value.slice(value.indexOf("=") + 1) : "");
          else if (COMMAND_KEYS.test(key)) {
            // git hands the value to a shell: it is inspected like any command; a bare key means "true".
            if (!value.includes("=")) commandKey = `-c ${key} without a value`;
            else if (/^include/i.test(key)) commandKey = `-c ${key} loads configuration the guard cannot see`;
            else scripts.push(value.slice(value.indexOf("=") + 1));
          }
        }
      }
      continue;
    }
    if (FLAG_OPTIONS.has(name) || (name.startsWith("--") && inline !== undefined && FLAG_OPTIONS.has(name))) continue;
    return { index: i, aliases, scripts, commandKey, unknownOption: arg };
  }
  return { index: i, aliases, scripts, commandKey };
}

/** Classifies `git <args…>` (args without the leading "git"). */
export function classifyGit(args: readonly string[], aliasDepth = 0): GitVerdict {
  const globals = skipGlobals(args);
  const verdict = classifyAfterGlobals(args, globals, aliasDepth);
  return globals.scripts.length ? { ...verdict, scripts: [...globals.scripts, ...(verdict.scripts ?? [])] } : verdict;
}

function classifyAfterGlobals(
  args: readonly string[],
  globals: ReturnType<typeof skipGlobals>,
  aliasDepth: number,
): GitVerdict {
  if (globals.unknownOption) return verdict("dynamic", "?", `unknown git option ${globals.unknownOption}`);
  if (globals.commandKey) {
    const known =
      globals.index < args.length && args[globals.index] !== DYNAMIC && KNOWN.has(args[globals.index]!)
        ? classifySubcommand(args[globals.index]!, args.slice(globals.index + 1))
        : undefined;
    return known?.risk === "destructive" ? known : verdict("dynamic", "?", globals.commandKey);
  }
  const sub = args[globals.index];
  if (sub === undefined) return verdict("safe", "", "git without a subcommand");
  if (sub === DYNAMIC) return verdict("dynamic", "?", "the git subcommand is only known at run time");
  const rest = args.slice(globals.index + 1);
  const alias = globals.aliases.get(sub.toLowerCase());
  if (alias !== undefined) {
    // A shell alias runs its text: inspected as a command (what it finds is reported), the alias itself is not judged.
    if (alias.startsWith("!"))
      return { ...verdict("safe", sub, `alias ${sub} runs a shell command`), scripts: [alias.slice(1)] };
    if (aliasDepth > 4 || !alias.trim()) return verdict("dynamic", sub, `alias ${sub} could not be resolved`);
    return classifyGit([...args.slice(0, globals.index), ...alias.trim().split(/\s+/), ...rest], aliasDepth + 1);
  }
  if (!KNOWN.has(sub))
    return verdict(
      "dynamic",
      sub,
      `git ${sub} is not a git command the guard knows (an alias or an external git-${sub} can do anything)`,
    );
  const known = classifySubcommand(sub, rest);
  // A read-only command stays read-only whatever its arguments; others with run-time arguments cannot be judged.
  if (known.risk !== "safe" && known.risk !== "destructive" && rest.includes(DYNAMIC))
    return verdict("dynamic", sub, `git ${sub} with arguments only known at run time`);
  return known;
}
