// The continuum CLI (Node), on commander: one parser for every subcommand, so every command has --help, rejects
// unknown options and bad values with its usage line (exit 2), and reports errors the same way.
// A subcommand is one module exporting `register(program)`, plus one line in MODULES below: a feature's commands
// live in its own folder (<feature>/cli.ts); this folder keeps the generic ones (install, doctor, stats, schema…).
import { Command, CommanderError, Option } from "commander";
import { PACK_VERSION } from "../core/version.ts";
import { CliError, commandPath, EXIT, outcome } from "./kit.ts";
type Register = (program: Command) => void;

/**
 * Every subcommand module with the command names it registers, in the order `continuum --help` lists them. Loaded
 * on demand: a command line that names one subcommand imports only its module (start-up time is most of a quick
 * command's time); help and anything unrecognised load them all.
 */
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

const MODULES: { names: string[]; load: () => Promise<{ register: Register }> }[] = [
  { names: ["install", "uninstall"], load: () => import("./install.ts") },
  { names: ["doctor"], load: () => import("./doctor.ts") },
  { names: ["memory"], load: () => import("../memory/cli.ts") },
  { names: ["history"], load: () => import("../memory/cli-history.ts") },
  { names: ["checkpoint"], load: checkpointCommands },
  { names: ["goal"], load: () => import("../goal/cli.ts") },
  { names: ["stats", "agents"], load: () => import("./stats.ts") },
  { names: ["run"], load: () => import("../goal/cli-run.ts") },
  { names: ["dream"], load: dreamCommands },
  { names: ["distill"], load: () => import("../distill/cli.ts") },
  { names: ["schema"], load: () => import("./schema.ts") },
  { names: ["workflow"], load: () => import("../workflow/cli.ts") },
  { names: ["restore"], load: () => import("./restore.ts") },
];

async function loadRegisters(argv: string[]): Promise<Register[]> {
  const first = argv[0];
  const only = first && !first.startsWith("-") ? MODULES.filter((m) => m.names.includes(first)) : [];
  const wanted = only.length === 1 ? only : MODULES;
  return Promise.all(wanted.map(async (m) => (await m.load()).register));
}

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command("continuum")
    .description("opencode-continuum's command line: inspect and manage what the pack keeps, outside OpenCode")
    .version(PACK_VERSION, "-V, --version", "print the pack's version")
    .helpCommand("help [command]", "show help for a command")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 error (not found, check failed), 2 usage error; `continuum run` adds 3-8 (see its help).",
    );
  for (const add of await loadRegisters(argv)) add(program);
  configureTree(program);
  return program;
}

/** Same output, error and exit behaviour for every command in the tree. */
function configureTree(command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .configureOutput({
      writeOut: (text) => console.log(text.replace(/\n$/, "")),
      writeErr: (text) => console.error(text.replace(/\n$/, "")),
      outputError: (text, write) =>
        write(
          `${commandPath(command)}: ${text.replace(/^error: /, "").trim()}\nusage: ${commandPath(command)} ${command.usage()}\n(run "${commandPath(command)} --help" for details)\n`,
        ),
    });
  shareCommonOptions(command);
  for (const sub of command.commands) configureTree(sub);
}

/**
 * `continuum memory --project X list` means `continuum memory list --project X`: an option every subcommand of a
 * group takes is accepted on the group too, and act() hands the subcommand the merged options (optsWithGlobals),
 * so it works on either side of the subcommand's name.
 */
function shareCommonOptions(group: Command): void {
  const subs = group.commands;
  // Not the program itself: it loads only the module a command line names, so its one subcommand is not a group.
  if (!group.parent || subs.length < 2) return;
  for (const option of subs[0]!.options) {
    const shared = !option.mandatory && subs.every((sub) => sub.options.some((o) => o.flags === option.flags));
    if (!shared || group.options.some((o) => o.flags === option.flags)) continue;
    const copy = new Option(option.flags, option.description);
    if (option.argChoices) copy.choices(option.argChoices);
    if (option.parseArg) copy.argParser(option.parseArg);
    group.addOption(copy);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  outcome.code = EXIT.ok;
  try {
    await program.parseAsync(argv, { from: "user" });
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error);
    if (error instanceof CliError) {
      console.error(`continuum: ${error.message}`);
      return error.exitCode;
    }
    console.error(`continuum: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.error;
  }
}

/** Help and --version end with 0; every parse error (unknown option, bad value, missing argument) with 2. */
function commanderExit(error: CommanderError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
  // `continuum help` asks for help (0); a group called without its subcommand prints help on stderr: a usage error.
  if (error.code === "commander.help") return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.usage;
}
