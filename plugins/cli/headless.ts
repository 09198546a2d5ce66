// What `continuum dream` and `continuum distill` share: a run headless through `opencode serve` (a carrier session
// sends the slash command, the plugin inside OpenCode does the work, this waits for the run's record in the pack's
// data dir; the carrier session is deleted afterwards, so `opencode run -c` never lands in it) and `status`.
import { settledRecord } from "../core/helper-budget.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { effectiveConfig, featureState, type Effective } from "./config-view.ts";
import { emit, existingDir, usageError } from "./kit.ts";
import { findOpencode, lastAssistantText, startServe, stopOnSignals } from "./opencode-driver.ts";

const OK_STATUSES = new Set(["written", "done", "dry-run", "unchanged", "empty", "nothing-new"]);

export interface RunOptions {
  dryRun?: boolean;
  project?: string;
  json?: boolean;
  timeoutMin: number;
}

/** One kind of headless run: where its record is and how it reads. */
export interface HeadlessKind {
  kind: "dream" | "distill";
  /** The run's record in the project's data folder (`warn` for one that does not parse). */
  read(
    projectRoot: string,
    warn: (message: string) => void,
  ): { status: string; startedAt: string; pid?: number; message: string } | undefined;
  format(record: never): string;
  /** A reply saying another process's run holds the lock, so this one never started. */
  notStarted?: string;
}

function recordOf(k: HeadlessKind, eff: Effective, projectId = eff.project.id) {
  const root = eff.paths.project(projectId).root;
  const warn = (message: string) => process.stderr.write(`warning: ${message}\n`);
  return settledRecord(k.read(root, warn));
}

export function showStatus(k: HeadlessKind, o: { project?: string; json?: boolean }): number {
  const eff = effectiveConfig(existingDir("--project", o.project));
  eff.warn(o.json);
  const record = recordOf(k, eff);
  emit(o.json, record ?? null, () =>
    record ? k.format(record as never) : `No ${k.kind} has run in this project yet.`,
  );
  return 0;
}

export async function runHeadless(k: HeadlessKind, focus: string[], o: RunOptions): Promise<number> {
  const { kind } = k;
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
    const sent = await server.client.session.command({
      path: { id: sessionId },
      body: { command: kind, arguments: args },
    });
    if (sent.error)
      throw new Error(
        `OpenCode refused /${kind}: ${JSON.stringify(sent.error)}; is the pack installed for this project?`,
      );
    // Another OpenCode's run holds the lock: its record is not this run's, so say so instead of waiting for it.
    const reply = (await lastAssistantText(server, sessionId).catch(() => undefined)) ?? "";
    if (k.notStarted && reply.includes(k.notStarted)) {
      console.error(`continuum ${kind}: ${reply.replace(/^\[continuum \/\w+[^\]]*\] /, "")}`);
      return 1;
    }
    const deadline = Date.now() + o.timeoutMin * 60000;
    for (;;) {
      const record = recordOf(k, eff, projectId);
      if (record && record.startedAt >= started && record.status !== "running") {
        emit(o.json, record, () => k.format(record as never));
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
