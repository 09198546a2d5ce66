// What each git subcommand does to the user's work, from its own options and operands (the global options and
// aliases before it are git-risk.ts's business). Pure: no shell, no git, no host.
import { COMMAND_KEYS, DYNAMIC, verdict, type GitVerdict } from "./git-verdict.ts";

const READ_ONLY = new Set([
  "status",
  "diff",
  "log",
  "show",
  "blame",
  "annotate",
  "shortlog",
  "describe",
  "rev-parse",
  "rev-list",
  "ls-files",
  "ls-tree",
  "ls-remote",
  "cat-file",
  "grep",
  "for-each-ref",
  "show-ref",
  "show-branch",
  "name-rev",
  "merge-base",
  "cherry",
  "whatchanged",
  "range-diff",
  "diff-tree",
  "diff-files",
  "diff-index",
  "count-objects",
  "fsck",
  "verify-commit",
  "verify-tag",
  "verify-pack",
  "check-ignore",
  "check-attr",
  "check-mailmap",
  "check-ref-format",
  "var",
  "version",
  "help",
  "archive",
  "format-patch",
  "bundle",
  "difftool",
  "get-tar-commit-id",
  "column",
  "stripspace",
  "interpret-trailers",
  "mailinfo",
  "mailsplit",
  "patch-id",
  "fmt-merge-msg",
  "request-pull",
  "instaweb",
  "show-index",
  "unpack-file",
  "merge-tree",
  "hash-object",
  "bugreport",
  "diagnose",
  // Local to the tree the command runs in; they lose nothing (add stages, apply/mv change files like an edit would).
  "add",
  "apply",
  "mv",
  "init",
  "clone",
  "mergetool",
]);

/** Subcommands git has built in (or ships), so that anything else is an alias or an external `git-<name>`. */
export const KNOWN = new Set([
  ...READ_ONLY,
  "reset",
  "checkout",
  "restore",
  "clean",
  "stash",
  "branch",
  "push",
  "rebase",
  "filter-branch",
  "filter-repo",
  "update-ref",
  "worktree",
  "reflog",
  "gc",
  "prune",
  "repack",
  "tag",
  "commit",
  "switch",
  "rm",
  "am",
  "cherry-pick",
  "revert",
  "merge",
  "fetch",
  "pull",
  "remote",
  "config",
  "notes",
  "submodule",
  "bisect",
  "sparse-checkout",
  "replace",
  "symbolic-ref",
  "read-tree",
  "checkout-index",
  "commit-tree",
  "mktag",
  "mktree",
  "update-index",
  "update-server-info",
  "maintenance",
  "pack-refs",
  "prune-packed",
  "write-tree",
  "merge-file",
  "merge-index",
  "send-email",
  "fast-import",
  "fast-export",
  "index-pack",
  "pack-objects",
  "unpack-objects",
  "multi-pack-index",
  "commit-graph",
  "rerere",
  "credential",
  "gui",
  "citool",
  "gitk",
  "daemon",
  "http-backend",
  "send-pack",
  "receive-pack",
  "upload-pack",
  "shell",
  "svn",
  "p4",
  "cvsimport",
  "quiltimport",
  "backfill",
]);

/** Short options can be bundled (`-fdx`): true when `letter` is one of them. */
function hasShort(args: readonly string[], letter: string): boolean {
  return args.some((a) => /^-[a-zA-Z]+$/.test(a) && a.slice(1).includes(letter));
}
function hasLong(args: readonly string[], ...names: string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}
/** Arguments that are not options, up to `--` (git's own convention). */
function operands(args: readonly string[]): string[] {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).filter((a) => !a.startsWith("-"));
}
const afterDashDash = (args: readonly string[]) => (args.includes("--") ? args.slice(args.indexOf("--") + 1) : []);

export function classifySubcommand(sub: string, a: readonly string[]): GitVerdict {
  const v = (risk: GitVerdict["risk"], reason: string) => verdict(risk, sub, reason);
  if (READ_ONLY.has(sub)) return v("safe", "reads only");
  switch (sub) {
    case "checkout":
      return checkout(a);
    case "reset":
    case "restore":
    case "clean":
    case "rm":
    case "read-tree":
    case "checkout-index":
      return filesCommand(sub, a);
    case "stash": {
      const action = operands(a)[0];
      if (action === "list" || action === "show") return v("safe", "reads the stash list");
      return v("destructive", "takes work out of the working tree or drops stashed work");
    }
    case "branch":
      return branch(a);
    case "push":
      if (
        hasShort(a, "f") ||
        hasShort(a, "d") ||
        hasLong(a, "--force", "--force-with-lease", "--force-if-includes", "--delete", "--mirror", "--prune")
      )
        return v("destructive", "overwrites or deletes remote history");
      if (operands(a).some((o) => o.startsWith("+") || o.startsWith(":")))
        return v("destructive", "a +refspec forces, a :refspec deletes");
      return v("writes", "publishes commits");
    case "rebase":
    case "filter-branch":
    case "filter-repo":
      return v("destructive", "rewrites history");
    case "update-ref":
      return v("destructive", "moves or deletes a ref directly");
    case "worktree": {
      const action = operands(a)[0];
      if (action === "list") return v("safe", "lists worktrees");
      if (action === "remove" || action === "prune")
        return v("destructive", "deletes a worktree and its uncommitted work");
      return v("writes", "changes the repository's worktrees");
    }
    case "reflog": {
      const action = operands(a)[0];
      if (action === "expire" || action === "delete" || action === "drop")
        return v("destructive", "drops the history that recovers lost commits");
      return v("safe", "reads the reflog");
    }
    case "gc":
      if (a.some((o) => /^--prune=(now|all)$/.test(o))) return v("destructive", "deletes unreachable commits at once");
      return v("writes", "repacks the repository");
    case "prune":
      return v("destructive", "deletes unreachable objects");
    case "tag":
      if (hasShort(a, "d") || hasShort(a, "f") || hasLong(a, "--delete", "--force"))
        return v("destructive", "deletes or moves a tag");
      if (
        hasShort(a, "l") ||
        hasLong(a, "--list", "--contains", "--points-at", "--merged", "--no-merged") ||
        hasShort(a, "v") ||
        operands(a).length === 0
      )
        return v("safe", "lists tags");
      return v("writes", "creates a tag");
    case "commit":
      if (hasLong(a, "--amend")) return v("destructive", "rewrites the last commit");
      return v("writes", "creates a commit");
    case "switch":
      if (hasShort(a, "f") || hasShort(a, "C") || hasLong(a, "--discard-changes", "--force", "--force-create"))
        return v("destructive", "discards local changes or resets a branch");
      return v("writes", "switches branches");
    case "am":
    case "cherry-pick":
    case "revert":
    case "merge":
      if (hasLong(a, "--abort", "--skip", "--quit"))
        return v("destructive", "throws away the operation in progress and the working tree's state of it");
      return v("writes", "adds commits");
    case "pull":
      if (hasShort(a, "r") || hasLong(a, "--rebase", "--force") || hasShort(a, "f"))
        return v("destructive", "rebases or force-updates local branches");
      return v("writes", "fetches and merges");
    case "config":
      return config(a);
    case "remote":
      if (operands(a).length === 0 || ["show", "get-url"].includes(operands(a)[0]!)) return v("safe", "lists remotes");
      return v("writes", "changes remotes");
    case "notes": {
      const action = operands(a)[0];
      if (action === undefined || action === "list" || action === "show") return v("safe", "reads notes");
      return v("writes", "changes notes");
    }
    case "submodule":
      if (hasShort(a, "f") || hasLong(a, "--force")) return v("destructive", "discards submodule changes");
      if (["status", "summary", undefined].includes(operands(a)[0])) return v("safe", "reads submodules");
      return v("writes", "changes submodules");
    case "symbolic-ref":
      if (operands(a).length <= 1 && !hasShort(a, "d") && !hasLong(a, "--delete"))
        return v("safe", "reads a symbolic ref");
      return v("destructive", "moves or deletes HEAD directly");
    default:
      return v("writes", "writes repository state");
  }
}

/** Commands whose business is files in the working tree and the index: they lose work when they overwrite or delete. */
function filesCommand(
  sub: "reset" | "restore" | "clean" | "rm" | "read-tree" | "checkout-index",
  a: readonly string[],
): GitVerdict {
  const v = (risk: GitVerdict["risk"], reason: string) => verdict(risk, sub, reason);
  switch (sub) {
    case "reset":
      if (hasLong(a, "--hard", "--merge", "--keep")) return v("destructive", "discards uncommitted changes");
      // `reset [<tree-ish>] <paths>` and `reset [HEAD]` only unstage; `reset <commit>` moves the branch.
      if (afterDashDash(a).length > 0 || operands(a).length >= 2 || operands(a).every((o) => o === "HEAD"))
        return v("writes", "unstages changes");
      return v("destructive", "moves the branch to another commit (rewrites history)");
    case "restore":
      if ((hasShort(a, "S") || hasLong(a, "--staged")) && !(hasShort(a, "W") || hasLong(a, "--worktree")))
        return v("writes", "unstages changes");
      return v("destructive", "overwrites files in the working tree");
    case "clean":
      if ((hasShort(a, "n") || hasLong(a, "--dry-run")) && !(hasShort(a, "f") || hasLong(a, "--force")))
        return v("safe", "dry run");
      return v("destructive", "deletes untracked files");
    case "rm":
      if (hasLong(a, "--cached")) return v("writes", "unstages files");
      if (hasShort(a, "n") || hasLong(a, "--dry-run")) return v("safe", "dry run");
      return v("destructive", "deletes files from the working tree");
    case "read-tree":
      if (hasShort(a, "u") || hasLong(a, "--reset")) return v("destructive", "overwrites the working tree");
      return v("writes", "writes the index");
    case "checkout-index":
      if (hasShort(a, "f") || hasLong(a, "--force")) return v("destructive", "overwrites files in the working tree");
      return v("writes", "writes files from the index");
  }
}

function checkout(a: readonly string[]): GitVerdict {
  const v = (risk: GitVerdict["risk"], reason: string) => verdict(risk, "checkout", reason);
  if (
    hasShort(a, "f") ||
    hasLong(a, "--force", "--ours", "--theirs", "--patch", "--pathspec-from-file") ||
    hasShort(a, "p")
  )
    return v("destructive", "overwrites local changes");
  if (a.includes("--")) return v("destructive", "overwrites files with another version (discards their changes)");
  if (hasShort(a, "B")) return v("destructive", "resets an existing branch");
  const creates = hasShort(a, "b") || hasLong(a, "--orphan");
  const rest = operands(a);
  if (creates)
    return rest.length <= 2
      ? v("writes", "creates and switches to a branch")
      : v("destructive", "overwrites files with another version");
  if (rest.length === 0) return v("safe", "reports the current branch");
  if (hasLong(a, "--detach") && rest.length === 1) return v("writes", "switches to a commit");
  // `git checkout X` restores file X when X is a path: without `--` only the repository at run time knows which.
  return v("destructive", `restores files when ${rest.join(" ")} names a path (use git switch to change branches)`);
}

function branch(a: readonly string[]): GitVerdict {
  const v = (risk: GitVerdict["risk"], reason: string) => verdict(risk, "branch", reason);
  const force = hasShort(a, "f") || hasLong(a, "--force");
  if (hasShort(a, "D") || hasShort(a, "M") || hasShort(a, "C") || force)
    return v("destructive", "deletes or overwrites a branch");
  if (
    hasShort(a, "d") ||
    hasLong(a, "--delete") ||
    hasShort(a, "m") ||
    hasShort(a, "c") ||
    hasLong(a, "--move", "--copy", "--set-upstream-to", "--unset-upstream", "--edit-description", "--track") ||
    hasShort(a, "u")
  ) {
    return v("writes", "changes a branch");
  }
  const listing =
    hasShort(a, "l") ||
    hasLong(a, "--list", "--contains", "--no-contains", "--merged", "--no-merged", "--points-at", "--show-current");
  if (listing || operands(a).length === 0) return v("safe", "lists branches");
  return v("writes", "creates a branch");
}

function config(a: readonly string[]): GitVerdict {
  const v = (risk: GitVerdict["risk"], reason: string) => verdict(risk, "config", reason);
  const planted = plantedCommand(operands(a));
  if (planted) return planted;
  const reads =
    hasShort(a, "l") ||
    hasLong(
      a,
      "--list",
      "--get",
      "--get-all",
      "--get-regexp",
      "--get-urlmatch",
      "--get-color",
      "--get-colorbool",
      "--show-origin",
      "--show-scope",
    );
  const ops = operands(a).filter((o) => !o.startsWith("--"));
  if (
    reads ||
    ops[0] === "list" ||
    ops[0] === "get" ||
    (ops.length === 1 &&
      !hasLong(
        a,
        "--unset",
        "--unset-all",
        "--remove-section",
        "--rename-section",
        "--add",
        "--replace-all",
        "--edit",
      ) &&
      !hasShort(a, "e"))
  ) {
    return v("safe", "reads configuration");
  }
  return v("writes", "changes configuration");
}

/** `git config core.pager '…'` or `alias.x '!…'`: what a later, harmless-looking git command would run. */
function plantedCommand(ops: readonly string[]): GitVerdict | undefined {
  const [key, value] = ops[0] === "set" ? ops.slice(1) : ops;
  if (!key || value === undefined) return undefined;
  const isAlias = /^alias\./i.test(key);
  if (!isAlias && !COMMAND_KEYS.test(key)) return undefined;
  if (key === DYNAMIC || value === DYNAMIC)
    return verdict("dynamic", "config", "sets a command git runs later to a value only known at run time");
  if (/^(include|core\.hookspath)/i.test(key))
    return verdict("dynamic", "config", `${key} makes git load or run files the guard cannot see`);
  if (isAlias && !value.startsWith("!")) return undefined;
  return {
    ...verdict("writes", "config", `sets ${key}, a command git runs later`),
    scripts: [isAlias ? value.slice(1) : value],
  };
}
