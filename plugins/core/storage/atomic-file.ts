// Replacing a file so a reader (or a crash) sees either the old or the new content, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

export interface AtomicWriteHooks {
  /** Test seam: runs after the temp file is written, before the rename (simulates a crash there). */
  beforeRename?: (tempPath: string) => void;
}

/** temp file in the same folder, fsync, rename over the target, fsync the folder. */
export function writeFileAtomic(path: string, content: string | Uint8Array, hooks: AtomicWriteHooks = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const fd = openSync(temp, "w", 0o644);
    try {
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    hooks.beforeRename?.(temp);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dirname(path));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not every platform can fsync a directory; the rename is still atomic */
  }
}
