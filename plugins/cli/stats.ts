// `continuum stats` and `continuum agents`: what the pack spent (per feature, next to the worker's own tokens) and
// its hidden helper runs, read from the ledger outside OpenCode. `agents cancel` asks the OpenCode process that
// runs a helper to stop it (it looks at the request on its next model event).
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { openLedger } from "../core/ledger.ts";
import { processAlive } from "../core/process-alive.ts";
import { formatRuns, formatStats } from "../core/spend-report.ts";
import { openStore } from "../core/storage/store.ts";
import { effectiveConfig } from "./config-view.ts";
import { act, emit, existingDir, intInRange, jsonOption, notFound, projectOption } from "./kit.ts";

type Options = { project?: string; json?: boolean; session?: string; all?: boolean };

async function open(options: Options) {
  const eff = effectiveConfig(existingDir("--project", options.project));
  eff.warn(options.json);
  if (!existsSync(eff.paths.database)) return { eff, ledger: undefined, close: () => undefined };
  const { db } = await openStore(eff.paths.database);
  const ledger = openLedger(db);
  // Runs whose OpenCode is gone say so (abandoned) instead of showing as running forever.
  ledger.closeOrphans(processAlive);
  return { eff, ledger, close: () => db.close() };
}

const EMPTY = {
  worker: { calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 },
  features: {},
  subagents: { runs: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0 },
  overheadRatio: 0,
};

export function register(program: Command): void {
  program
    .command("stats")
    .description("what the pack spent, per feature, next to your agent's own tokens (the overhead ratio)")
    .option("--session <id>", "only this session")
    .option("--all", "every project, not only this one")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (o: Options) => {
        const { eff, ledger, close } = await open(o);
        try {
          const filter = {
            ...(o.all ? {} : { projectId: eff.project.id }),
            ...(o.session ? { sessionId: o.session } : {}),
          };
          const stats = ledger?.stats(filter) ?? EMPTY;
          if (
            o.session &&
            stats.worker.calls === 0 &&
            stats.subagents.runs === 0 &&
            Object.keys(stats.features).length === 0
          )
            throw notFound(`nothing recorded for session "${o.session}"`);
          const scope = o.session ? `session ${o.session}` : o.all ? "every project" : eff.project.root;
          emit(o.json, stats, () => formatStats(stats, scope));
          return 0;
        } finally {
          close();
        }
      }),
    );

  const agents = program
    .command("agents")
    .description("the pack's hidden helper runs (writers, judges, …): running and recent");
  agents
    .command("list", { isDefault: true })
    .description("running and recent helper runs, newest first")
    .option("--session <id>", "only the runs working for this session")
    .option("--limit <n>", "how many (default 30)", intInRange(1, 10000))
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (o: Options & { limit?: number }) => {
        const { eff, ledger, close } = await open(o);
        try {
          const runs =
            ledger?.runs({
              projectId: eff.project.id,
              ...(o.session ? { sessionId: o.session } : {}),
              limit: o.limit ?? 30,
            }) ?? [];
          emit(o.json, { runs }, () => formatRuns(runs));
          return 0;
        } finally {
          close();
        }
      }),
    );
  agents
    .command("cancel")
    .description("stop a running helper (its OpenCode process stops it at its next model event)")
    .argument("<run>", "a run id from continuum agents")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (runId: string, o: Options) => {
        const { ledger, close } = await open(o);
        try {
          if (!ledger?.requestCancel(runId))
            throw notFound(`no running helper "${runId}" (continuum agents lists them)`);
          emit(
            o.json,
            { runId, cancelRequested: true },
            () => `asked the OpenCode process running ${runId} to stop it`,
          );
          return 0;
        } finally {
          close();
        }
      }),
    );
}
