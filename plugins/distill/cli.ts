// `continuum distill [--dry-run] [focus]` and `continuum distill status`: a distill run headless through
// `opencode serve` (cli/headless.ts), and its last report.
import type { Command } from "commander";
import { runHeadless, showStatus, type HeadlessKind, type RunOptions } from "../cli/headless.ts";
import { act, jsonOption, positiveNumber, projectOption, usageError } from "../cli/kit.ts";
import { distillDir, formatDistillRecord, readDistillRecord } from "./records.ts";

const DISTILL: HeadlessKind = {
  kind: "distill",
  read: (root, warn) => readDistillRecord(distillDir(root), warn),
  format: formatDistillRecord,
};

export function register(program: Command): void {
  program
    .command("distill")
    .description("turn workflows repeated across sessions into skills, commands or agents (runs /distill headlessly)")
    .usage("[--dry-run] [focus...] | status  [--project DIR] [--json]")
    .argument("[focus...]", "what to pay most attention to (optional); or `status`")
    .option("--dry-run", "list candidates and the assets it would write; write nothing")
    .addOption(projectOption())
    .addOption(jsonOption())
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 15)
    .addHelpText(
      "after",
      "\n`continuum distill status` prints the last report.\nExit codes: 0 done (assets written, dry run, or nothing new); 1 failed or timed out; 2 usage.",
    )
    .action(
      act((focus: string[], o: RunOptions) => {
        if (focus.length === 1 && focus[0] === "status") {
          if (o.dryRun) throw usageError("--dry-run does not go with status");
          return showStatus(DISTILL, o);
        }
        return runHeadless(DISTILL, focus, o);
      }),
    );
}
