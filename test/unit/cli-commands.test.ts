// The CLI's top-level command table (plugins/cli/commands.ts) answers --help, --version and unknown commands without
// importing a feature: it must say exactly what the modules register, and the lazy help must equal the full one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildProgram } from "../../plugins/cli/main.ts";
import { COMMAND_MODULES, moduleFor } from "../../plugins/cli/commands.ts";
import { capture } from "./helpers/cli.ts";

test("the command table lists every registered command with its help term and description, in order", async () => {
  const full = await buildProgram([], { all: true });
  const help = full.createHelp();
  const registered = full.commands.map((c) => ({
    name: c.name(),
    term: help.subcommandTerm(c),
    description: c.description(),
  }));
  assert.deepEqual(
    COMMAND_MODULES.flatMap((m) => m.commands),
    registered,
  );
  // Each module registers exactly the commands its entry names.
  for (const module of COMMAND_MODULES) {
    const program = await buildProgram([module.commands[0]!.name]);
    assert.deepEqual(
      program.commands.map((c) => c.name()),
      module.commands.map((c) => c.name),
    );
  }
});

test("continuum --help from the table equals the help of the fully loaded program", async () => {
  const full = await buildProgram([], { all: true });
  const lazy = await buildProgram(["--help"]);
  assert.equal(lazy.helpInformation(), full.helpInformation());
  assert.ok(
    lazy.commands.every((c) => c.commands.length === 0 && c.options.length === 0),
    "placeholders only",
  );
});

test("a command line loads the module it names, help <name> included; anything else needs only the table", () => {
  assert.equal(moduleFor(["stats", "--json"])?.commands[0]?.name, "stats");
  assert.equal(moduleFor(["agents", "list"])?.commands[0]?.name, "stats");
  assert.equal(moduleFor(["help", "memory"])?.commands[0]?.name, "memory");
  for (const argv of [[], ["--version"], ["-h"], ["help"], ["memry"], ["help", "memry"]])
    assert.equal(moduleFor(argv), undefined, argv.join(" "));
});

test("help, --version and an unknown command answered from the table keep their output and exit codes", async () => {
  const version = await capture(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.out, /^\d+\.\d+\.\d+$/);
  const help = await capture(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: continuum \[options\] \[command\]/);
  assert.match(help.out, /\n {2}stats \[options\] +what the pack spent/);
  const unknown = await capture(["memry"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.err,
    /unknown command 'memry'\n\(Did you mean memory\?\)\nusage: continuum \[options\] \[command\]/,
  );
  const named = await capture(["help", "stats"]);
  assert.equal(named.code, 0);
  assert.match(named.out, /^Usage: continuum stats \[options\]/);
});
