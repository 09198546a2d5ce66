// Checkpoint-specific helper of the end-to-end tests (the generic ones live in test/harness/session.ts).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The session's checkpoint.md under the pack's data dir, once it exists. */
export function findCheckpoint(dataDir: string, session: string): string | undefined {
  const projects = join(dataDir, "projects");
  if (!existsSync(projects)) return undefined;
  for (const project of readdirSync(projects)) {
    const file = join(projects, project, "sessions", session, "checkpoint.md");
    if (existsSync(file)) return file;
  }
  return undefined;
}
