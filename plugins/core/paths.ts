// Where the pack keeps its data and where OpenCode keeps its config, following the XDG rules OpenCode uses.
import { homedir } from "node:os";
import { join } from "node:path";

export const PACK_NAME = "opencode-continuum";

type Env = Record<string, string | undefined>;

export function dataRoot(env: Env = process.env): string {
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share"), PACK_NAME);
}

/** OpenCode's global config dir (`~/.config/opencode`), where the global continuum.jsonc lives. */
export function globalConfigDir(env: Env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "opencode");
}

export interface PackPaths {
  root: string;
  database: string;
  logs: string;
  globalMemory: string;
  installs: string;
  project(projectId: string): ProjectPaths;
}

export interface ProjectPaths {
  root: string;
  memory: string;
  sessions: string;
  session(sessionId: string): string;
}

export function packPaths(root: string = dataRoot()): PackPaths {
  return {
    root,
    database: join(root, "continuum.db"),
    logs: join(root, "logs"),
    globalMemory: join(root, "global"),
    installs: join(root, "installs"),
    project(projectId: string): ProjectPaths {
      const projectRoot = join(root, "projects", safeSegment(projectId));
      return {
        root: projectRoot,
        memory: join(projectRoot, "memory"),
        sessions: join(projectRoot, "sessions"),
        session: (sessionId: string) => join(projectRoot, "sessions", safeSegment(sessionId)),
      };
    },
  };
}

/** Ids come from the host or from git; never let one climb out of its folder. */
export function safeSegment(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  if (!cleaned) throw new Error(`empty path segment from id ${JSON.stringify(id)}`);
  return cleaned.slice(0, 128);
}
