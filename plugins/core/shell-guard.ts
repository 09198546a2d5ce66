// Finds every git invocation in a shell command by parsing it (unbash, a Bash parser), not by matching its text:
// compound commands, pipelines, subshells, function bodies, $(…), heredocs, wrappers (env, sudo, xargs, timeout…),
// `bash -c` / `eval` strings, git's global options. A permission pattern matches the start of the text only, so
// `git --no-pager reset --hard` or `env git stash` walked past it; this sees what the shell will run.
import { forEachChild, parse, type Assignment, type Command, type SyntaxNode, type Word, type WordPart } from "unbash";
import { classifyGit, DYNAMIC, type GitRisk } from "./git-risk.ts";

export interface GitFinding {
  risk: GitRisk;
  /** The command as the guard read it ("git -C . stash"; "…" where a value is only known at run time). */
  command: string;
  reason: string;
}

/** How deep `bash -c`, `eval` and alias strings are followed; deeper counts as unknown. */
const MAX_DEPTH = 4;

/** Commands that never run their arguments: a word "git" there is data (`echo git stash`, `grep "reset --hard"`). */
const NON_EXEC = new Set([
  "echo",
  "printf",
  "grep",
  "egrep",
  "fgrep",
  "rg",
  "ag",
  "ack",
  "sed",
  "awk",
  "cat",
  "less",
  "more",
  "head",
  "tail",
  "wc",
  "ls",
  "man",
  "which",
  "whereis",
  "type",
  "true",
  "false",
  "test",
  "[",
  ":",
  "read",
  "export",
  "declare",
  "local",
  "typeset",
  "readonly",
  "unset",
  "cd",
  "pushd",
  "popd",
  "mkdir",
  "touch",
  "tr",
  "sort",
  "uniq",
  "cut",
  "jq",
  "tee",
  "diff",
  "printenv",
  "basename",
  "dirname",
  "realpath",
  "stat",
  "file",
]);
const SHELLS = new Set(["bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "yash", "busybox"]);

interface Context {
  depth: number;
  out: GitFinding[];
  /** Parse errors are findings for the command itself; strings merely mentioning git are read leniently. */
  lenient: boolean;
  /** The text being parsed, for messages. */
  source: string;
}

/** Every git invocation that is not read-only, and every command whose program is only known at run time. */
export function inspectShell(source: string): GitFinding[] {
  const out: GitFinding[] = [];
  try {
    scan(source, { depth: 0, out, lenient: false, source });
  } catch {
    // A command too deep for the parser or the walk (a stack overflow): unread is never safe.
    out.push({ risk: "dynamic", command: preview(source), reason: "the command is too deeply nested to be read" });
  }
  const seen = new Set<string>();
  return out.filter((f) => {
    const key = `${f.risk}\u0000${f.command}\u0000${f.reason}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function scan(source: string, ctx: Context): void {
  if (ctx.depth > MAX_DEPTH)
    return void ctx.out.push({
      risk: "dynamic",
      command: preview(source),
      reason: "shells nested deeper than the guard follows",
    });
  let script;
  try {
    script = parse(source);
  } catch {
    if (!ctx.lenient)
      ctx.out.push({ risk: "dynamic", command: preview(source), reason: "the command could not be parsed" });
    return;
  }
  walk(script as SyntaxNode, { ...ctx, source }, new Set());
}

function walk(node: SyntaxNode, ctx: Context, piped: Set<SyntaxNode>): void {
  if (node.type === "Script" && "errors" in node && node.errors?.length && !ctx.lenient) {
    ctx.out.push({
      risk: "dynamic",
      command: preview(node.source ?? ctx.source),
      reason: `the command could not be parsed (${node.errors[0]!.message})`,
    });
  }
  // Every command after the first in a pipeline reads the previous one's output.
  if (node.type === "Pipeline") for (const command of node.commands.slice(1)) piped.add(command);
  if (node.type === "Command") inspectCommand(node, ctx, piped.has(node));
  forEachChild(node, (child) => walk(child, ctx, piped));
}

function partIsStatic(part: WordPart): boolean {
  if (part.type === "Literal" || part.type === "SingleQuoted" || part.type === "AnsiCQuoted") return true;
  if (part.type === "DoubleQuoted" || part.type === "LocaleString")
    return part.parts.every((p) => p.type === "Literal");
  return false;
}

/** The word's value after quote removal, or DYNAMIC when expansion decides it. */
export function wordValue(word: Word | undefined): string {
  if (!word) return DYNAMIC;
  return !word.parts || word.parts.every(partIsStatic) ? word.value : DYNAMIC;
}

/** `NAME=value` as the command receives it (quotes removed), e.g. the argument of `alias` or `env`. */
function assignmentValue(assignment: Assignment): string {
  const value = assignment.value.type === "Word" ? wordValue(assignment.value) : DYNAMIC;
  return `${assignment.name}${assignment.append ? "+" : ""}=${value}`;
}

function inspectCommand(command: Command, ctx: Context, piped: boolean): void {
  if (!command.name) return;
  const argv = [
    wordValue(command.name),
    ...command.suffix.flatMap((s) =>
      s.type === "Word" ? [wordValue(s)] : s.type === "Assignment" ? [assignmentValue(s)] : [],
    ),
  ];
  // What a shell reading its standard input would run: a heredoc or here-string on this command, or a pipe.
  const stdin = (): string | undefined => {
    for (const r of command.redirects) {
      if (r.type === "HereDoc") return r.body.text;
      if (r.type === "HereString") return wordValue(r.target);
    }
    return piped ? DYNAMIC : undefined;
  };
  inspectAssignments(
    command.prefix.flatMap((p) => (p.type === "Assignment" ? [assignmentValue(p)] : [])),
    ctx,
  );
  inspectArgv(argv, ctx, stdin);
}

/** Environment variables git (or a shell) runs as a command: `GIT_PAGER='git stash' git log` runs the stash. */
const COMMAND_VARS =
  /^(GIT_PAGER|PAGER|GIT_EDITOR|EDITOR|VISUAL|GIT_SEQUENCE_EDITOR|GIT_SSH_COMMAND|GIT_SSH|GIT_EXTERNAL_DIFF|GIT_ASKPASS|SSH_ASKPASS|GIT_PROXY_COMMAND|BASH_ENV|ENV|PROMPT_COMMAND)=/;

function inspectAssignments(words: readonly string[], ctx: Context): void {
  for (const word of words) {
    if (word !== DYNAMIC && COMMAND_VARS.test(word))
      nested(word.slice(word.indexOf("=") + 1), [word], ctx, "a command variable only known at run time");
  }
}

function inspectArgv(start: readonly string[], ctx: Context, stdin: () => string | undefined): void {
  let argv = start;
  inspectAssignments(argv.slice(1), ctx);
  for (let hops = 0; hops < 16 && argv.length > 0; hops++) {
    const name = argv[0]!;
    if (name === DYNAMIC)
      return void ctx.out.push({
        risk: "dynamic",
        command: show(argv),
        reason: "the program it runs is only known at run time",
      });
    const base = name.slice(name.lastIndexOf("/") + 1);
    if (base === "git") return inspectGit(argv, ctx);
    if (SHELLS.has(base)) return inspectShellInvocation(base === "busybox" ? argv.slice(1) : argv, ctx, stdin);
    if (base === "eval") return nested(argv.slice(1).join(" "), argv, ctx, "eval of a string only known at run time");
    if (base === "alias")
      return void argv
        .slice(1)
        .forEach(
          (a) => a.includes("=") && nested(a.slice(a.indexOf("=") + 1), argv, ctx, "an alias only known at run time"),
        );
    const unwrap = WRAPPERS[base];
    if (unwrap) {
      const next = unwrap(argv.slice(1));
      if (!next) return;
      argv = next;
      continue;
    }
    return fallback(argv, base, ctx);
  }
}

/** Any other program: a literal `git` argument is taken as a command it runs (find -exec, watch, flock, strace…). */
function fallback(argv: readonly string[], base: string, ctx: Context): void {
  if (NON_EXEC.has(base)) return;
  const at = argv.findIndex((a, i) => i > 0 && (a === "git" || (a.startsWith("/") && a.endsWith("/git"))));
  if (at > 0) inspectGit(argv.slice(at), ctx);
  // A string argument that reads as a git command line (watch 'git stash', flock f -c 'git stash', su -c …).
  for (const arg of argv.slice(1)) {
    if (arg !== DYNAMIC && /(^|[\s;&|(`])git\s/.test(arg)) scan(arg, { ...ctx, depth: ctx.depth + 1, lenient: true });
  }
}

function inspectGit(argv: readonly string[], ctx: Context): void {
  const verdict = classifyGit(argv.slice(1));
  for (const script of verdict.scripts ?? [])
    nested(script, argv, ctx, "a git setting only known at run time runs a command");
  if (verdict.risk !== "safe") ctx.out.push({ risk: verdict.risk, command: show(argv), reason: verdict.reason });
}

function nested(text: string, argv: readonly string[], ctx: Context, dynamicReason: string): void {
  if (text.includes(DYNAMIC)) return void ctx.out.push({ risk: "dynamic", command: show(argv), reason: dynamicReason });
  scan(text, { ...ctx, depth: ctx.depth + 1, lenient: false });
}

/** `bash -c 'string'` is parsed; `bash` reading a heredoc, here-string or pipe runs that; `bash file` is not followed. */
function inspectShellInvocation(argv: readonly string[], ctx: Context, stdin: () => string | undefined): void {
  let readsString = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || arg === "-") {
      i++;
      break;
    }
    if (arg === DYNAMIC)
      return void ctx.out.push({
        risk: "dynamic",
        command: show(argv),
        reason: "shell options only known at run time",
      });
    if (!/^[-+]/.test(arg)) break;
    if (arg.startsWith("--")) {
      if (arg === "--rcfile" || arg === "--init-file") i++;
      continue;
    }
    if (arg.slice(1).includes("c")) readsString = true;
    if (/^[-+]o$/.test(arg) || arg === "-O" || arg === "+O") i++;
  }
  if (readsString) return nested(argv[i] ?? "", argv, ctx, "a shell string only known at run time");
  if (i < argv.length) return; // a script file: only the OS sandbox confines what it does
  const input = stdin();
  if (input === undefined) return;
  nested(input, argv, ctx, "a shell reading commands from a pipe or a generated here-string");
}

type Unwrap = (args: readonly string[]) => readonly string[] | undefined;

/**
 * Skips a wrapper's own options to the command it runs. `values` take the next argument (unless attached as
 * `-n5` / `--opt=value`); `stop` options mean it runs no command (command -v); `assignments` skips NAME=value.
 */
function wrapper(spec: {
  values?: string[];
  stop?: string[];
  assignments?: boolean;
  operands?: number;
  split?: string[];
}): Unwrap {
  const values = new Set(spec.values ?? []);
  return (args) => {
    let i = 0;
    for (; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === "--") {
        i++;
        break;
      }
      if (spec.stop?.includes(arg)) return undefined;
      if (spec.split?.includes(arg)) return [...splitWords(args[i + 1]), ...args.slice(i + 2)];
      const joined = spec.split?.find((o) => arg.startsWith(o.startsWith("--") ? `${o}=` : o) && arg.length > o.length);
      if (joined)
        return [...splitWords(arg.slice(joined.length + (joined.startsWith("--") ? 1 : 0))), ...args.slice(i + 1)];
      if (spec.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) continue;
      if (arg === DYNAMIC || !arg.startsWith("-") || arg === "-") break;
      if (values.has(arg)) i++;
    }
    const rest = args.slice(i + (spec.operands ?? 0));
    return rest.length > 0 ? rest : undefined;
  };
}

function splitWords(text: string | undefined): string[] {
  if (text === undefined || text === DYNAMIC) return [DYNAMIC];
  return text.trim().split(/\s+/).filter(Boolean);
}

const WRAPPERS: Record<string, Unwrap> = {
  env: wrapper({
    values: [
      "-u",
      "--unset",
      "-C",
      "--chdir",
      "-P",
      "-a",
      "--argv0",
      "--block-signal",
      "--default-signal",
      "--ignore-signal",
    ],
    split: ["-S", "--split-string"],
    assignments: true,
  }),
  command: wrapper({ stop: ["-v", "-V"] }),
  builtin: wrapper({}),
  exec: wrapper({ values: ["-a"] }),
  nohup: wrapper({}),
  time: wrapper({ values: ["-f", "--format", "-o", "--output"] }),
  nice: wrapper({ values: ["-n", "--adjustment"] }),
  timeout: wrapper({ values: ["-s", "--signal", "-k", "--kill-after"], operands: 1 }),
  sudo: wrapper({
    values: [
      "-u",
      "--user",
      "-g",
      "--group",
      "-C",
      "--close-from",
      "-D",
      "--chdir",
      "-h",
      "--host",
      "-p",
      "--prompt",
      "-r",
      "--role",
      "-t",
      "--type",
      "-U",
      "--other-user",
      "-T",
      "--command-timeout",
      "-R",
      "--chroot",
    ],
    stop: ["-l", "--list", "-v", "--validate", "-k", "-K", "-e", "--edit"],
    assignments: true,
  }),
  doas: wrapper({ values: ["-u", "-C"] }),
  xargs: wrapper({
    values: [
      "-a",
      "--arg-file",
      "-d",
      "--delimiter",
      "-E",
      "-I",
      "-L",
      "-n",
      "--max-args",
      "-P",
      "--max-procs",
      "-s",
      "--max-chars",
      "--process-slot-var",
    ],
  }),
  stdbuf: wrapper({ values: ["-i", "-o", "-e"] }),
  setsid: wrapper({}),
  ionice: wrapper({
    values: ["-c", "--class", "-n", "--classdata"],
    stop: ["-p", "--pid", "-P", "--pgid", "-u", "--uid"],
  }),
  unbuffer: wrapper({}),
  caffeinate: wrapper({ values: ["-t", "-w"] }),
};

function show(argv: readonly string[]): string {
  return argv
    .map((a) => a.split(DYNAMIC).join("…"))
    .map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a))
    .join(" ")
    .slice(0, 200);
}

function preview(source: string): string {
  const line = source.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

/** Pack agents in a user's session ask the user; hidden helpers cannot ask anyone and are refused. */
export type GuardPolicy = "ask" | "refuse";

export type GuardDecision =
  | { action: "run" }
  /** `command` is the original behind a marker line that the agent's `ask` rule for CONFIRM_PATTERN catches. */
  | { action: "ask"; command: string; findings: GitFinding[] }
  | { action: "refuse"; message: string; findings: GitFinding[] };

/**
 * The start of the marker line; the asking agents' frontmatter has `"<CONFIRM_PATTERN>": ask`. The assignment comes
 * first on purpose: OpenCode matches rules against the whole command text but builds the "always" pattern from the
 * command's words without it (`: *`), so an "always" answer can never match a later marker line and turn asking off.
 */
export const CONFIRM_MARKER = "continuum_confirm=1 :";
export const CONFIRM_PATTERN = "continuum_confirm=*";

/** Pack agents that talk to the user (primary, selectable): a dangerous git command asks them first. */
export const ASKING_AGENTS: ReadonlySet<string> = new Set(["compose", "max"]);
/** The pack's hidden agents: nobody is there to answer, so a dangerous git command is refused. */
export const HIDDEN_AGENTS: ReadonlySet<string> = new Set([
  "max-builder",
  "max-candidate",
  "max-judge",
  "dream",
  "distill",
  "goal-judge",
  "checkpoint-writer",
]);

/** Which policy a session's bash runs under; undefined for the user's own agents (build, plan, theirs). */
export function guardPolicy(session: {
  helper: boolean;
  agent?: string;
  ancestorGuarded: boolean;
}): GuardPolicy | undefined {
  if (session.helper || (session.agent !== undefined && HIDDEN_AGENTS.has(session.agent))) return "refuse";
  if (session.agent !== undefined && ASKING_AGENTS.has(session.agent)) return "ask";
  // A subagent a pack agent started through the task tool: it has no marker rule to ask with.
  return session.ancestorGuarded ? "refuse" : undefined;
}

export function guardShell(command: string, policy: GuardPolicy): GuardDecision {
  const findings = inspectShell(command);
  if (policy === "ask") {
    const risky = findings.filter((f) => f.risk !== "writes");
    if (risky.length === 0) return { action: "run" };
    return { action: "ask", command: `${CONFIRM_MARKER} '${summary(risky)}'\n${command}`, findings: risky };
  }
  if (findings.length === 0) return { action: "run" };
  const lines = findings.slice(0, 5).map((f) => `- \`${f.command}\`: ${RISK_LABEL[f.risk]}: ${f.reason}`);
  const message = [
    "Refused by the pack's git guard (nothing ran). An agent working for the pack never runs git commands that discard work, rewrite history or write the repository's shared state, and never runs a program whose name is only known at run time:",
    ...lines,
    "Make your change by editing files (your worktree's diff is what the pack takes); read-only git (status, diff, log, show) is fine, and a command written out literally can be checked.",
  ].join("\n");
  return { action: "refuse", message, findings };
}

const RISK_LABEL: Record<GitRisk, string> = {
  destructive: "discards work or rewrites history",
  writes: "writes the repository's shared git state",
  dynamic: "cannot be checked",
};

/** One line for the permission prompt, safe inside single quotes. */
function summary(findings: GitFinding[]): string {
  const text = findings
    .slice(0, 3)
    .map((f) => `${f.command}: ${f.risk === "dynamic" ? `cannot be checked, ${f.reason}` : f.reason}`)
    .join("; ");
  return text.replace(/['\n\r\\]/g, " ").slice(0, 300);
}
