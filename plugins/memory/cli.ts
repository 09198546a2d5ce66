// `continuum memory …`: the memory outside OpenCode (status, list, search, show, forget, path, reindex). It reads
// the same effective continuum.jsonc as the plugin (global + project) and reports what the plugin would do.
import { join } from "node:path";
import { Option, type Command } from "commander";
import { redact } from "../core/redaction.ts";
import { openStore } from "../core/storage/store.ts";
import { estimateTokens } from "../core/tokens.ts";
import type { MemoryBlock } from "./block.ts";
import { formatSearch, formatStatus } from "./format.ts";
import type { IndexedEntry, SearchHit, SearchScope } from "./index-store.ts";
import { memoryLocations } from "./locations.ts";
import { MemoryInputError, MemoryService } from "./memory-service.ts";
import { buildMemoryBlock } from "./recall.ts";
import { effectiveConfig, featureState, type Effective } from "../cli/config-view.ts";
import { act, emit, existingDir, intInRange, jsonOption, notFound, projectOption, usageError } from "../cli/kit.ts";

/** Stands in for a new session's id: OpenCode's ids are "ses_" plus 26 characters. */
// Same length and characters as a real id ("ses_" + 26 letters and digits): a hyphen weighs more in the token
// estimate, and one token moved the packing of a block right at its budget away from what OpenCode was sent.
const NEW_SESSION = "ses_NEWSESSIONIDPLACEHOLDER000";

async function openService(projectOpt: string | undefined) {
  return openMemory(effectiveConfig(existingDir("--project", projectOpt)));
}

/** The project's memory as the plugin sees it, outside OpenCode (also what `continuum dream undo` restores through). */
export async function openMemory(eff: Effective) {
  const { config, paths, project } = eff;
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
  return { eff, service, locations, close: () => db.close() };
}

type Ctx = Awaited<ReturnType<typeof openService>>;

/** Opens the memory for one command, warns about config problems once, and always closes the database. */
async function withMemory(
  options: { project?: string; json?: boolean },
  fn: (ctx: Ctx) => Promise<number> | number,
): Promise<number> {
  const ctx = await openService(options.project);
  ctx.eff.warn(options.json);
  try {
    return await fn(ctx);
  } catch (error) {
    if (error instanceof MemoryInputError)
      throw usageError(error.message.replace(/; memory search shows entry ids$/, ""));
    throw error;
  } finally {
    ctx.close();
  }
}

/** The stable JSON shape of one entry (list, search, show, status). */
function entryJson(entry: IndexedEntry | SearchHit) {
  return {
    id: entry.entryId,
    scope: entry.scope,
    file: entry.path,
    lineStart: entry.lineStart,
    lineEnd: entry.lineEnd,
    section: entry.section,
    date: entry.date,
    session: entry.session,
    uses: entry.uses,
    text: entry.text,
    ...("score" in entry ? { score: entry.score, snippet: entry.snippet } : {}),
  };
}

/** What `status` ranked for: a session ranks its entries by its first message, which the CLI only knows when told. */
function rankingLine(firstMessage: string): string {
  if (firstMessage)
    return `Ranked as a session whose first message is "${firstMessage.length > 80 ? firstMessage.slice(0, 80) + "…" : firstMessage}".`;
  return 'Ranked with no first message: a session ranks by its first message, so when the budget is tight which entries fit can differ (--first-message "<text>" ranks as that session would).';
}

function status(ctx: Ctx, json?: boolean, firstMessage = ""): number {
  const { config } = ctx.eff;
  const state = featureState(ctx.eff, "memory");
  const budget = config.memory.injectBudgetTokens;
  const files = {
    projectFile: ctx.locations.projectFile,
    globalFile: ctx.locations.globalFile,
    projectDir: ctx.locations.projectDir,
  };
  const counts = { project: 0, global: 0, session: 0 };
  ctx.service.reconcile();
  for (const entry of ctx.service.candidates()) counts[entry.scope]++;
  // Exactly what the plugin does at a session's first model call: no block when off or the budget is 0. The block
  // names the session's notes file, so a placeholder id of a real id's length keeps the packing identical.
  const notesFile = join(ctx.locations.sessionDir(NEW_SESSION), "notes.md");
  const block: MemoryBlock | undefined =
    state.on && budget > 0 ? buildMemoryBlock(ctx.service, firstMessage, budget, { ...files, notesFile }) : undefined;
  const header = block ? fixedHeaderTokens(block) : 0;
  const data = {
    enabled: state.on,
    reason: state.reason,
    location: config.memory.location,
    budgetTokens: budget,
    rankedFor: firstMessage,
    block: block
      ? {
          text: block.text,
          tokens: block.tokens,
          headerTokens: header,
          entries: block.included.map((i) => entryJson(i.entry)),
          omitted: block.omitted.map((i) => i.entry.entryId),
        }
      : null,
    indexed: counts,
    files: { project: files.projectFile, global: files.globalFile },
    configFiles: ctx.eff.files,
    problems: ctx.eff.problems,
  };
  emit(json, data, () => {
    if (!state.on)
      return [
        `Memory is off: ${state.reason}. A new session gets no memory block, no recall and no memory tools.`,
        `Indexed entries: project ${counts.project}, global ${counts.global}, session notes ${counts.session}.`,
        `Files: ${files.projectFile}, ${files.globalFile}`,
      ];
    if (!block)
      return [
        `memory.injectBudgetTokens is 0: a new session gets no memory block (recall: ${config.memory.recallBudgetTokens} tokens per message).`,
        `Indexed entries: project ${counts.project}, global ${counts.global}, session notes ${counts.session}.`,
      ];
    const text = formatStatus({ block, budgetTokens: budget, files, counts, notes: [] }).replace(
      "Injected in this session",
      "A new session would get",
    );
    const over =
      block.tokens > budget
        ? `\nNote: the block is ${block.tokens} tokens, over the budget of ${budget}: its fixed explanation alone is ${header} tokens and is always sent; entries are packed into what is left.`
        : "";
    return `${text}\n${rankingLine(firstMessage)}\nMemory location: ${config.memory.location === "repo" ? "repo (<project>/.opencode/memory)" : "data dir"}.${over}`;
  });
  return 0;
}

/** Tokens of the block that are not entries (explanation, titles): what the budget cannot shrink. */
function fixedHeaderTokens(block: MemoryBlock): number {
  return Math.max(0, block.tokens - block.included.reduce((sum, i) => sum + i.tokens, 0)) || estimateTokens(block.text);
}

/** Ids more than one entry of a file carries: the later ones are addressed as `<id>~2`, `<id>~3` (memory-format). */
function duplicatesOf(
  entries: readonly IndexedEntry[],
): { file: string; id: string; entries: { id: string; line: number }[] }[] {
  const groups = new Map<string, { file: string; id: string; entries: { id: string; line: number }[] }>();
  for (const entry of entries) {
    const id = entry.entryId.replace(/~\d+$/, "");
    const key = `${entry.path}\0${id}`;
    const group = groups.get(key) ?? { file: entry.path, id, entries: [] };
    group.entries.push({ id: entry.entryId, line: entry.lineStart });
    groups.set(key, group);
  }
  return [...groups.values()].filter((g) => g.entries.length > 1);
}

function list(ctx: Ctx, json?: boolean): number {
  const stats = ctx.service.reconcile();
  const entries = ctx.service.candidates();
  const duplicates = duplicatesOf(entries);
  emit(json, { entries: entries.map(entryJson), notes: stats.notes, duplicates }, () => {
    const lines: string[] = [];
    if (entries.length === 0)
      lines.push(`No project or global memory entries yet (project memory: ${ctx.locations.projectFile}).`);
    let file = "";
    for (const entry of entries) {
      if (entry.path !== file) {
        file = entry.path;
        lines.push(`\n${file}`);
      }
      const first = entry.text.split("\n")[0]!;
      lines.push(
        `  [${entry.entryId}] ${entry.section || "-"} · ${first.length > 100 ? first.slice(0, 100) + "…" : first}${entry.date ? ` (${entry.date})` : ""}`,
      );
    }
    for (const note of stats.notes) lines.push(`note: ${note.path}: ${note.note}`);
    for (const d of duplicates)
      lines.push(
        `duplicate id ${d.id} in ${d.file}: ${d.entries.map((e) => `line ${e.line} is [${e.id}]`).join(", ")}; each is shown, forgotten or rewritten by its own id`,
      );
    return lines;
  });
  return 0;
}

export function register(program: Command): void {
  const memory = program
    .command("memory")
    .description("the pack's memory outside OpenCode: status, list, search, show, forget, path, reindex");
  for (const add of [addStatus, addList, addSearch, addShow, addForget, addPath, addReindex]) add(memory);
}

function addStatus(memory: Command): void {
  memory
    .command("status")
    .description("what a new session would get: the memory block against its budget, as the plugin would build it")
    .addOption(projectOption())
    .addOption(jsonOption())
    .option(
      "--first-message <text>",
      "rank the entries as a session whose first message is this text does (default: none)",
    )
    .action(
      act((o: { project?: string; json?: boolean; firstMessage?: string }) =>
        withMemory(o, (ctx) => status(ctx, o.json, o.firstMessage?.trim() ?? "")),
      ),
    );
}

function addList(memory: Command): void {
  memory
    .command("list")
    .description("every project and global entry with its id")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(act((o: { project?: string; json?: boolean }) => withMemory(o, (ctx) => list(ctx, o.json))));
}

function addSearch(memory: Command): void {
  memory
    .command("search")
    .description("BM25-ranked entries for some words (exit 1 when nothing matches)")
    .argument("<words...>", "words to look for; each also matches as a prefix")
    .addOption(
      new Option("--scope <scope>", "where to search").choices(["session", "project", "global", "all"]).default("all"),
    )
    .addOption(new Option("--limit <n>", "at most this many hits").argParser(intInRange(1, 100)).default(10))
    .option("--all-words", "every word must match (default: any word)")
    .option("--session <id>", "the session whose notes --scope session searches")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act(
        (
          words: string[],
          o: {
            scope: SearchScope;
            limit: number;
            allWords?: boolean;
            session?: string;
            project?: string;
            json?: boolean;
          },
        ) =>
          withMemory(o, (ctx) => {
            if (o.scope === "session" && !o.session) throw usageError("--scope session needs --session <id>");
            const query = words.join(" ");
            const mode = o.allWords ? "all" : "any";
            const result = ctx.service.search({ query, scope: o.scope, mode, limit: o.limit, sessionId: o.session });
            emit(
              o.json,
              { query, scope: o.scope, mode, empty: Boolean(result.empty), hits: result.hits.map(entryJson) },
              () =>
                formatSearch(query, o.scope, mode, result.hits, result.empty).replace(
                  /; history_search for words said in earlier conversations/,
                  "",
                ),
            );
            return result.hits.length > 0 ? 0 : 1;
          }),
      ),
    );
}

function addShow(memory: Command): void {
  memory
    .command("show")
    .description("one entry with file:line, or (without an id) both MEMORY.md files")
    .argument("[id]", "an entry id, as shown by list or search")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act((id: string | undefined, o: { project?: string; json?: boolean }) =>
        withMemory(o, (ctx) => {
          if (!id) {
            const files = [ctx.locations.projectFile, ctx.locations.globalFile].map((file) => ({
              file,
              content: ctx.service.readFile(file) ?? null,
            }));
            emit(o.json, { files }, () => files.flatMap((f) => [`==> ${f.file}`, f.content ?? "(not created yet)"]));
            return 0;
          }
          ctx.service.reconcile();
          const entry = ctx.service.find(id);
          if (!entry) throw notFound(`no memory entry with id "${id}" (continuum memory list shows the ids)`);
          emit(o.json, entryJson(entry), () => [
            `${entry.path}:${entry.lineStart}-${entry.lineEnd} · ${entry.heading} · ${entry.date ?? "undated"} · ${entry.session ?? "hand-written"} · used ${entry.uses}×`,
            entry.text,
          ]);
          return 0;
        }),
      ),
    );
}

function addForget(memory: Command): void {
  memory
    .command("forget")
    .description("remove one entry from its file (the previous version is kept in .versions/)")
    .argument("<id>", "an entry id, as shown by list or search")
    .addOption(projectOption())
    .action(
      act((id: string, o: { project?: string }) =>
        withMemory(o, async (ctx) => {
          ctx.service.reconcile();
          if (!ctx.service.find(id.trim()))
            throw notFound(`no memory entry with id "${id}" (continuum memory list shows the ids)`);
          const removed = await ctx.service.forget(id);
          console.log(`removed ${id} from ${removed.file}: ${removed.text}`);
          console.log("the previous version of the file is kept in .versions/ next to it");
          return 0;
        }),
      ),
    );
}

function addPath(memory: Command): void {
  memory
    .command("path")
    .description("where the memory files and the index are for a project")
    .addOption(projectOption())
    .addOption(jsonOption())
    .action(
      act((o: { project?: string; json?: boolean }) =>
        withMemory(o, (ctx) => {
          const { paths, project } = ctx.eff;
          const data = {
            projectFile: ctx.locations.projectFile,
            globalFile: ctx.locations.globalFile,
            projectDir: ctx.locations.projectDir,
            sessionsDir: paths.project(project.id).sessions,
            database: paths.database,
            project: { id: project.id, kind: project.kind, root: project.root },
          };
          emit(o.json, data, () => [
            `project memory: ${data.projectFile}`,
            `global memory:  ${data.globalFile}`,
            `topic files:    ${data.projectDir}/memory-<topic>.md`,
            `session notes:  ${data.sessionsDir}/<session>/notes.md`,
            `index:          ${data.database}`,
            `project id:     ${project.id} (${project.kind}, ${project.root})`,
          ]);
          return 0;
        }),
      ),
    );
}

function addReindex(memory: Command): void {
  memory
    .command("reindex")
    .description("rebuild the index from the files")
    .addOption(projectOption())
    .action(
      act((o: { project?: string }) =>
        withMemory(o, (ctx) => {
          const started = performance.now();
          const stats = ctx.service.reindex();
          console.log(`reindexed ${stats.reindexed} files in ${(performance.now() - started).toFixed(0)} ms`);
          for (const note of stats.notes) console.log(`note: ${note.path}: ${note.note}`);
          return 0;
        }),
      ),
    );
}
