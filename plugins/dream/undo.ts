// `/dream undo` and `continuum dream undo`: MEMORY.md back to the bytes it had before the last dream that wrote it,
// refused when the file changed since (the memory service compares its hash), and only once per journal.
import type { MemoryServices } from "../core/feature.ts";
import { markUndone, readUndo } from "./records.ts";

/** Restores MEMORY.md as it was before the last dream that wrote it (the CLI and /dream undo). */
export async function undoLastDream(
  dir: string,
  restore: MemoryServices["restoreFile"],
): Promise<{ ok: boolean; message: string }> {
  const read = readUndo(dir);
  if (!read.ok) return { ok: false, message: `Nothing to undo: ${read.reason}.` };
  const { journal } = read;
  const bytes = journal.existed ? Buffer.from(journal.before, "base64") : undefined;
  const restored = await restore(journal.file, bytes, journal.afterSha256);
  if (!restored.ok)
    return {
      ok: false,
      message: `Undo refused: ${restored.reason}. The version before the dream is kept in the versions folder next to it.`,
    };
  markUndone(dir, journal);
  return {
    ok: true,
    message: `Restored ${journal.file} as it was before the dream of ${journal.at}${journal.existed ? "" : " (it did not exist, so it was removed)"}; the dream's version is kept in the versions folder.`,
  };
}
