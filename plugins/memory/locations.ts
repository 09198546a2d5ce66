// Where memory files live. Shared contract: the checkpoint feature writes into the session folder and the
// rebuild reads MEMORY.md from here, so every feature resolves paths through this one module.
import { join } from "node:path";
import type { ContinuumConfig } from "../core/config-schema.ts";
import { safeSegment, type PackPaths } from "../core/paths.ts";

export interface MemoryLocations {
  /** Folder of the global MEMORY.md (preferences across projects). */
  globalDir: string;
  globalFile: string;
  /** Folder of the project MEMORY.md and its memory-<topic>.md files. */
  projectDir: string;
  projectFile: string;
  /** Per-session folder: notes.md, checkpoint.md, tasks/<TID>/progress.md. */
  sessionDir(sessionId: string): string;
  /** Every folder a memory write may land in (the path guard's allow-list). */
  writableRoots: string[];
}

export function memoryLocations(
  paths: PackPaths,
  projectId: string,
  projectRoot: string,
  location: ContinuumConfig["memory"]["location"],
): MemoryLocations {
  const project = paths.project(projectId);
  const projectDir = location === "repo" ? join(projectRoot, ".opencode", "memory") : project.memory;
  return {
    globalDir: paths.globalMemory,
    globalFile: join(paths.globalMemory, "MEMORY.md"),
    projectDir,
    projectFile: join(projectDir, "MEMORY.md"),
    sessionDir: (sessionId: string) => join(project.sessions, safeSegment(sessionId)),
    writableRoots: [paths.globalMemory, projectDir, project.sessions],
  };
}
