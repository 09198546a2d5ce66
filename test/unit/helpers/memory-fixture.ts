// A MemoryService over a temp data dir and a real SQLite file, for the memory unit tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Database } from "../../../plugins/core/storage/database.ts";
import { packPaths } from "../../../plugins/core/paths.ts";
import { memoryLocations, type MemoryLocations } from "../../../plugins/memory/locations.ts";
import { MemoryService, type MemoryServiceOptions } from "../../../plugins/memory/memory-service.ts";

export interface MemoryFixture {
  root: string;
  db: Database;
  locations: MemoryLocations;
  sessionsDir: string;
  service: MemoryService;
  reopen(): Promise<MemoryService>;
  cleanup(): void;
}

export async function memoryFixture(overrides: Partial<MemoryServiceOptions> = {}): Promise<MemoryFixture> {
  const root = mkdtempSync(join(tmpdir(), "continuum-mem-"));
  const paths = packPaths(root);
  const locations = memoryLocations(paths, "proj-1", join(root, "repo"), "data");
  const sessionsDir = paths.project("proj-1").sessions;
  let db = await openDatabase(join(root, "continuum.db"));
  const make = (database: Database) =>
    new MemoryService({
      db: database,
      locations,
      projectId: "proj-1",
      sessionsDir,
      versionsKept: 5,
      sectionBudgetTokens: 2000,
      redact: (t) => t.replace(/AKIA[0-9A-Z]{16}/g, "[REDACTED:aws-key]"),
      ...overrides,
    });
  const fixture: MemoryFixture = {
    root,
    db,
    locations,
    sessionsDir,
    service: make(db),
    async reopen() {
      db.close();
      db = await openDatabase(join(root, "continuum.db"));
      fixture.db = db;
      fixture.service = make(db);
      return fixture.service;
    },
    cleanup() {
      try {
        db.close();
      } catch {
        /* already closed */
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}
