// The pack's skills reach OpenCode through `skills.paths`, set by the plugin's config hook, one folder per skill,
// and only for a name the user has no skill of. OpenCode 1.18.33 keeps one skill per name and, between two files of
// the same name, keeps whichever it finished parsing last (they are parsed concurrently): a pack skill linked into a
// config dir beside a project's own file of that name won at random (observed, 3 of 6 starts). Never offering the
// pack's copy when the user has one makes theirs win every time, wherever it lives.
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { PACK_ROOT } from "./assets.ts";
import { globalConfigDir } from "./paths.ts";

/** The pack's skills: folders of skills/ that hold a SKILL.md. */
export function packSkillNames(root = PACK_ROOT): string[] {
  const dir = join(root, "skills");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, "SKILL.md")))
    .sort();
}

export interface SkillPlaces {
  directory: string;
  /** The project's root (git worktree); OpenCode looks in every folder from `directory` up to it. */
  worktree?: string;
  env?: Record<string, string | undefined>;
}

const switchedOn = (flag: string | undefined) => flag === "1" || flag?.toLowerCase() === "true";

/** Every folder where OpenCode finds a skill of this name. */
function candidates(name: string, places: SkillPlaces): string[] {
  const env = places.env ?? process.env;
  const home = env.HOME || homedir();
  const inConfigDir = (dir: string) => [join(dir, "skill", name), join(dir, "skills", name)];
  // OpenCode's switches for skills outside its config dirs: a file it does not read is no override.
  const claude =
    switchedOn(env.OPENCODE_DISABLE_CLAUDE_CODE_SKILLS) || switchedOn(env.OPENCODE_DISABLE_CLAUDE_CODE)
      ? []
      : [".claude"];
  const externalDirs = switchedOn(env.OPENCODE_DISABLE_EXTERNAL_SKILLS) ? [] : [...claude, ".agents"];
  const external = (dir: string) => externalDirs.map((d) => join(dir, d, "skills", name));
  const list = [...external(home), ...inConfigDir(globalConfigDir(env)), ...inConfigDir(join(home, ".opencode"))];
  for (const dir of projectDirs(places)) list.push(...external(dir), ...inConfigDir(join(dir, ".opencode")));
  if (env.OPENCODE_CONFIG_DIR) list.push(...inConfigDir(env.OPENCODE_CONFIG_DIR));
  return list;
}

/** From the project's root down to the working directory. */
function projectDirs({ directory, worktree }: SkillPlaces): string[] {
  const start = resolve(directory);
  const stop = worktree && worktree !== "/" ? resolve(worktree) : start;
  if (relative(stop, start).startsWith("..")) return [start];
  const dirs = [start];
  for (let dir = start; dir !== stop && dirname(dir) !== dir; ) {
    dir = dirname(dir);
    dirs.push(dir);
  }
  return dirs.reverse();
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** The user's own folder for a skill of this pack skill's name, if any (a link to the pack's folder is not theirs). */
export function userSkillOverride(
  name: string,
  places: SkillPlaces,
  userPaths: readonly string[] = [],
  root = PACK_ROOT,
): string | undefined {
  const ours = real(join(root, "skills", name));
  const home = (places.env ?? process.env).HOME || homedir();
  const inPaths = userPaths.flatMap((path) => {
    const dir = resolve(places.directory, path.startsWith("~/") ? join(home, path.slice(2)) : path);
    return [join(dir, name), ...(basename(dir) === name ? [dir] : [])];
  });
  for (const dir of [...candidates(name, places), ...inPaths]) {
    if (!existsSync(join(dir, "SKILL.md"))) continue;
    const resolved = real(dir);
    if (resolved && resolved !== ours) return dir;
  }
  return undefined;
}

export interface SkillRegistration {
  registered: string[];
  /** Pack skills left out because the user has their own: name and where. */
  overridden: { name: string; by: string }[];
}

/** Adds each wanted pack skill's folder to `skills.paths`, unless the user has a skill of that name (theirs wins). */
export function registerPackSkills(
  cfg: { skills?: { paths?: unknown } & Record<string, unknown> },
  places: SkillPlaces,
  wanted: (name: string) => boolean = () => true,
  root = PACK_ROOT,
): SkillRegistration {
  const result: SkillRegistration = { registered: [], overridden: [] };
  const current = cfg.skills?.paths;
  const userPaths = Array.isArray(current) ? current.filter((p): p is string => typeof p === "string") : [];
  const add: string[] = [];
  for (const name of packSkillNames(root)) {
    if (!wanted(name)) continue;
    const by = userSkillOverride(name, places, userPaths, root);
    if (by) result.overridden.push({ name, by });
    else {
      add.push(join(root, "skills", name));
      result.registered.push(name);
    }
  }
  if (add.length === 0) return result;
  cfg.skills ??= {};
  cfg.skills.paths = [...(Array.isArray(current) ? current : []), ...add];
  return result;
}

type Rules = Record<string, unknown>;
interface PermissionShape {
  permission?: unknown;
  agent?: Record<string, { permission?: unknown } | undefined>;
}

function withSkillRules(permission: unknown, names: readonly string[], action: "allow" | "deny"): Rules {
  // A blanket string becomes the equivalent wildcard rule, so rules for single skills can follow it.
  const rules: Rules =
    typeof permission === "string"
      ? { "*": permission }
      : typeof permission === "object" && permission !== null
        ? (permission as Rules)
        : {};
  const current = rules.skill;
  const skill: Rules =
    typeof current === "string"
      ? { "*": current }
      : typeof current === "object" && current !== null
        ? (current as Rules)
        : {};
  for (const name of names) if (skill[name] === undefined) skill[name] = action;
  rules.skill = skill;
  return rules;
}

/**
 * A feature's skills are listed (name, description, path) in the system prompt of every agent that may load them, so
 * every request of every agent would pay for them. They are kept to the feature's own agents: denied in the global
 * permission block, allowed for those agents. Fill-only: a rule the user wrote for one of these skills wins.
 */
export function keepSkillsToAgents(cfg: PermissionShape, skills: readonly string[], agents: readonly string[]): void {
  if (skills.length === 0 || agents.length === 0) return;
  cfg.permission = withSkillRules(cfg.permission, skills, "deny");
  cfg.agent ??= {};
  for (const agent of agents) {
    const owner = (cfg.agent[agent] ??= {});
    owner.permission = withSkillRules(owner.permission, skills, "allow");
  }
}
