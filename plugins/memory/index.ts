// Host adapter of the memory feature: tools, the memory block in the system prompt, per-message recall,
// the history index fed from the event stream, and the /memory report. Logic lives in the sibling modules.
import { tool, type Hooks } from "@opencode-ai/plugin";
import { join } from "node:path";
import { ToolInputError } from "../core/compose.ts";
import type { FeatureContext, FeatureModule } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { memoryBlocks, type MemoryBlock } from "./block.ts";
import { formatAround, formatHistorySearch, formatPart, formatSearch, formatStatus, REPORT_TITLE } from "./format.ts";
import { HistoryRecorder } from "./history-recorder.ts";
import { getPart, messagesAround, searchHistory } from "./history-store.ts";
import { memoryLocations, type MemoryLocations } from "./locations.ts";
import { MemoryInputError, MemoryService } from "./memory-service.ts";
import { buildMemoryBlock, recallFor } from "./recall.ts";
import { MemoryPathError } from "./safe-write.ts";

export { memoryBlocks, MemoryBlockCache } from "./block.ts";

export const memoryFeature: FeatureModule = {
  name: "memory",
  needsDatabase: true,
  assets: { commands: ["memory"] },
  create(context) {
    return createMemoryHooks(context);
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

export function createMemoryHooks(context: FeatureContext): Hooks {
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
        isOwnText: (text) => text.startsWith(REPORT_TITLE) || text === REPORT_POINTER,
      })
    : undefined;
  const firstUserText = new Map<string, string>();
  const userTurns = new Map<string, number>();

  const blockFor = (sessionId: string): MemoryBlock => {
    const cached = memoryBlocks.get(sessionId);
    if (cached) return cached;
    const block = buildMemoryBlock(service, firstUserText.get(sessionId) ?? "", settings.injectBudgetTokens, blockLocations(locations, sessionId));
    memoryBlocks.set(sessionId, block);
    return block;
  };

  const isUserSession = async (sessionId: string | undefined): Promise<boolean> =>
    Boolean(sessionId) && !sessions.internalPurpose(sessionId!) && (await sessions.isMain(sessionId!));

  return {
    tool: memoryTools(service, history, context, (id) => userTurns.get(id) ?? 1),

    "chat.message": async (input, output) => {
      if (!(await isUserSession(input.sessionID))) return;
      const text = userText(output.parts as unknown[]);
      // The /memory report and the command's pointer to it are not user intent: no turn, no recall.
      if (text.startsWith(REPORT_TITLE) || text === REPORT_POINTER) return;
      userTurns.set(input.sessionID, (userTurns.get(input.sessionID) ?? 0) + 1);
      if (!firstUserText.has(input.sessionID)) firstUserText.set(input.sessionID, text);
      // The first message builds the block now, so recall can skip what the block already shows.
      if (settings.injectBudgetTokens > 0) blockFor(input.sessionID);
      const recalled = recallFor(service, {
        text,
        sessionId: input.sessionID,
        exclude: memoryBlocks.includedIds(input.sessionID),
        budgetTokens: settings.recallBudgetTokens,
      });
      if (!recalled) return;
      const messageID = input.messageID ?? (output.message as { id?: string }).id;
      if (!messageID) return;
      (output.parts as unknown[]).push({
        id: partId(),
        sessionID: input.sessionID,
        messageID,
        type: "text",
        text: recalled.text,
        synthetic: true,
      });
    },

    "experimental.chat.system.transform": async (input, output) => {
      if (settings.injectBudgetTokens <= 0 || !(await isUserSession(input.sessionID))) return;
      if (isHelperPrompt(output.system)) return;
      // system[0] stays as OpenCode built it; the block is its own entry so both stay cache-stable.
      output.system.push(blockFor(input.sessionID!).text);
    },

    "command.execute.before": async (input, output) => {
      if (input.command !== "memory") return;
      if (settings.injectBudgetTokens > 0 && (await isUserSession(input.sessionID))) blockFor(input.sessionID);
      const report = statusReport(service, locations, input.sessionID, settings.injectBudgetTokens, context);
      await showReport(context, input.sessionID, report, output.parts as { type: string; text?: string }[]);
    },

    event: async ({ event }) => {
      const properties = (event as { properties?: Record<string, unknown> }).properties ?? {};
      switch (event.type as string) {
        case "message.updated":
          history?.onMessageUpdated((properties.info ?? {}) as { id?: unknown; role?: unknown });
          return;
        case "message.part.updated":
          history?.onPartUpdated((properties.part ?? {}) as Record<string, unknown>);
          return;
        case "session.idle":
          await history?.flush();
          return;
        case "session.created":
          service.reconcile();
          return;
        case "session.compacted":
          // OpenCode rebuilt the context: the next call gets a freshly assembled block.
          memoryBlocks.invalidate(String(properties.sessionID ?? ""));
          return;
        case "session.deleted": {
          const id = String((properties.info as { id?: string } | undefined)?.id ?? properties.sessionID ?? "");
          memoryBlocks.invalidate(id);
          firstUserText.delete(id);
          userTurns.delete(id);
          return;
        }
      }
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

function statusReport(service: MemoryService, locations: MemoryLocations, sessionId: string, budget: number, context: FeatureContext): string {
  const stats = service.reconcile();
  const counts = { project: 0, global: 0, session: 0 };
  const rows = context.db!
    .prepare("SELECT scope, COUNT(*) AS n FROM memory_entries WHERE project_id = ? OR scope = 'global' GROUP BY scope")
    .all<{ scope: keyof typeof counts; n: number }>(context.project.id);
  for (const row of rows) counts[row.scope] = row.n;
  return formatStatus({
    block: memoryBlocks.get(sessionId),
    budgetTokens: budget,
    files: { projectFile: locations.projectFile, globalFile: locations.globalFile, projectDir: locations.projectDir, notesDir: locations.sessionDir(sessionId) },
    counts,
    notes: stats.notes,
  });
}

const REPORT_POINTER =
  "The opencode-continuum memory report is in the previous message. Reply with one short sentence pointing the user to it. Do not call tools.";

/**
 * OpenCode has no way for a command to skip the model (a throwing hook is a server error), so the report
 * is stored verbatim as a context-only message the user sees at once, and the model is only asked to
 * point at it: a one-line answer instead of the model retyping the report.
 */
async function showReport(context: FeatureContext, sessionId: string, report: string, parts: { type: string; text?: string }[]): Promise<void> {
  const stored = await context.host.client.session.prompt({
    path: { id: sessionId },
    body: { noReply: true, parts: [{ type: "text", text: report }] },
  });
  const instruction = stored.error
    ? `Show the user this memory report exactly as written, without tools or commentary:\n\n${report}`
    : REPORT_POINTER;
  const textPart = parts.find((p) => p.type === "text");
  if (textPart) textPart.text = instruction;
  else parts.push({ type: "text", text: instruction });
}

function userText(parts: unknown[]): string {
  return parts
    .map((p) => p as { type?: string; text?: string; synthetic?: boolean })
    .filter((p) => p.type === "text" && typeof p.text === "string" && !p.synthetic)
    .map((p) => p.text!)
    .join("\n");
}

/** OpenCode's hidden title/summary helpers share the session id; they need no memory. */
function isHelperPrompt(system: string[]): boolean {
  return system.some((s) => s.includes("You are a title generator") || s.includes("Summarize what was done in this conversation"));
}

let partCounter = 0;
/** Part ids sort by time like OpenCode's own ("prt_" + time-ordered hex + random). */
function partId(): string {
  const stamp = (BigInt(Date.now()) * 0x1000n + BigInt(partCounter++ % 0x1000)).toString(16).padStart(12, "0");
  const random = Array.from({ length: 14 }, () => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 62)]).join("");
  return `prt_${stamp}${random}`;
}
