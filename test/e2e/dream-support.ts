// Shared pieces of the dream and distill end-to-end tests: fixture sessions written into the pack's data dir the
// way the pack stores them (session folders with notes.md and checkpoint.md; history_parts rows in continuum.db),
// scripted lanes for the two hidden agents, and reads of the runs' records.
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IsolatedEnv } from "../harness/env.ts";
import type { Lane, RecordedRequest, ScriptedReply } from "../harness/scripted-model.ts";
import { packPaths } from "../../plugins/core/paths.ts";
import { resolveProjectIdentity } from "../../plugins/core/project-id.ts";
import { openStore } from "../../plugins/core/storage/store.ts";
import { migrateMemory } from "../../plugins/memory/index-store.ts";
import { upsertParts, type HistoryPart } from "../../plugins/memory/history-store.ts";
import { sleep } from "../harness/session.ts";
import { readJsonFile } from "../harness/cli.ts";

export function projectData(env: IsolatedEnv) {
  const id = resolveProjectIdentity(env.projectDir).id;
  const project = packPaths(env.packDataDir).project(id);
  return {
    id,
    ...project,
    memoryFile: join(project.memory, "MEMORY.md"),
    dreamDir: join(project.root, "dream"),
    distillDir: join(project.root, "distill"),
  };
}

/** A past session's folder as the checkpoint writer and the memory tool leave it. */
export function writeFixtureSession(
  env: IsolatedEnv,
  sessionId: string,
  files: { notes?: string; checkpoint?: string },
  at = Date.now() - 86_400_000,
): void {
  const dir = projectData(env).session(sessionId);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries({ "notes.md": files.notes, "checkpoint.md": files.checkpoint })) {
    if (text === undefined) continue;
    writeFileSync(join(dir, name), text);
    utimesSync(join(dir, name), new Date(at), new Date(at));
  }
}

/** History rows as the history recorder stores them (`tool <name> <json args>` + output; user text parts). */
export async function writeFixtureHistory(env: IsolatedEnv, parts: Omit<HistoryPart, "projectId">[]): Promise<void> {
  const { db } = await openStore(join(env.packDataDir, "continuum.db"));
  try {
    migrateMemory(db);
    upsertParts(
      db,
      parts.map((p) => ({ ...p, projectId: projectData(env).id })),
    );
  } finally {
    db.close();
  }
}

/** Waits for the last run's record to be finished (status other than running) and newer than `after`. */
export async function waitForRecord<T extends { status: string; startedAt: string }>(
  file: string,
  after: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = readJsonFile<T>(file);
    if (record && record.status !== "running" && record.startedAt >= after) return record;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${file}; now: ${JSON.stringify(record)?.slice(0, 500)}`,
      );
    await sleep(100);
  }
}

export const isDreamRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You curate a project's long-term memory"));
export const isDistillRequest = (r: Pick<RecordedRequest, "system">) =>
  r.system.some((s) => s.includes("You turn work a user keeps repeating into a reusable asset"));

/** A lane whose reply depends on how many assistant messages the child session has had (one script per run). */
export function stepLane(
  name: string,
  match: Lane["match"],
  script: ScriptedReply[],
  after: ScriptedReply = { text: "done" },
): Lane {
  return {
    name,
    match,
    replies: (request) => {
      const step = request.body.messages.filter((m) => m.role === "assistant").length;
      return script[step] ?? after;
    },
  };
}

export const call = (name: string, args: Record<string, unknown>): ScriptedReply => ({ toolCalls: [{ name, args }] });
