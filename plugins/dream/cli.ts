// `continuum dream [--dry-run] [focus]`, `continuum dream undo`, `continuum dream status`: a dream run headless
// through `opencode serve` (cli/headless.ts), its last report, and undoing the last dream that wrote MEMORY.md.
import type { Command } from "commander";
import { effectiveConfig, type Effective } from "../cli/config-view.ts";
import { runHeadless, showStatus, type HeadlessKind, type RunOptions } from "../cli/headless.ts";
import { act, existingDir, jsonOption, positiveNumber, projectOption, usageError } from "../cli/kit.ts";
import { DREAM_NOT_STARTED, dreamDir, formatRecord, readRecord } from "./records.ts";
import { undoLastDream } from "./run.ts";

const DREAM: HeadlessKind = {
  kind: "dream",
  read: (root, warn) => readRecord(dreamDir(root), warn),
  format: formatRecord,
  notStarted: DREAM_NOT_STARTED,
};

/** Memory as the CLI opens it (for undo): handed over by the CLI's entry (cli/main.ts). */
export interface DreamCliDeps {
  openMemory(eff: Effective): Promise<{
    service: {
      restoreFile(
        file: string,
        bytes: Uint8Array | undefined,
        sha: string,
      ): Promise<{ ok: true } | { ok: false; reason: string }>;
    };
    close(): void;
  }>;
}

export function register(program: Command, deps: DreamCliDeps): void {
  // `undo` and `status` are words of the one command, not commander subcommands: a subcommand would lose
  // `--project` to its parent (commander gives a parent's options precedence unless the whole program is positional).
  program
    .command("dream")
    .description("consolidate recent sessions into project memory (runs /dream headlessly through opencode serve)")
    .usage("[--dry-run] [focus...] | undo | status  [--project DIR] [--json]")
    .argument("[focus...]", "what to pay most attention to (optional); or `undo`, or `status`")
    .option("--dry-run", "compute the diff on a copy and write nothing")
    .addOption(projectOption())
    .addOption(jsonOption())
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 15)
    .addHelpText(
      "after",
      "\n`continuum dream undo` restores MEMORY.md byte for byte as it was before the last dream that wrote it;\n`continuum dream status` prints the last report.\nExit codes: 0 written, dry run, unchanged or nothing to do; 1 refused, failed, timed out or nothing to undo; 2 usage.",
    )
    .action(
      act((focus: string[], o: RunOptions) => {
        const verb = focus.length === 1 ? focus[0] : undefined;
        if (verb === "undo" || verb === "status") {
          if (o.dryRun) throw usageError(`--dry-run does not go with ${verb}`);
          return verb === "undo" ? undo(o.project, deps) : showStatus(DREAM, o);
        }
        return runHeadless(DREAM, focus, o);
      }),
    );
}

async function undo(project: string | undefined, deps: DreamCliDeps): Promise<number> {
  const eff = effectiveConfig(existingDir("--project", project));
  eff.warn();
  const memory = await deps.openMemory(eff);
  try {
    const dir = dreamDir(eff.paths.project(eff.project.id).root);
    const undone = await undoLastDream(dir, (file, bytes, sha) => memory.service.restoreFile(file, bytes, sha));
    (undone.ok ? console.log : console.error)(`continuum dream undo: ${undone.message}`);
    return undone.ok ? 0 : 1;
  } finally {
    memory.close();
  }
}
