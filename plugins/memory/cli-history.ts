// `continuum history reindex`: reads every session OpenCode stores for a project into the pack's history index now,
// as the plugin does in the background at start. OpenCode's sessions are only reachable through OpenCode, so this
// starts `opencode serve` in the project for the duration, reads through its API, and stops it.
import type { Command } from "commander";
import { redact } from "../core/redaction.ts";
import { isPackText } from "../core/pack-text.ts";
import { openStore } from "../core/storage/store.ts";
import { backfillHistory } from "./history-backfill.ts";
import { migrateMemory } from "./index-store.ts";
import { effectiveConfig } from "../cli/config-view.ts";
import { act, emit, existingDir, jsonOption, projectOption } from "../cli/kit.ts";
import { serveHost } from "../cli/served-host.ts";

async function reindex(options: { project?: string; json?: boolean }): Promise<number> {
  const dir = existingDir("--project", options.project);
  const eff = effectiveConfig(dir);
  eff.warn(options.json);
  const { config, paths, project } = eff;
  const { db } = await openStore(paths.database);
  const server = await serveHost(dir);
  try {
    migrateMemory(db);
    const result = await backfillHistory({
      db,
      host: server.host,
      projectId: project.id,
      retentionDays: config.memory.historyRetentionDays,
      redact,
      isOwnText: isPackText,
      force: true,
      onProgress: (done, total) => {
        if (!options.json && (done === total || done % 25 === 0)) console.error(`indexed ${done} of ${total} sessions`);
      },
    });
    emit(
      options.json,
      result,
      () =>
        `${result.sessions} sessions read, ${result.parts} parts in the history index (last ${config.memory.historyRetentionDays} days, main sessions).`,
    );
    return 0;
  } finally {
    await server.stop();
    db.close();
  }
}

export function register(program: Command): void {
  const history = program.command("history").description("the pack's history index of past conversations");
  history
    .command("reindex")
    .description(
      "read every session OpenCode stores for the project (within the retention window) into the history index now",
    )
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(act((o: { project?: string; json?: boolean }) => reindex(o)));
}
