// `continuum checkpoint …`: a project's checkpoints and task trees outside OpenCode (list, show <session>).
import type { Command } from "commander";
import { openStore } from "../core/storage/store.ts";
import { openCheckpointStore, type SessionState } from "./store.ts";
import { age } from "./report.ts";
import type { Database } from "../core/storage/database.ts";
import { effectiveConfig, featureState } from "../cli/config-view.ts";
import { act, emit, existingDir, jsonOption, notFound, projectOption } from "../cli/kit.ts";
import { hasCheckpointState, sessionKnown, sessionsOfProject } from "../cli/session-index.ts";

type Options = { project?: string; json?: boolean };

/** What `checkpoint list/show` reads of other features: handed over by the CLI's entry (cli/main.ts). */
export interface CheckpointCliDeps {
  /** The task tree's read-only view (rows of any shape the same view renders). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the rows pass from list() to ledger() untouched
  openTaskView(db: Database): { list(sessionId: string): any[]; ledger(tasks: readonly any[]): string };
  /** Creates the goal tables, so the read-only queries find them in a project that never used /goal. */
  openGoalTables(db: Database): void;
}

async function open(options: Options, deps: CheckpointCliDeps) {
  const eff = effectiveConfig(existingDir("--project", options.project));
  eff.warn(options.json);
  const { db } = await openStore(eff.paths.database);
  // Opening the stores migrates their tables, so the read-only queries below always find them.
  deps.openGoalTables(db);
  return { eff, db, checkpoints: openCheckpointStore(db), tasks: deps.openTaskView(db) };
}

const EMPTY_STATE = {
  rebuilds: 0,
  writerRuns: 0,
  writerFailures: 0,
  writerInputTokens: 0,
  writerOutputTokens: 0,
  lastFailure: null,
};

function stateJson(state: Pick<SessionState, keyof typeof EMPTY_STATE>) {
  return {
    rebuilds: state.rebuilds,
    writerRuns: state.writerRuns,
    writerFailures: state.writerFailures,
    writerTokens: { input: state.writerInputTokens, output: state.writerOutputTokens },
    lastFailure: state.lastFailure,
  };
}

export function register(program: Command, deps: CheckpointCliDeps): void {
  const checkpoint = program
    .command("checkpoint")
    .description("a project's checkpoints, rebuilds and task trees outside OpenCode");

  checkpoint
    .command("list")
    .description("the sessions of a project the pack knows: checkpoints, rebuilds, writer runs and tokens, tasks")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (o: Options) => {
        const { eff, db, checkpoints, tasks } = await open(o, deps);
        try {
          const now = new Date();
          const written = new Map(checkpoints.sessionsOfProject(eff.project.id).map((s) => [s.sessionId, s]));
          const sessions = sessionsOfProject(db, eff.project.id, eff.paths.project(eff.project.id)).map((id) => {
            const state = hasCheckpointState(db, id) ? checkpoints.state(id) : EMPTY_STATE;
            const cp = written.get(id);
            return {
              session: id,
              checkpoints: cp?.checkpoints ?? 0,
              lastWrittenAt: cp?.lastWrittenAt ?? null,
              ...stateJson(state),
              tasks: tasks.list(id).length,
            };
          });
          sessions.sort(
            (a, b) =>
              (b.lastWrittenAt ?? "").localeCompare(a.lastWrittenAt ?? "") || a.session.localeCompare(b.session),
          );
          const state = featureState(eff, "checkpoint");
          emit(
            o.json,
            { project: { id: eff.project.id, root: eff.project.root }, checkpointsEnabled: state.on, sessions },
            () => {
              const lines = state.on ? [] : [`note: checkpoints are off here (${state.reason})`];
              if (sessions.length === 0)
                return [...lines, `no sessions with checkpoints, rebuilds or tasks yet for ${eff.project.root}`];
              for (const s of sessions) {
                const last = s.lastWrittenAt ? `, last ${age(s.lastWrittenAt, now)}` : "";
                lines.push(
                  `${s.session}  ${s.checkpoints} checkpoint(s)${last} · rebuilds ${s.rebuilds} · writer runs ${s.writerRuns}, failures ${s.writerFailures}, tokens ${s.writerTokens.input} in / ${s.writerTokens.output} out · tasks ${s.tasks}`,
                );
              }
              return lines;
            },
          );
          return 0;
        } finally {
          db.close();
        }
      }),
    );

  checkpoint
    .command("show")
    .description("one session's task tree and latest checkpoint")
    .argument("<session>", "a session id, as shown by continuum checkpoint list")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (session: string, o: Options) => {
        const { db, checkpoints, tasks } = await open(o, deps);
        try {
          if (!sessionKnown(db, session))
            throw notFound(
              `no session "${session}" is known to the pack (continuum checkpoint list shows the sessions)`,
            );
          const state = hasCheckpointState(db, session) ? checkpoints.state(session) : EMPTY_STATE;
          const latest = checkpoints.latest(session);
          const list = tasks.list(session);
          const data = {
            session,
            ...stateJson(state),
            tasks: list.map((t) => ({ id: t.id, parentId: t.parentId ?? null, title: t.title, status: t.status })),
            checkpoint: latest ? { seq: latest.seq, writtenAt: latest.writtenAt, markdown: latest.markdown } : null,
          };
          emit(o.json, data, () => [
            `session ${session} · rebuilds ${state.rebuilds} · writer runs ${state.writerRuns}, failures ${state.writerFailures}${state.lastFailure ? ` (last: ${state.lastFailure})` : ""}`,
            `\n## Task tree\n${tasks.ledger(list)}\n`,
            latest ? latest.markdown : "(no checkpoint stored for this session)",
          ]);
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
