// `continuum dream [--dry-run] [focus]`, `continuum dream undo`, `continuum dream status`, and the same for distill.
// A run is headless through `opencode serve` like `continuum run`: a carrier session sends the slash command, the
// plugin inside OpenCode does the work, and this waits for the run's record in the pack's data dir. The carrier
// session is deleted afterwards, so `opencode run -c` never lands in it.
import type { Command } from "commander";
import { redact } from "../core/redaction.ts";
import { openStore } from "../core/storage/store.ts";
import { memoryLocations } from "../memory/locations.ts";
import { MemoryService } from "../memory/memory-service.ts";
import { DREAM_NOT_STARTED, dreamDir, formatRecord, readRecord } from "../dream/records.ts";
import { undoLastDream } from "../dream/run.ts";
import { settledRecord } from "../core/helper-budget.ts";
import { distillDir, formatDistillRecord, readDistillRecord } from "../distill/records.ts";
import { effectiveConfig, featureState, type Effective } from "./config-view.ts";
import { act, emit, existingDir, jsonOption, positiveNumber, projectOption, usageError } from "./kit.ts";
import { findOpencode, lastAssistantText, startServe, stopOnSignals } from "./opencode-driver.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";

const OK_STATUSES = new Set(["written", "done", "dry-run", "unchanged", "empty", "nothing-new"]);

interface RunOptions {
  dryRun?: boolean;
  project?: string;
  json?: boolean;
  timeoutMin: number;
}

export function register(program: Command): void {
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
          return verb === "undo" ? undo(o.project) : status("dream", o);
        }
        return headless("dream", focus, o);
      }),
    );

  program
    .command("distill")
    .description("turn workflows repeated across sessions into skills, commands or agents (runs /distill headlessly)")
    .usage("[--dry-run] [focus...] | status  [--project DIR] [--json]")
    .argument("[focus...]", "what to pay most attention to (optional); or `status`")
    .option("--dry-run", "list candidates and the assets it would write; write nothing")
    .addOption(projectOption())
    .addOption(jsonOption())
    .option("--timeout-min <minutes>", "give up after this many minutes", positiveNumber, 15)
    .addHelpText("after", "\n`continuum distill status` prints the last report.\nExit codes: 0 done (assets written, dry run, or nothing new); 1 failed or timed out; 2 usage.")
    .action(
      act((focus: string[], o: RunOptions) => {
        if (focus.length === 1 && focus[0] === "status") {
          if (o.dryRun) throw usageError("--dry-run does not go with status");
          return status("distill", o);
        }
        return headless("distill", focus, o);
      }),
    );
}

type Kind = "dream" | "distill";

function recordOf(kind: Kind, eff: Effective, projectId = eff.project.id): { status: string; startedAt: string; finishedAt?: string } | undefined {
  const root = eff.paths.project(projectId).root;
  const warn = (message: string) => process.stderr.write(`warning: ${message}\n`);
  return settledRecord(kind === "dream" ? readRecord(dreamDir(root), warn) : readDistillRecord(distillDir(root), warn));
}

function format(kind: Kind, record: unknown): string {
  return kind === "dream" ? formatRecord(record as never) : formatDistillRecord(record as never);
}

function status(kind: Kind, o: { project?: string; json?: boolean }): number {
  const eff = effectiveConfig(existingDir("--project", o.project));
  eff.warn(o.json);
  const record = recordOf(kind, eff);
  emit(o.json, record ?? null, () => (record ? format(kind, record) : `No ${kind} has run in this project yet.`));
  return 0;
}

async function undo(project: string | undefined): Promise<number> {
  const eff = effectiveConfig(existingDir("--project", project));
  eff.warn();
  const { config, paths } = eff;
  const locations = memoryLocations(paths, eff.project.id, eff.project.root, config.memory.location);
  const { db } = await openStore(paths.database);
  try {
    const service = new MemoryService({
      db,
      locations,
      projectId: eff.project.id,
      sessionsDir: paths.project(eff.project.id).sessions,
      versionsKept: config.memory.versionsKept,
      sectionBudgetTokens: config.memory.sectionBudgetTokens,
      redact,
      repoMode: config.memory.location === "repo",
    });
    const undone = await undoLastDream(dreamDir(paths.project(eff.project.id).root), (file, bytes, sha) => service.restoreFile(file, bytes, sha));
    (undone.ok ? console.log : console.error)(`continuum dream undo: ${undone.message}`);
    return undone.ok ? 0 : 1;
  } finally {
    db.close();
  }
}

async function headless(kind: Kind, focus: string[], o: RunOptions): Promise<number> {
  const dir = existingDir("--project", o.project);
  const eff = effectiveConfig(dir);
  eff.warn(o.json);
  const state = featureState(eff, kind);
  if (!state.on) throw usageError(`${kind} is off here (${state.reason})`);
  const words = focus.join(" ").trim();
  if (words.startsWith("--")) throw usageError(`unknown option ${words.split(" ")[0]}`);
  const server = await startServe({ binary: findOpencode(), cwd: dir, env: process.env, outputLimit: 20000 });
  const started = new Date().toISOString();
  let sessionId: string | undefined;
  // Ctrl-C or a kill: OpenCode (and with it the run) is shut down, never left serving in the background.
  const unwatch = stopOnSignals(() => server.stop());
  try {
    const project = await server.client.project.current().catch(() => undefined);
    const projectId = resolveProjectIdentity(dir, (project?.data as { id?: string } | undefined)?.id).id;
    const created = await server.client.session.create({ body: { title: `continuum ${kind} (headless)` } });
    if (!created.data) throw new Error(`could not create a session: ${JSON.stringify(created.error)}`);
    sessionId = created.data.id;
    const args = [o.dryRun ? "--dry-run" : "", words].filter(Boolean).join(" ");
    const sent = await server.client.session.command({ path: { id: sessionId }, body: { command: kind, arguments: args } });
    if (sent.error) throw new Error(`OpenCode refused /${kind}: ${JSON.stringify(sent.error)}; is the pack installed for this project?`);
    // Another OpenCode's dream holds the lock: its record is not this run's, so say so instead of waiting for it.
    const reply = (await lastAssistantText(server, sessionId).catch(() => undefined)) ?? "";
    if (reply.includes(DREAM_NOT_STARTED)) {
      console.error(`continuum ${kind}: ${reply.replace(/^\[continuum \/\w+[^\]]*\] /, "")}`);
      return 1;
    }
    const deadline = Date.now() + o.timeoutMin * 60000;
    for (;;) {
      const record = recordOf(kind, eff, projectId);
      if (record && record.startedAt >= started && record.status !== "running") {
        emit(o.json, record, () => format(kind, record));
        return OK_STATUSES.has(record.status) ? 0 : 1;
      }
      if (server.exited()) throw new Error(`opencode serve exited unexpectedly:\n${server.output().slice(-2000)}`);
      if (Date.now() > deadline) {
        console.error(`continuum ${kind}: no result within ${o.timeoutMin} min; the run was stopped`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    unwatch();
    if (sessionId) await server.client.session.delete({ path: { id: sessionId } }).catch(() => undefined);
    await server.stop();
  }
}
