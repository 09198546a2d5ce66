// The text /compose sends, and where specs go (compose.specDir, kept inside the project).
import { isAbsolute, join, normalize, relative, resolve, sep } from "node:path";

export const DEFAULT_SPEC_DIR = "docs/compose";
const MAX_FEATURE_CHARS = 4000;

export type SpecDir =
  | { ok: true; dir: string; relative: string }
  | { ok: false; dir: string; relative: string; problem: string };

/** The spec folder inside the project; a path that leaves it (absolute, `..`) falls back to the default. */
export function resolveSpecDir(projectDir: string, configured: string): SpecDir {
  const fallback = { dir: join(projectDir, DEFAULT_SPEC_DIR), relative: DEFAULT_SPEC_DIR };
  const trimmed = configured.trim();
  if (!trimmed || /[\u0000-\u001f]/.test(trimmed))
    return { ok: false, ...fallback, problem: "is empty or holds control characters" };
  if (isAbsolute(trimmed))
    return {
      ok: false,
      ...fallback,
      problem: `"${trimmed.slice(0, 80)}" is absolute; it must be relative to the project`,
    };
  const dir = resolve(projectDir, trimmed);
  const rel = relative(projectDir, dir);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
    return { ok: false, ...fallback, problem: `"${trimmed.slice(0, 80)}" leaves the project` };
  return { ok: true, dir, relative: normalize(rel).split(sep).join("/") };
}

export function composePrompt(feature: string, specDir: string, reviewRounds = 2): string {
  const request = feature.length > MAX_FEATURE_CHARS ? `${feature.slice(0, MAX_FEATURE_CHARS)}…` : feature;
  return [
    "Build this with the compose flow (spec-driven development):",
    "",
    request,
    "",
    `Follow the compose-* skills in order, loading each with the skill tool when you reach it: compose-brainstorm, compose-spec (write the spec to ${specDir}/<feature>.md), compose-plan (tasks in the \`tasks\` tree), compose-tdd for each task (compose-parallel and compose-worktree for independent tasks, compose-debug when something fails), compose-review (at most ${reviewRounds} rework round${reviewRounds === 1 ? "" : "s"}, then report what is left), compose-verify, compose-merge if worktrees were used, compose-report.`,
    "Ask me only for decisions that are truly mine; otherwise decide, say so, and go on. Keep changes minimal. Do not say it is done before the project's checks ran after your last change.",
  ].join("\n");
}
