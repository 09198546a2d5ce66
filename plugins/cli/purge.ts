// `--uninstall --purge-data`: delete exactly one scope's data. A project: its folder under projects/ and its rows in
// continuum.db (every table with a project_id column, and every table keyed by one of its sessions). Global: the
// whole data dir except the manifests of project installs that are still in place.
import { existsSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { git } from "../core/git.ts";
import { BACKUP_REFS } from "../core/backups.ts";
import { openStore } from "../core/storage/store.ts";
import type { Database } from "../core/storage/database.ts";
import { packPaths, type PackPaths } from "../core/paths.ts";

export interface PurgeReport {
  deleted: string[];
  rows: Record<string, number>;
  kept: string[];
}

const SESSION_COLUMNS = ["session_id", "child_session_id", "owner_session_id"];

function tables(db: Database): { name: string; columns: string[] }[] {
  const names = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
    )
    .all<{ name: string }>()
    .map((r) => r.name);
  return names.map((name) => ({
    name,
    columns: db
      .prepare(`PRAGMA table_info("${name.replace(/"/g, '""')}")`)
      .all<{ name: string }>()
      .map((c) => c.name),
  }));
}

/** Every session id the database ties to a project (checkpoints, goals, history, memory notes) plus its folders. */
export function projectSessions(db: Database, projectId: string, paths: PackPaths): Set<string> {
  const ids = new Set<string>();
  for (const table of tables(db)) {
    if (!table.columns.includes("project_id") || !table.columns.includes("session_id")) continue;
    for (const row of db
      .prepare(`SELECT DISTINCT session_id AS id FROM "${table.name}" WHERE project_id = ?`)
      .all<{ id: string }>(projectId))
      ids.add(row.id);
  }
  const sessionsDir = paths.project(projectId).sessions;
  if (existsSync(sessionsDir)) for (const name of readdirSync(sessionsDir)) ids.add(name);
  return ids;
}

/** Deletes a project's rows in every table that names the project or one of its sessions; returns counts per table. */
export function purgeProjectRows(db: Database, projectId: string, paths: PackPaths): Record<string, number> {
  const sessions = [...projectSessions(db, projectId, paths)];
  const counts: Record<string, number> = {};
  const count = (table: string, n: number) => n > 0 && (counts[table] = (counts[table] ?? 0) + n);
  db.transaction(() => {
    const all = tables(db);
    // Verdicts hang off goals by goal_id: delete them before their goals.
    if (all.some((t) => t.name === "goal_verdicts") && all.some((t) => t.name === "goals")) {
      count(
        "goal_verdicts",
        db
          .prepare("DELETE FROM goal_verdicts WHERE goal_id IN (SELECT id FROM goals WHERE project_id = ?)")
          .run(projectId).changes,
      );
    }
    for (const table of all) {
      const quoted = `"${table.name.replace(/"/g, '""')}"`;
      if (table.columns.includes("project_id"))
        count(table.name, db.prepare(`DELETE FROM ${quoted} WHERE project_id = ?`).run(projectId).changes);
      for (const column of SESSION_COLUMNS.filter((c) => table.columns.includes(c))) {
        for (const session of sessions)
          count(table.name, db.prepare(`DELETE FROM ${quoted} WHERE ${column} = ?`).run(session).changes);
      }
    }
    // Use counts of entries that no longer exist anywhere.
    if (all.some((t) => t.name === "memory_usage") && all.some((t) => t.name === "memory_entries")) {
      count(
        "memory_usage",
        db.prepare("DELETE FROM memory_usage WHERE entry_id NOT IN (SELECT entry_id FROM memory_entries)").run()
          .changes,
      );
    }
  });
  return counts;
}

/** True when no table holds a row (FTS shadow tables and the migration ledger aside): the file can go. */
export function holdsNoData(db: Database): boolean {
  const virtual = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
    .all<{ name: string }>()
    .map((r) => r.name);
  return tables(db)
    .filter((t) => t.name !== "schema_migrations" && !virtual.some((v) => t.name.startsWith(`${v}_`)))
    .every((t) => db.prepare(`SELECT 1 FROM "${t.name.replace(/"/g, '""')}" LIMIT 1`).get() === undefined);
}

export async function purgeProject(root: string, projectId: string): Promise<PurgeReport> {
  const paths = packPaths(root);
  const report: PurgeReport = { deleted: [], rows: {}, kept: [] };
  if (existsSync(paths.database)) {
    const { db } = await openStore(paths.database);
    let empty = false;
    try {
      report.rows = purgeProjectRows(db, projectId, paths);
      empty = holdsNoData(db);
    } finally {
      db.close();
    }
    // The database holds nothing of any project any more: it is recreated on demand, so it goes too.
    if (empty) {
      for (const file of [paths.database, `${paths.database}-wal`, `${paths.database}-shm`]) {
        if (!existsSync(file)) continue;
        rmSync(file, { force: true });
        report.deleted.push(file);
      }
    }
  }
  const dir = paths.project(projectId).root;
  if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    report.deleted.push(dir);
  }
  for (const dir of [join(root, "projects"), paths.globalMemory, paths.installs, root]) removeEmpty(dir, report);
  return report;
}

/** Global scope: everything the pack stored, except the manifests of project installs still in place. */
export function purgeGlobal(root: string, keepManifests: string[]): PurgeReport {
  const report: PurgeReport = { deleted: [], rows: {}, kept: [] };
  if (!existsSync(root)) return report;
  const installs = packPaths(root).installs;
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (path === installs) continue;
    rmSync(path, { recursive: true, force: true });
    report.deleted.push(path);
  }
  if (existsSync(installs)) {
    for (const name of readdirSync(installs)) {
      const path = join(installs, name);
      if (keepManifests.includes(path)) {
        report.kept.push(path);
        continue;
      }
      rmSync(path, { force: true });
      report.deleted.push(path);
    }
  }
  removeEmpty(installs, report);
  removeEmpty(root, report);
  return report;
}

export function removeEmpty(dir: string, report: PurgeReport = { deleted: [], rows: {}, kept: [] }): void {
  if (!existsSync(dir) || readdirSync(dir).length > 0) return;
  rmdirSync(dir);
  report.deleted.push(dir);
}

/** What a purge deletes that someone may still want back: the user sees it listed before it goes. */
export interface RecoveryMaterial {
  /** Saved diffs (refused applies, stopped merges) and previous versions of memory files. */
  files: string[];
  /** Worktrees left by a crash (a helper's unfinished work), with the repository each is registered in. */
  worktrees: { dir: string; repo: string | undefined }[];
  /** The backups of the user's index and tree (`continuum restore`), as refs in the project's repository. */
  backupRefs: string[];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** The recovery material of one project's data folder (and, given the project, its backup refs). */
export async function recoveryMaterial(projectRoot: string, projectDir?: string): Promise<RecoveryMaterial> {
  const worktreesDir = join(projectRoot, "worktrees");
  const files = [
    ...filesUnder(join(worktreesDir, "rejected")),
    ...filesUnder(join(projectRoot, "merges")),
    ...filesUnder(join(projectRoot, "memory", ".versions")),
  ];
  const worktrees: RecoveryMaterial["worktrees"] = [];
  if (existsSync(worktreesDir)) {
    for (const name of readdirSync(worktreesDir)) {
      if (!name.startsWith("wt-") || name.endsWith(".owner.json")) continue;
      let repo: string | undefined;
      try {
        repo = (JSON.parse(readFileSync(join(worktreesDir, `${name}.owner.json`), "utf8")) as { projectDir?: string })
          .projectDir;
      } catch {
        repo = undefined;
      }
      worktrees.push({ dir: join(worktreesDir, name), repo });
    }
  }
  const refs = projectDir ? await git(projectDir, ["for-each-ref", "--format=%(refname)", BACKUP_REFS]) : undefined;
  const backupRefs = refs && refs.code === 0 ? refs.stdout.split("\n").filter(Boolean) : [];
  return { files, worktrees, backupRefs };
}

/** Lines naming every piece of recovery material, printed before anything is deleted. */
export function describeRecovery(material: RecoveryMaterial): string[] {
  const lines: string[] = [];
  for (const file of material.files) lines.push(`will delete (recovery material) ${file}`);
  for (const wt of material.worktrees)
    lines.push(
      `will delete a worktree left by a crash (unfinished helper work) ${wt.dir}${wt.repo ? ` and its registration in ${wt.repo}` : ""}`,
    );
  for (const ref of material.backupRefs)
    lines.push(
      `will delete the backup ${ref.slice(BACKUP_REFS.length)} (${ref}; continuum restore puts it back until then)`,
    );
  return lines;
}

/**
 * After the data folder is gone: the git registrations of its worktrees are pruned (else `.git/worktrees/wt-*`
 * stays), and the backup refs are deleted. Returns what it removed.
 */
export async function purgeRepositoryTraces(material: RecoveryMaterial, projectDir?: string): Promise<string[]> {
  const removed: string[] = [];
  const repos = new Set(material.worktrees.flatMap((wt) => (wt.repo ? [wt.repo] : [])));
  if (projectDir) repos.add(projectDir);
  for (const repo of repos) {
    if (!existsSync(repo)) continue;
    const before = await git(repo, ["worktree", "list", "--porcelain"]);
    await git(repo, ["worktree", "prune"]);
    const after = await git(repo, ["worktree", "list", "--porcelain"]);
    const gone = (before.stdout.match(/^worktree /gm)?.length ?? 0) - (after.stdout.match(/^worktree /gm)?.length ?? 0);
    if (gone > 0) removed.push(`${gone} worktree registration(s) in ${repo}`);
  }
  for (const ref of material.backupRefs) {
    if (projectDir && (await git(projectDir, ["update-ref", "-d", ref])).code === 0) removed.push(ref);
  }
  return removed;
}
