// The continuum CLI (Node), on commander: one parser for every subcommand, so every command has --help, rejects
// unknown options and bad values with its usage line (exit 2), and reports errors the same way.
// A subcommand is one module exporting `register(program)`, plus its entry in COMMAND_MODULES (commands.ts): a
// feature's commands live in its own folder (<feature>/cli.ts); this folder keeps the generic ones (install, doctor…).
import { Command, CommanderError, Help, Option } from "commander";
import { PACK_VERSION } from "../core/version.ts";
import { COMMAND_MODULES, moduleFor, type Register } from "./commands.ts";
import { CliError, commandPath, EXIT, outcome } from "./kit.ts";

/** Help terms of the placeholder commands registered from the table (they have no options to derive one from). */
const TABLE_TERMS = new WeakMap<Command, string>();

/**
 * What the program needs for this command line: the one module it names (start-up time is most of a quick
 * command's time), every module when asked (`all`, for tests), or else placeholders built from the command table,
 * enough for --help, --version and the unknown-command error with its suggestion.
 */
async function loadRegisters(argv: string[], all: boolean): Promise<Register[]> {
  if (all) return Promise.all(COMMAND_MODULES.map(async (m) => (await m.load()).register));
  const named = moduleFor(argv);
  return [named ? (await named.load()).register : registerTable];
}

function registerTable(program: Command): void {
  for (const summary of COMMAND_MODULES.flatMap((m) => m.commands))
    TABLE_TERMS.set(program.command(summary.name).description(summary.description), summary.term);
}

export async function buildProgram(argv: string[] = [], options: { all?: boolean } = {}): Promise<Command> {
  const program = new Command("continuum")
    .description("opencode-continuum's command line: inspect and manage what the pack keeps, outside OpenCode")
    .version(PACK_VERSION, "-V, --version", "print the pack's version")
    .helpCommand("help [command]", "show help for a command")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 error (not found, check failed), 2 usage error; `continuum run` adds 3-8 (see its help).",
    );
  for (const add of await loadRegisters(argv, options.all ?? false)) add(program);
  configureTree(program);
  return program;
}

/** Same output, error and exit behaviour for every command in the tree. */
function configureTree(command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({
      sortSubcommands: false,
      showGlobalOptions: false,
      subcommandTerm(this: Help, sub: Command) {
        return TABLE_TERMS.get(sub) ?? Help.prototype.subcommandTerm.call(this, sub);
      },
    })
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
