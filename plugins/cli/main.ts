// The continuum CLI (Node). Each subcommand lives in its own module and is listed once in SUBCOMMANDS.

export interface Subcommand {
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, () => Promise<Subcommand>> = {
  install: async () => (await import("./install.ts")).installCommand,
  uninstall: async () => (await import("./install.ts")).uninstallCommand,
  doctor: async () => (await import("./doctor.ts")).doctorCommand,
  schema: async () => (await import("./schema.ts")).schemaCommand,
  memory: async () => (await import("./memory.ts")).memoryCommand,
  run: async () => (await import("./goal-run.ts")).goalRunCommand,
  checkpoint: async () => (await import("./checkpoint.ts")).checkpointCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") return printHelp();
  const load = SUBCOMMANDS[name];
  if (!load) {
    console.error(`continuum: unknown command "${name}". Run "continuum help" for the list.`);
    return 2;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`usage: ${command.usage}\n\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    console.error(`continuum ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function printHelp(): Promise<number> {
  console.log("continuum: opencode-continuum's command line\n");
  for (const [name, load] of Object.entries(SUBCOMMANDS)) {
    const command = await load();
    console.log(`  ${command.usage.padEnd(58)} ${command.summary}`);
  }
  return 0;
}
