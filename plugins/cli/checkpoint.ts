// `continuum checkpoint …`: a project's checkpoints and task trees outside OpenCode (list, show <session>).
import { resolve } from "node:path";
import type { Subcommand } from "./main.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { openStore } from "../core/storage/store.ts";
import { openCheckpointStore } from "../checkpoint/store.ts";
import { age } from "../checkpoint/report.ts";
import { renderTaskLedger } from "../tasks/render.ts";
import { openTaskStore } from "../tasks/store.ts";

const USAGE = "continuum checkpoint [list | show <session-id>] [--project DIR]";

function parse(args: string[]): { action: string; session?: string; project: string } {
  let project = process.cwd();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--project") project = args[++i] ?? project;
    else if (args[i]!.startsWith("--project=")) project = args[i]!.slice("--project=".length);
    else words.push(args[i]!);
  }
  return { action: words[0] ?? "list", session: words[1], project: resolve(project) };
}

export const checkpointCommand: Subcommand = {
  summary: "Lists the sessions of a project that have checkpoints (with rebuilds, writer runs, failures and tokens), or shows one session's latest checkpoint and task tree.",
  usage: USAGE,
  async run(args) {
    const { action, session, project: dir } = parse(args);
    if (action !== "list" && action !== "show") {
      console.error(`usage: ${USAGE}`);
      return 2;
    }
    if (action === "show" && !session) {
      console.error("continuum checkpoint show needs a session id (see continuum checkpoint list)");
      return 2;
    }
    const paths = packPaths(dataRoot());
    const project = resolveProjectIdentity(dir);
    const { db } = await openStore(paths.database);
    try {
      const store = openCheckpointStore(db);
      const tasks = openTaskStore(db);
      const now = new Date();
      if (action === "list") {
        const sessions = store.sessionsOfProject(project.id);
        if (sessions.length === 0) {
          console.log(`no checkpoints yet for ${project.root}`);
          return 0;
        }
        for (const s of sessions) {
          const state = store.state(s.sessionId);
          console.log(
            `${s.sessionId}  ${s.checkpoints} checkpoint(s), last ${age(s.lastWrittenAt, now)} · rebuilds ${state.rebuilds} · writer runs ${state.writerRuns}, failures ${state.writerFailures}, tokens ${state.writerInputTokens} in / ${state.writerOutputTokens} out · tasks ${tasks.list(s.sessionId).length}`,
          );
        }
        return 0;
      }
      const latest = store.latest(session!);
      const state = store.state(session!);
      console.log(`session ${session} · rebuilds ${state.rebuilds} · writer runs ${state.writerRuns}, failures ${state.writerFailures}${state.lastFailure ? ` (last: ${state.lastFailure})` : ""}`);
      console.log(`\n## Task tree\n${renderTaskLedger(tasks.list(session!))}\n`);
      console.log(latest ? latest.markdown : "(no checkpoint stored for this session)");
      return 0;
    } finally {
      db.close();
    }
  },
};
