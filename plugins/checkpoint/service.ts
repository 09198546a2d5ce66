// The checkpoint feature's face to the others and to the CLI: a session's latest checkpoint.md, read safely. No
// other feature builds that file's path; they ask this service (context.services.checkpoint).
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointServices } from "../core/feature.ts";
import { parseCheckpointSections } from "./sections.ts";

/** Where a session's checkpoint.md is, given the session's folder. */
export const checkpointFileIn = (sessionDir: string): string => join(sessionDir, "checkpoint.md");

/** The service over the sessions' folders (`sessionDir(id)`: ProjectPaths.session, or a folder under the CLI's). */
export function checkpointService(sessionDir: (sessionId: string) => string): CheckpointServices {
  const latest = (sessionId: string) => readLatest(checkpointFileIn(sessionDir(sessionId)));
  return {
    latest,
    sections: (sessionId) => {
      const found = latest(sessionId);
      return found && { sections: parseCheckpointSections(found.text), writtenAt: found.writtenAt };
    },
  };
}

function readLatest(file: string): { text: string; writtenAt: number } | undefined {
  try {
    // lstat: a symlinked checkpoint.md is not read (it could point anywhere, out of the project too).
    const stats = lstatSync(file);
    if (!stats.isFile()) return undefined;
    return { text: readFileSync(file, "utf8"), writtenAt: stats.mtimeMs };
  } catch {
    return undefined; // none yet, or unreadable
  }
}
