// Primary state in files: each store keeps a session's state as small JSON files in the session folder
// (`<session>/state/<name>.json`), written atomically on every change, so the database can always be rebuilt.
// This module knows only files, sessions and a registry of restorers; each store knows its own format.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Database } from "./database.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { storedValue } from "./stored-text.ts";
import { isNotWritableError, notWritableReason } from "./writable.ts";
import { safeSegment } from "../paths.ts";

/** Where a session's folder is (ProjectPaths.session). */
export type SessionDirOf = (sessionId: string) => string;

/** A store's change could not be saved to its file: nothing was changed, and the message names the path. */
export class StateWriteError extends Error {
  override name = "StateWriteError";
}

interface RootInfo {
  root: string;
  readOnly: boolean;
}

const roots = new WeakMap<Database, RootInfo>();

/** Tells the stores which data dir a database belongs to (openStore calls this). */
export function registerDataRoot(db: Database, root: string, options: { readOnly?: boolean } = {}): void {
  roots.set(db, { root, readOnly: options.readOnly ?? false });
}

/** The data dir of a database: registered by openStore, else the folder of its file; none for a bare :memory:. */
export function dataRootOf(db: Database): RootInfo | undefined {
  const known = roots.get(db);
  if (known) return known;
  if (!db.path || db.path === ":memory:" || db.path.startsWith("file:")) return undefined;
  return { root: dirname(db.path), readOnly: false };
}

type Restorer = (db: Database) => string | undefined;
const restorers = new Map<string, Restorer>();

/** A store registers how to refill a fresh database from the files (and say what it restored). */
export function registerStateRestorer(name: string, restore: Restorer): void {
  restorers.set(name, restore);
}

/** Runs every registered restorer on a fresh database; returns what each restored ("2 task trees (5 tasks)"). */
export function restoreFromFiles(db: Database): string[] {
  const said: string[] = [];
  for (const [name, restore] of restorers) {
    try {
      const summary = restore(db);
      if (summary) said.push(summary);
    } catch (error) {
      said.push(`${name}: could not be restored (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return said;
}

export interface StateFile {
  sessionId: string;
  path: string;
  value: Record<string, unknown>;
}

export interface SessionStateFiles {
  readonly readOnly: boolean;
  /** The file of one session's state of that name (`<session>/state/<name>.json`). */
  pathOf(sessionId: string, name: string): string;
  /** Writes atomically; skipped when the content is what this process last wrote there. Throws StateWriteError. */
  write(sessionId: string, name: string, value: Record<string, unknown>): void;
  /** Every session's file of that name under the data dir (the newest when one exists twice); unreadable: paths. */
  readAll(name: string): { found: StateFile[]; unreadable: string[] };
  /** Every session's file of this name that passes the schema, and how many could not be read or failed it. */
  readValid<T>(name: string, schema: StateSchema<T>): { states: T[]; unreadable: number };
}

/** The part of a zod schema the state files need (keeps core free of a schema library's types). */
export interface StateSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

const STATE_DIR = "state";

/**
 * The state files of the sessions of one database. `sessionDir` is where the adapter keeps each session's folder;
 * without it the session's existing folder under projects/ is used, else `sessions/<id>` under the data dir.
 */
export function sessionStateFiles(db: Database, sessionDir?: SessionDirOf): SessionStateFiles | undefined {
  const info = dataRootOf(db);
  if (!info && !sessionDir) return undefined;
  const lastWritten = new Map<string, string>();
  const found = new Map<string, string>();
  const root = info?.root;

  const folderOf = (sessionId: string): string => {
    if (sessionDir) return sessionDir(sessionId);
    const cached = found.get(sessionId);
    if (cached) return cached;
    const inProject = existingProjectSessionDir(root!, sessionId);
    if (inProject) {
      found.set(sessionId, inProject);
      return inProject;
    }
    return join(root!, "sessions", safeSegment(sessionId));
  };
  const pathOf = (sessionId: string, name: string) => join(folderOf(sessionId), STATE_DIR, `${name}.json`);

  return {
    readOnly: info?.readOnly ?? false,
    pathOf,
    write(sessionId, name, value) {
      const path = pathOf(sessionId, name);
      const content =
        JSON.stringify({ format: 1, sessionId, savedAt: new Date().toISOString(), ...storedValue(value) }) + "\n";
      const comparable = JSON.stringify(value);
      if (lastWritten.get(path) === comparable) return;
      if (info?.readOnly)
        throw new StateWriteError(
          `cannot save ${path}: the data directory ${info.root} is not writable, so nothing was changed`,
        );
      try {
        // Every string of the state passed storedValue: the file holds no secret.
        writeFileAtomic(path, content);
      } catch (error) {
        const why = isNotWritableError(error)
          ? (notWritableReason(dirname(path)) ?? (error as Error).message)
          : (error as Error).message;
        throw new StateWriteError(`cannot save ${path} (${why}), so nothing was changed`);
      }
      lastWritten.set(path, comparable);
      if (!sessionDir && root && !path.startsWith(join(root, "sessions") + "/")) removeLoose(root, sessionId, name);
    },
    readValid<T>(name: string, schema: StateSchema<T>) {
      const { found, unreadable } = this.readAll(name);
      const states: T[] = [];
      let failed = unreadable.length;
      for (const file of found) {
        const parsed = schema.safeParse(file.value);
        if (parsed.success) states.push(parsed.data);
        else failed++;
      }
      return { states, unreadable: failed };
    },
    readAll(name) {
      const folders = [...(root ? allSessionFolders(root) : [])];
      const byId = new Map<string, StateFile & { savedAt: string }>();
      const unreadable: string[] = [];
      for (const folder of folders) {
        const path = join(folder, STATE_DIR, `${name}.json`);
        if (!existsSync(path)) continue;
        const value = readJson(path);
        if (!value || typeof value.sessionId !== "string") {
          unreadable.push(path);
          continue;
        }
        const savedAt = typeof value.savedAt === "string" ? value.savedAt : "";
        const seen = byId.get(value.sessionId);
        if (!seen || seen.savedAt < savedAt)
          byId.set(value.sessionId, { sessionId: value.sessionId, path, value, savedAt });
      }
      return {
        found: [...byId.values()].map(({ sessionId, path, value }) => ({ sessionId, path, value })),
        unreadable,
      };
    },
  };
}

function existingProjectSessionDir(root: string, sessionId: string): string | undefined {
  const projects = join(root, "projects");
  for (const project of listDirs(projects)) {
    const candidate = join(projects, project, "sessions", safeSegment(sessionId));
    if (isDir(candidate)) return candidate;
  }
  return undefined;
}

/** Session folders under projects/<p>/sessions/ and the loose sessions/ folder. */
function allSessionFolders(root: string): string[] {
  const out: string[] = [];
  const projects = join(root, "projects");
  for (const project of listDirs(projects)) {
    const sessions = join(projects, project, "sessions");
    for (const session of listDirs(sessions)) out.push(join(sessions, session));
  }
  const loose = join(root, "sessions");
  for (const session of listDirs(loose)) out.push(join(loose, session));
  return out;
}

/** Once a session's folder exists under its project, an older copy in the loose folder would only mislead. */
function removeLoose(root: string, sessionId: string, name: string): void {
  const loose = join(root, "sessions", safeSegment(sessionId), STATE_DIR, `${name}.json`);
  if (existsSync(loose)) rmSync(loose, { force: true });
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A hand-damaged or half-written file is skipped (the caller reports what it did restore). */
function readJson(path: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
