// `continuum goal list|show`: a project's goals outside OpenCode, with status and every judge verdict (reason,
// missing items, tokens the judge spent).
import type { Command } from "commander";
import { openStore } from "../core/storage/store.ts";
import type { Database } from "../core/storage/database.ts";
import { formatTokens } from "./format.ts";
import { openGoalStore, type VerdictRecord } from "./store.ts";
import { effectiveConfig, featureState } from "../cli/config-view.ts";
import { act, emit, existingDir, jsonOption, notFound, projectOption } from "../cli/kit.ts";
import { goalById, goalsOf, type GoalRow } from "../cli/session-index.ts";

type Options = { project?: string; json?: boolean };

/** Opens (and so migrates) the goal tables, for another command that reads them (`continuum checkpoint`). */
export function openGoalTables(db: Database): void {
  openGoalStore(db);
}

async function open(options: Options) {
  const eff = effectiveConfig(existingDir("--project", options.project));
  eff.warn(options.json);
  const { db } = await openStore(eff.paths.database);
  return { eff, db, goals: openGoalStore(db) };
}

function spent(verdicts: VerdictRecord[]) {
  return verdicts.reduce(
    (sum, v) => ({
      input: sum.input + v.tokens.input,
      output: sum.output + v.tokens.output,
      total: sum.total + v.tokens.total,
    }),
    { input: 0, output: 0, total: 0 },
  );
}

function goalLine(goal: GoalRow, verdicts: VerdictRecord[]): string {
  const condition = goal.condition.length > 80 ? `${goal.condition.slice(0, 80)}…` : goal.condition;
  return `#${goal.id}  ${goal.status.padEnd(10)} ${goal.sessionId}  ${goal.updatedAt.slice(0, 16).replace("T", " ")}  ${goal.continuations} continuation(s), ${verdicts.length} verdict(s), judge ${formatTokens(spent(verdicts))}\n      ${condition}`;
}

export function register(program: Command): void {
  const goal = program
    .command("goal")
    .description("goals set with /goal or continuum run: status and every judge verdict");

  goal
    .command("list")
    .description("the goals of a project (or one session), newest first")
    .option("--session <id>", "only this session's goals")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (o: Options & { session?: string }) => {
        const { eff, db, goals } = await open(o);
        try {
          const rows = goalsOf(db, { projectId: eff.project.id }).filter(
            (g) => !o.session || g.sessionId === o.session,
          );
          if (o.session && rows.length === 0 && goalsOf(db, { sessionId: o.session }).length === 0)
            throw notFound(`no goals for session "${o.session}"`);
          const listed = rows.map((g) => ({ goal: g, verdicts: goals.verdicts(g.id) }));
          const state = featureState(eff, "goal");
          const data = {
            project: { id: eff.project.id, root: eff.project.root },
            goalEnabled: state.on,
            goals: listed.map(({ goal: g, verdicts }) => ({
              ...g,
              verdicts: verdicts.length,
              judgeTokens: spent(verdicts),
            })),
          };
          emit(o.json, data, () => {
            const lines = state.on ? [] : [`note: goals are off here (${state.reason})`];
            if (listed.length === 0) return [...lines, `no goals yet for ${eff.project.root}`];
            return [...lines, ...listed.map(({ goal: g, verdicts }) => goalLine(g, verdicts))];
          });
          return 0;
        } finally {
          db.close();
        }
      }),
    );

  goal
    .command("show")
    .description("one goal: condition, status, and every verdict with its reason and tokens")
    .argument("<goal>", "a goal number (#12 or 12) or a session id (its latest goal)")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(async (ref: string, o: Options) => {
        const { db, goals } = await open(o);
        try {
          const numeric = /^#?\d+$/.test(ref.trim());
          const found = numeric
            ? goalById(db, Number(ref.trim().replace("#", "")))
            : goalsOf(db, { sessionId: ref })[0];
          if (!found)
            throw notFound(
              numeric
                ? `no goal #${ref.replace("#", "")} (continuum goal list shows the goals)`
                : `no goal for session "${ref}" (continuum goal list shows the goals)`,
            );
          const verdicts = goals.verdicts(found.id);
          const data = { ...found, judgeTokens: spent(verdicts), verdicts };
          emit(o.json, data, () => [
            `goal #${found.id} in session ${found.sessionId}: ${found.status}`,
            `condition: ${found.condition}`,
            `set ${found.createdAt}, updated ${found.updatedAt}; ${found.continuations} continuation(s), ${found.rounds} judge round(s)`,
            ...(found.note ? [`note: ${found.note}`] : []),
            "",
            verdicts.length ? `verdicts (judge total ${formatTokens(spent(verdicts))}):` : "no verdicts yet",
            ...verdicts.map((v, i) => {
              const missing = v.missing.length ? `\n     missing: ${v.missing.join("; ")}` : "";
              return `  ${i + 1}. ${v.at} ${v.outcome}: ${v.reason} [${formatTokens(v.tokens)}]${missing}`;
            }),
          ]);
          return 0;
        } finally {
          db.close();
        }
      }),
    );
}
