// The top-level command table: every subcommand's name, help term and one-line description, and the module that
// registers it. `continuum --help`, `--version` and an unknown command are answered from this table alone; a
// command's module (and its heavy imports: better-sqlite3, quickjs, the opencode driver) is imported only when that
// command runs. test/unit/cli-commands.test.ts checks the table against what the modules register.
import type { Command } from "commander";

export type Register = (program: Command) => void;

export interface CommandSummary {
  name: string;
  /** How `continuum --help` lists it (commander's subcommand term: name, [options], arguments). */
  term: string;
  description: string;
}

interface CommandModule {
  commands: CommandSummary[];
  load: () => Promise<{ register: Register }>;
}

// The CLI's entry wires features to each other, as boot does in the plugin: a feature's cli.ts never imports
// another feature, it is handed what it reads of one.
async function checkpointCommands(): Promise<{ register: Register }> {
  const [checkpoint, tasks, goal] = await Promise.all([
    import("../checkpoint/cli.ts"),
    import("../tasks/cli.ts"),
    import("../goal/cli.ts"),
  ]);
  const deps = { openTaskView: tasks.openTaskView, openGoalTables: goal.openGoalTables };
  return { register: (program) => checkpoint.register(program, deps) };
}

async function dreamCommands(): Promise<{ register: Register }> {
  const [dream, memory] = await Promise.all([import("../dream/cli.ts"), import("../memory/cli.ts")]);
  return { register: (program) => dream.register(program, { openMemory: memory.openMemory }) };
}

const one = (name: string, term: string, description: string): CommandSummary[] => [{ name, term, description }];

/** In the order `continuum --help` lists them. */
export const COMMAND_MODULES: CommandModule[] = [
  {
    commands: [
      ...one("install", "install [options]", "install into OpenCode (global, or --project DIR), then run the doctor"),
      ...one(
        "uninstall",
        "uninstall [options]",
        "remove exactly what install added; --purge-data also deletes the pack's data for that scope",
      ),
    ],
    load: () => import("./install.ts"),
  },
  {
    commands: one(
      "doctor",
      "doctor [options]",
      "check Node, ripgrep, OpenCode's version, the checkout, the installed plugin and the configuration, then prove one round trip through OpenCode (exit 1 if a check fails)",
    ),
    load: () => import("./doctor.ts"),
  },
  {
    commands: one(
      "memory",
      "memory [options]",
      "the pack's memory outside OpenCode: status, list, search, show, forget, path, reindex",
    ),
    load: () => import("../memory/cli.ts"),
  },
  {
    commands: one("history", "history", "the pack's history index of past conversations"),
    load: () => import("../memory/cli-history.ts"),
  },
  {
    commands: one(
      "checkpoint",
      "checkpoint [options]",
      "a project's checkpoints, rebuilds and task trees outside OpenCode",
    ),
    load: checkpointCommands,
  },
  {
    commands: one("goal", "goal [options]", "goals set with /goal or continuum run: status and every judge verdict"),
    load: () => import("../goal/cli.ts"),
  },
  {
    commands: [
      ...one(
        "stats",
        "stats [options]",
        "what the pack spent, per feature, next to your agent's own tokens (the overhead ratio)",
      ),
      ...one("agents", "agents [options]", "the pack's hidden helper runs (writers, judges, …): running and recent"),
    ],
    load: () => import("./stats.ts"),
  },
  {
    commands: one(
      "run",
      "run [options] [prompt]",
      "run a prompt under a goal headlessly (opencode serve + SDK) until the goal ends",
    ),
    load: () => import("../goal/cli-run.ts"),
  },
  {
    commands: one(
      "dream",
      "dream [options] [focus...]",
      "consolidate recent sessions into project memory (runs /dream headlessly through opencode serve)",
    ),
    load: dreamCommands,
  },
  {
    commands: one(
      "distill",
      "distill [options] [focus...]",
      "turn workflows repeated across sessions into skills, commands or agents (runs /distill headlessly)",
    ),
    load: () => import("../distill/cli.ts"),
  },
  {
    commands: one(
      "schema",
      "schema [options]",
      "print the JSON Schema of continuum.jsonc; --write it to plugins/core/continuum.schema.json, or --check it is current (exit 1 if stale)",
    ),
    load: () => import("./schema.ts"),
  },
  {
    commands: one("workflow", "workflow", "workflow scripts: run and resume headlessly, list, status, cancel"),
    load: () => import("../workflow/cli.ts"),
  },
  {
    commands: one(
      "restore",
      "restore [options] [backup]",
      "list the backups taken before the pack applied or merged a change, or put one back (index and working tree)",
    ),
    load: () => import("./restore.ts"),
  },
];

/**
 * The module a command line runs: `continuum stats …` and `continuum help stats` name one. Anything else (no
 * command, --help, --version, an unknown name) needs only the table.
 */
export function moduleFor(argv: string[]): CommandModule | undefined {
  const name = argv[0] === "help" ? argv[1] : argv[0];
  if (!name || name.startsWith("-")) return undefined;
  return COMMAND_MODULES.find((m) => m.commands.some((c) => c.name === name));
}
