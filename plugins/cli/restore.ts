// `continuum restore [<backup>]`: lists the backups the pack took of the user's index and working tree before an
// apply or a merge (refs/continuum/backups/*), or puts one back exactly. Git only: no OpenCode, no data dir.
import type { Command } from "commander";
import { git } from "../core/git.ts";
import { listBackups, restoreBackup, type Backup } from "../core/backups.ts";
import { act, CliError, emit, EXIT, existingDir, jsonOption, notFound, projectOption } from "./kit.ts";

interface Options {
  project?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("restore")
    .description(
      "list the backups taken before the pack applied or merged a change, or put one back (index and working tree)",
    )
    .usage("[<backup>] [--force] [--project DIR] [--json]")
    .argument("[backup]", "the backup's name, as listed; without it the backups are listed")
    .option("--force", "restore even if the tree changed since the apply (the state now is backed up first)")
    .addOption(projectOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nExit codes: 0 listed or restored; 1 no such backup, not a git repository, or the tree changed since (without --force); 2 usage.",
    )
    .action(act((name: string | undefined, o: Options) => (name ? restore(name, o) : list(o))));
}

async function repoDir(project: string | undefined): Promise<string> {
  const dir = existingDir("--project", project);
  const inside = await git(dir, ["rev-parse", "--is-inside-work-tree"]);
  if (inside.code !== 0 || inside.stdout.trim() !== "true")
    throw notFound(`${dir} is not inside a git repository: the pack keeps no backups there`);
  return dir;
}

async function list(o: Options): Promise<number> {
  const backups = await listBackups(await repoDir(o.project));
  emit(o.json, { backups }, () =>
    backups.length
      ? ["Backups (newest first; `continuum restore <name>` puts one back):", ...backups.map(describe)]
      : "No backups: the pack has not applied or merged anything here (or they were pruned).",
  );
  return EXIT.ok;
}

function describe(b: Backup): string {
  return `  ${b.name}  ${b.label}${b.after ? "" : "  (no apply recorded after it)"}`;
}

async function restore(name: string, o: Options): Promise<number> {
  const dir = await repoDir(o.project);
  const result = await restoreBackup(dir, name, { force: o.force });
  if (!result.ok) {
    if (result.reason.startsWith("no backup named"))
      throw notFound(`${result.reason} (run \`continuum restore\` to list them)`);
    const files = result.changed.length ? ` Changed since: ${result.changed.join(", ")}.` : "";
    throw new CliError(`not restored: ${result.reason}.${files}`);
  }
  emit(
    o.json,
    {
      restored: result.backup.name,
      written: result.written,
      deleted: result.deleted,
      safety: result.safety?.name ?? null,
      headMoved: result.headMoved,
    },
    () => [
      `Restored ${result.backup.name} (${result.backup.label}): index and working tree are as they were (${result.written.length} file(s) written, ${result.deleted.length} deleted).`,
      ...(result.safety
        ? [
            `The state before this restore is backup ${result.safety.name} (\`continuum restore ${result.safety.name} --force\` takes it back).`,
          ]
        : []),
      ...(result.headMoved
        ? ["Note: HEAD moved since the backup (a commit or a checkout); it was left where it is."]
        : []),
    ],
  );
  return EXIT.ok;
}
