// `continuum memory …`: the memory outside OpenCode (list, search, show, forget, path, reindex, status).
import { resolve } from "node:path";
import type { Subcommand } from "./main.ts";
import { loadConfig } from "../core/config.ts";
import { dataRoot, packPaths } from "../core/paths.ts";
import { resolveProjectIdentity } from "../core/project-id.ts";
import { redact } from "../core/redaction.ts";
import { openStore } from "../core/storage/store.ts";
import { formatSearch, formatStatus } from "../memory/format.ts";
import type { SearchScope } from "../memory/index-store.ts";
import { memoryLocations } from "../memory/locations.ts";
import { MemoryInputError, MemoryService } from "../memory/memory-service.ts";
import { buildMemoryBlock } from "../memory/recall.ts";

const USAGE = "continuum memory <list|search|show|forget|path|reindex|status> [args] [--project DIR]";

interface Parsed {
  action: string;
  words: string[];
  flags: Map<string, string>;
}

function parseArgs(args: string[]): Parsed {
  const flags = new Map<string, string>();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split("=", 2);
    const takesValue = ["project", "scope", "limit", "session"].includes(key!);
    flags.set(key!, inline ?? (takesValue ? (args[++i] ?? "") : "true"));
  }
  const [action = "list", ...rest] = words;
  return { action, words: rest, flags };
}

async function openService(projectDir: string) {
  const { config } = loadConfig(projectDir);
  const paths = packPaths(dataRoot());
  const project = resolveProjectIdentity(projectDir);
  const locations = memoryLocations(paths, project.id, project.root, config.memory.location);
  const { db } = await openStore(paths.database);
  const service = new MemoryService({
    db,
    locations,
    projectId: project.id,
    sessionsDir: paths.project(project.id).sessions,
    versionsKept: config.memory.versionsKept,
    sectionBudgetTokens: config.memory.sectionBudgetTokens,
    redact,
    repoMode: config.memory.location === "repo",
  });
  return { service, locations, paths, project, config, close: () => db.close() };
}

const ACTIONS: Record<string, (ctx: Awaited<ReturnType<typeof openService>>, parsed: Parsed) => Promise<number> | number> = {
  path(ctx) {
    console.log(`project memory: ${ctx.locations.projectFile}`);
    console.log(`global memory:  ${ctx.locations.globalFile}`);
    console.log(`topic files:    ${ctx.locations.projectDir}/memory-<topic>.md`);
    console.log(`session notes:  ${ctx.paths.project(ctx.project.id).sessions}/<session>/notes.md`);
    console.log(`index:          ${ctx.paths.database}`);
    console.log(`project id:     ${ctx.project.id} (${ctx.project.kind}, ${ctx.project.root})`);
    return 0;
  },
  list(ctx) {
    const stats = ctx.service.reconcile();
    const entries = ctx.service.candidates();
    if (entries.length === 0) console.log("No project or global memory entries yet.");
    let file = "";
    for (const entry of entries) {
      if (entry.path !== file) {
        file = entry.path;
        console.log(`\n${file}`);
      }
      const first = entry.text.split("\n")[0]!;
      console.log(`  [${entry.entryId}] ${entry.section || "-"} · ${first.length > 100 ? first.slice(0, 100) + "…" : first}${entry.date ? ` (${entry.date})` : ""}`);
    }
    for (const note of stats.notes) console.log(`note: ${note.path}: ${note.note}`);
    return 0;
  },
  search(ctx, parsed) {
    const query = parsed.words.join(" ");
    const scope = (parsed.flags.get("scope") ?? "all") as SearchScope;
    if (!["session", "project", "global", "all"].includes(scope)) throw new MemoryInputError(`--scope must be session, project, global or all`);
    const mode = parsed.flags.has("all-words") ? "all" : "any";
    const result = ctx.service.search({ query, scope, mode, limit: Number(parsed.flags.get("limit") ?? 10) || 10, sessionId: parsed.flags.get("session") });
    console.log(formatSearch(query, scope, mode, result.hits, result.empty));
    return result.hits.length > 0 ? 0 : 1;
  },
  show(ctx, parsed) {
    const id = parsed.words[0];
    if (!id) {
      for (const file of [ctx.locations.projectFile, ctx.locations.globalFile]) {
        console.log(`==> ${file}`);
        console.log(ctx.service.readFile(file) ?? "(not created yet)");
      }
      return 0;
    }
    ctx.service.reconcile();
    const entry = ctx.service.find(id);
    if (!entry) throw new MemoryInputError(`no memory entry with id "${id}"`);
    console.log(`${entry.path}:${entry.lineStart}-${entry.lineEnd} · ${entry.heading} · ${entry.date ?? "undated"} · ${entry.session ?? "hand-written"} · used ${entry.uses}×`);
    console.log(entry.text);
    return 0;
  },
  async forget(ctx, parsed) {
    const id = parsed.words[0];
    if (!id) throw new MemoryInputError("usage: continuum memory forget <id>");
    const removed = await ctx.service.forget(id);
    console.log(`removed ${id} from ${removed.file}: ${removed.text}`);
    console.log("the previous version of the file is kept in .versions/ next to it");
    return 0;
  },
  reindex(ctx) {
    const started = performance.now();
    const stats = ctx.service.reindex();
    console.log(`reindexed ${stats.reindexed} files in ${(performance.now() - started).toFixed(0)} ms`);
    for (const note of stats.notes) console.log(`note: ${note.path}: ${note.note}`);
    return 0;
  },
  status(ctx) {
    const block = buildMemoryBlock(ctx.service, "", ctx.config.memory.injectBudgetTokens, {
      projectFile: ctx.locations.projectFile,
      globalFile: ctx.locations.globalFile,
    });
    const counts = { project: 0, global: 0, session: 0 };
    for (const entry of ctx.service.candidates()) counts[entry.scope]++;
    console.log(
      formatStatus({
        block,
        budgetTokens: ctx.config.memory.injectBudgetTokens,
        files: { projectFile: ctx.locations.projectFile, globalFile: ctx.locations.globalFile, projectDir: ctx.locations.projectDir },
        counts,
        notes: [],
      }).replace("Injected in this session", "A new session would get"),
    );
    return 0;
  },
};

export const memoryCommand: Subcommand = {
  summary: "list, search, show, forget or reindex memory entries; print where the files are",
  usage: USAGE,
  async run(args) {
    const parsed = parseArgs(args);
    const action = ACTIONS[parsed.action];
    if (!action) {
      console.error(`continuum memory: unknown action "${parsed.action}"\nusage: ${USAGE}`);
      return 2;
    }
    const ctx = await openService(resolve(parsed.flags.get("project") ?? process.cwd()));
    try {
      return await action(ctx, parsed);
    } catch (error) {
      if (error instanceof MemoryInputError) {
        console.error(`continuum memory ${parsed.action}: ${error.message}`);
        return 2;
      }
      throw error;
    } finally {
      ctx.close();
    }
  },
};
