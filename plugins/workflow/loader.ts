// Where workflows come from: the pack's built-ins, the global config dir's workflows/*.js and the project's
// .opencode/workflows/*.js. The same name overrides in that order (project over global over built-in).
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve, sep } from "node:path";
import { PACK_ROOT } from "../core/assets.ts";
import { globalConfigDir } from "../core/paths.ts";
import { MAX_SCRIPT_BYTES, parseScript, type ParsedScript } from "./script.ts";

export type WorkflowOrigin = "built-in" | "global" | "project" | "file";

export interface WorkflowSource {
  name: string;
  origin: WorkflowOrigin;
  path: string;
}

export interface LoadedWorkflow extends WorkflowSource, ParsedScript {}

export interface WorkflowLoader {
  list(): (WorkflowSource & { description?: string; problem?: string })[];
  /** A name (looked up in the three places) or a .js path inside the project; throws with a clear message. */
  load(nameOrFile: string): LoadedWorkflow;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function workflowDirs(
  projectDir: string,
  env: Record<string, string | undefined> = process.env,
  packRoot = PACK_ROOT,
) {
  return [
    { origin: "built-in" as const, dir: join(packRoot, "workflows") },
    { origin: "global" as const, dir: join(globalConfigDir(env), "workflows") },
    { origin: "project" as const, dir: join(projectDir, ".opencode", "workflows") },
  ];
}

export function createLoader(projectDir: string, dirs = workflowDirs(projectDir)): WorkflowLoader {
  const sources = (): Map<string, WorkflowSource> => {
    const byName = new Map<string, WorkflowSource>();
    for (const { origin, dir } of dirs) {
      if (!existsSync(dir)) continue;
      for (const file of readdirSync(dir).sort()) {
        if (!file.endsWith(".js")) continue;
        const name = file.slice(0, -3);
        if (NAME.test(name)) byName.set(name, { name, origin, path: join(dir, file) });
      }
    }
    return byName;
  };

  const read = (source: WorkflowSource): LoadedWorkflow => {
    const size = statSync(source.path).size;
    if (size > MAX_SCRIPT_BYTES) throw new Error(`${source.path} is larger than ${MAX_SCRIPT_BYTES} bytes`);
    return { ...source, ...parseScript(readFileSync(source.path, "utf8"), basename(source.path)) };
  };

  return {
    list() {
      return [...sources().values()].map((source) => {
        try {
          return { ...source, description: read(source).meta.description };
        } catch (error) {
          return { ...source, problem: (error as Error).message };
        }
      });
    },
    load(nameOrFile) {
      if (typeof nameOrFile !== "string" || !nameOrFile.trim())
        throw new Error("no workflow named: give a workflow name or a .js file");
      const wanted = nameOrFile.trim();
      if (wanted.endsWith(".js") || wanted.includes("/") || wanted.includes(sep))
        return read(projectFile(projectDir, wanted));
      if (!NAME.test(wanted))
        throw new Error(`${JSON.stringify(wanted)} is not a workflow name (letters, digits, . _ -)`);
      const found = sources().get(wanted);
      if (!found) {
        const known = [...sources().keys()];
        throw new Error(
          `unknown workflow ${JSON.stringify(wanted)}; known: ${known.length ? known.join(", ") : "none"} (add .opencode/workflows/${wanted}.js)`,
        );
      }
      return read(found);
    },
  };
}

/** A script file given by path: inside the project by its real path. */
function projectFile(projectDir: string, file: string): WorkflowSource {
  const path = isAbsolute(file) ? file : resolve(projectDir, file);
  if (!existsSync(path)) throw new Error(`no workflow file ${file}`);
  const real = realpathSync(path);
  const root = realpathSync(projectDir);
  if (!real.startsWith(root + sep)) throw new Error(`workflow file ${file} is outside the project`);
  return { name: basename(real).replace(/\.js$/, ""), origin: "file", path: real };
}
