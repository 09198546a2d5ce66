// Knowing that no memory file changed without looking at every one of them. A search used to stat every memory file
// first (8 ms at 2,000 files) so a hand edit is never missed; with an in-process file watcher on the memory folders
// (started with OpenCode, closed with it: never a daemon) that look is skipped while nothing changed. Whenever the
// watcher cannot vouch for that (a folder not yet there, a watcher error, an event just seen, or 10 s passed since
// the last look) the full look runs as before, so a missed event heals within seconds.
import { existsSync, watch, type FSWatcher } from "node:fs";

export class ChangeWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private changed = true;
  private broken = false;
  private lastLook = 0;

  constructor(
    private readonly dirs: string[],
    private readonly maxQuietMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the last full look still stands: every folder is watched and nothing happened since. */
  quiet(): boolean {
    return (
      !this.broken &&
      !this.changed &&
      this.watchers.size === this.dirs.length &&
      this.now() - this.lastLook < this.maxQuietMs
    );
  }

  /** Call right before a full look: events from now on mark the next search for another look. */
  looking(): void {
    this.changed = false;
    this.lastLook = this.now();
    for (const dir of this.dirs) if (!this.watchers.has(dir)) this.start(dir);
  }

  /** Something changed that the caller knows of (its own write): the next search looks. */
  touch(): void {
    this.changed = true;
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.broken = true;
  }

  private start(dir: string): void {
    if (this.broken || !existsSync(dir)) return;
    try {
      const watcher = watch(dir, { recursive: true, persistent: false }, () => void (this.changed = true));
      watcher.on("error", () => {
        this.broken = true;
        this.changed = true;
      });
      this.watchers.set(dir, watcher);
    } catch {
      // No watcher here (too many watches, an odd file system): every search looks at the files, as before.
      this.broken = true;
    }
  }
}
