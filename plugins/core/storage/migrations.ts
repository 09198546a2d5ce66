// Versioned migrations, kept per feature so features evolve their tables independently in one DB file.
import type { Database } from "./database.ts";

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export interface MigrationReport {
  feature: string;
  from: number;
  to: number;
}

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  feature TEXT NOT NULL,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (feature, version)
)`;

export function currentVersion(db: Database, feature: string): number {
  db.exec(LEDGER);
  const row = db
    .prepare("SELECT MAX(version) AS v FROM schema_migrations WHERE feature = ?")
    .get<{ v: number | null }>(feature);
  return row?.v ?? 0;
}

/**
 * Applies, in one transaction each, every migration newer than the feature's recorded version. The version is
 * read again inside each write transaction: two OpenCode processes starting together must not both apply one.
 */
export function migrate(db: Database, feature: string, migrations: readonly Migration[]): MigrationReport {
  assertOrdered(feature, migrations);
  const from = currentVersion(db, feature);
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    db.transaction(() => {
      if (currentVersion(db, feature) >= migration.version) return;
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (feature, version, description, applied_at) VALUES (?, ?, ?, ?)").run(
        feature,
        migration.version,
        migration.description,
        new Date().toISOString(),
      );
    });
  }
  return { feature, from, to: currentVersion(db, feature) };
}

function assertOrdered(feature: string, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`${feature} migrations must be numbered 1..n in order; found ${m.version} at ${i + 1}`);
  });
}
