// Host adapter of the memory feature: tools, the memory block in the system prompt, per-message recall,
// the history index fed from the event stream, and the /memory report. Logic lives in the sibling modules.
import { tool, type Hooks } from "@opencode-ai/plugin";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ToolInputError } from "../core/compose.ts";
import type { FeatureContext, FeatureModule, FeatureParts, MemoryServices } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { isPackText } from "../core/pack-text.ts";
import { slot } from "../core/sessions.ts";
import type { MemoryBlock } from "./block.ts";
import { formatAround, formatHistorySearch, formatPart, formatSearch, formatStatus } from "./format.ts";
import { HistoryRecorder } from "./history-recorder.ts";
import { getPart, messagesAround, searchHistory } from "./history-store.ts";
import { memoryLocations, type MemoryLocations } from "./locations.ts";
import { MemoryInputError, MemoryService } from "./memory-service.ts";
import { buildMemoryBlock, recallFor } from "./recall.ts";
import { MemoryPathError } from "./safe-write.ts";

export const memoryFeature: FeatureModule = {
  name: "memory",
  needsDatabase: true,
  assets: { commands: ["memory"] },
  create(context) {
    return createMemory(context);
  },
};

export default memoryFeature;

const z = tool.schema;

/** Turns the service's input errors into messages the model sees (not reported as faults). */
async function asToolInput<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof MemoryInputError || error instanceof MemoryPathError) throw new ToolInputError(error.message);
    throw error;
  }
}

/** Per session: the block built at its first message (cache-stable until a rebuild), its intent and turn count. */
interface MemorySessionState {
  block?: MemoryBlock;
  firstUserText?: string;
  userTurns: number;
}
const memorySlot = slot<MemorySessionState>("memory", () => ({ userTurns: 0 }));

export function createMemory(context: FeatureContext): FeatureParts {
  const { config, reporter, sessions } = context;
  const settings = config.memory;
  const locations = memoryLocations(context.paths, context.project.id, context.project.root, settings.location);
  const service = new MemoryService({
    db: context.db!,
    locations,
    projectId: context.project.id,
    sessionsDir: context.projectPaths.sessions,
    versionsKept: settings.versionsKept,
    sectionBudgetTokens: settings.sectionBudgetTokens,
    redact,
    repoMode: settings.location === "repo",
  });
  const startup = service.reconcile();
  for (const note of startup.notes) reporter.log("warn", `memory file ${note.path}: ${note.note}`);

  const history = settings.history
    ? new HistoryRecorder({
        db: context.db!,
        projectId: context.project.id,
        redact,
        isMain: (id) => sessions.isMain(id),
        retentionDays: settings.historyRetentionDays,
        onError: (error) => reporter.problem("memory:history", `history index write failed: ${(error as Error).message}`),
        isOwnText: isPackText,
      })
    : undefined;

  const stateOf = (sessionId: string) => sessions.session(sessionId).get(memorySlot);
  const blockFor = (sessionId: string): MemoryBlock => {
    const state = stateOf(sessionId);
    state.block ??= buildMemoryBlock(service, state.firstUserText ?? "", settings.injectBudgetTokens, blockLocations(locations, sessionId));
    return state.block;
  };
  const isUserSession = async (sessionId: string) => !sessions.helperOf(sessionId) && (await sessions.isMain(sessionId));

  sessions.on("memory", "turn.started", async (event) => {
    // Only what a person typed: the pack's own pushes and reports are neither a turn nor a recall query.
    if (event.origin !== "person" || !(await isUserSession(event.sessionId))) return;
    const state = stateOf(event.sessionId);
    state.userTurns++;
    state.firstUserText ??= event.text;
    // The first message builds the block now, so recall can skip what the block already shows.
    if (settings.injectBudgetTokens > 0) blockFor(event.sessionId);
    const recalled = recallFor(service, {
      text: event.text,
      sessionId: event.sessionId,
      exclude: new Set(state.block?.included.map((p) => p.entry.entryId) ?? []),
      budgetTokens: settings.recallBudgetTokens,
    });
    if (recalled) event.addContext(recalled.text);
  });
  sessions.on("memory", "message.seen", (event) => history?.onMessageUpdated({ id: event.messageId, role: event.role }));
  sessions.on("memory", "part.updated", (event) => history?.onPartUpdated(event.part));
  sessions.on("memory", "turn.ended", async () => history?.flush());
  sessions.on("memory", "session.created", () => void service.reconcile());
  // OpenCode rebuilt the context: the next call gets a freshly assembled block.
  sessions.on("memory", "session.compacted", (event) => void (stateOf(event.sessionId).block = undefined));

  const services: MemoryServices = {
    projectRules: () => projectRules(locations),
    rebuildFiles: (sessionId) => rebuildFiles(locations, sessionId),
    contextRebuilt: (sessionId) => void (stateOf(sessionId).block = undefined),
  };
  context.services.memory = services;

  return {
    tools: memoryTools(service, history, context, (id) => Math.max(1, stateOf(id).userTurns)) as FeatureParts["tools"],
    async systemPrompt(call) {
      if (settings.injectBudgetTokens <= 0 || call.hostHelper || !(await isUserSession(call.sessionId))) return;
      // system[0] stays as OpenCode built it; the block is its own entry so both stay cache-stable.
      const block = blockFor(call.sessionId);
      call.add(block.text);
      context.ledger?.addInjected(context.project.id, call.sessionId, "memory", block.tokens);
    },
    commands: {
      memory: async ({ sessionId }) => {
        if (settings.injectBudgetTokens > 0 && (await isUserSession(sessionId))) blockFor(sessionId);
        return { kind: "report", text: statusReport(service, locations, sessionId, settings.injectBudgetTokens, context, sessions.peek(sessionId)?.get(memorySlot).block) };
      },
    },
    dispose: async () => {
      await history?.dispose();
    },
  };
}

function memoryTools(
  service: MemoryService,
  history: HistoryRecorder | undefined,
  context: FeatureContext,
  turnOf: (sessionId: string) => number,
): NonNullable<Hooks["tool"]> {
  const db = context.db!;
  const projectId = context.project.id;
  return {
    memory_search: tool({
      description:
        "Search persistent memory (project and global MEMORY.md, topic files, session notes) by words; prefixes match, any language. Returns entry ids, where each entry lives, and a snippet.",
      args: {
        query: z.string().max(2000).describe("Words to look for"),
        scope: z.enum(["session", "project", "global", "all"]).optional().describe('Default "all"'),
        limit: z.number().int().min(1).max(50).optional().describe("Default 10"),
        mode: z.enum(["any", "all"]).optional().describe('"any" word (default) or "all" words must match'),
      },
      async execute(args, ctx) {
        const scope = args.scope ?? "all";
        const mode = args.mode ?? "any";
        const result = service.search({ query: args.query, scope, mode, limit: args.limit ?? 10, sessionId: ctx.sessionID });
        return formatSearch(args.query, scope, mode, result.hits, result.empty);
      },
    }),

    memory_remember: tool({
      description:
        "Save one durable entry to project memory (or global with scope \"global\"): a rule the user stated, an architecture decision, or a fact that stays true. Not for secrets, plans or passing details. Returns the entry id.",
      args: {
        section: z.string().max(100).describe('Project: "Rules", "Architecture decisions", "Discovered durable knowledge", "Project context". Global: "Preferences", "Rules".'),
        text: z.string().max(4000).describe("The entry: one to three lines, self-contained"),
        scope: z.enum(["project", "global"]).optional().describe('Default "project"'),
      },
      async execute(args, ctx) {
        const result = await asToolInput(() => service.remember({ ...args, sessionId: ctx.sessionID }));
        if (result.duplicateOf) return `Already in memory as ${result.duplicateOf} (${result.section}); nothing added.`;
        context.reporter.notify(`remembered in ${result.section}: ${args.text.slice(0, 60)}`, "success");
        const moved = result.movedToTopic ? ` The section grew past its budget; older entries moved to ${result.movedToTopic}.` : "";
        return `Remembered as ${result.id} in ${result.section} of ${result.file}.${moved}`;
      },
    }),

    memory_forget: tool({
      description: "Remove one memory entry by id (ids appear in memory_search results and the memory block). The previous file version is kept.",
      args: { id: z.string().min(1).max(80).describe("Entry id, e.g. m-1a2b3c4d") },
      async execute(args) {
        const removed = await asToolInput(() => service.forget(args.id));
        return `Removed ${args.id} from ${removed.file}: "${removed.text.slice(0, 200)}". The previous version of the file is kept in .versions/.`;
      },
    }),

    memory_note: tool({
      description:
        "Append a note to this session's scratchpad (notes.md): findings, partial results, things to check later. Notes survive a context rebuild and are searchable with memory_search scope \"session\". Not for durable project knowledge (use memory_remember).",
      args: { text: z.string().max(10000).describe("The note, plain text or markdown") },
      async execute(args, ctx) {
        const written = await asToolInput(() => service.appendNote(ctx.sessionID, args.text, turnOf(ctx.sessionID)));
        return `Noted under turn ${written.turn} in ${written.file}.`;
      },
    }),

    history_search: tool({
      description: "Search this project's past conversations word for word (user and assistant text, tool calls and outputs, redacted). Returns part and message ids.",
      args: {
        query: z.string().max(2000),
        limit: z.number().int().min(1).max(50).optional().describe("Default 10"),
      },
      async execute(args) {
        await history?.flush();
        const result = searchHistory(db, projectId, args.query, args.limit ?? 10);
        return formatHistorySearch(args.query, result.hits, result.empty);
      },
    }),

    history_around: tool({
      description: "Show the messages around one message of a past conversation (from a history_search hit).",
      args: { message_id: z.string().min(1).max(200) },
      async execute(args) {
        await history?.flush();
        const messages = messagesAround(db, projectId, args.message_id);
        if (!messages) throw new ToolInputError(`no message ${args.message_id} in this project's history; history_search gives message ids`);
        return formatAround(messages, args.message_id);
      },
    }),

    history_get: tool({
      description: "The full text of one part of a past conversation, in slices (offset/length in characters).",
      args: {
        part_id: z.string().min(1).max(200),
        offset: z.number().int().min(0).optional(),
        length: z.number().int().min(1).max(20000).optional().describe("Default 4000"),
      },
      async execute(args) {
        await history?.flush();
        const part = getPart(db, projectId, args.part_id);
        if (!part) throw new ToolInputError(`no part ${args.part_id} in this project's history; history_search gives part ids`);
        const offset = Math.min(args.offset ?? 0, part.text.length);
        return formatPart(part, offset, args.length ?? 4000);
      },
    }),
  };
}

function blockLocations(locations: MemoryLocations, sessionId: string) {
  return { projectFile: locations.projectFile, globalFile: locations.globalFile, notesFile: join(locations.sessionDir(sessionId), "notes.md") };
}

function statusReport(service: MemoryService, locations: MemoryLocations, sessionId: string, budget: number, context: FeatureContext, block: MemoryBlock | undefined): string {
  const stats = service.reconcile();
  const counts = { project: 0, global: 0, session: 0 };
  const rows = context.db!
    .prepare("SELECT scope, COUNT(*) AS n FROM memory_entries WHERE project_id = ? OR scope = 'global' GROUP BY scope")
    .all<{ scope: keyof typeof counts; n: number }>(context.project.id);
  for (const row of rows) counts[row.scope] = row.n;
  return formatStatus({
    block,
    budgetTokens: budget,
    files: { projectFile: locations.projectFile, globalFile: locations.globalFile, projectDir: locations.projectDir, notesDir: locations.sessionDir(sessionId) },
    counts,
    notes: stats.notes,
  });
}

function readText(file: string): string {
  try {
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  } catch {
    return "";
  }
}

/** The "## Rules" section of the project MEMORY.md. */
function projectRules(locations: MemoryLocations): string {
  const content = readText(locations.projectFile);
  const match = content.match(/^## Rules\s*\n([\s\S]*?)(?=^## |\s*$(?![\s\S]))/m);
  return match?.[1]?.trim() ?? "";
}

function rebuildFiles(locations: MemoryLocations, sessionId: string) {
  const index: string[] = [];
  for (const dir of [locations.projectDir, locations.globalDir]) {
    try {
      for (const name of readdirSync(dir)) if (name.endsWith(".md") && name !== "MEMORY.md") index.push(join(dir, name));
    } catch {
      /* no memory dir yet */
    }
  }
  return {
    projectMemory: readText(locations.projectFile),
    globalMemory: readText(locations.globalFile),
    notes: readText(join(locations.sessionDir(sessionId), "notes.md")),
    memoryIndex: index,
  };
}
