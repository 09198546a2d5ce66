// The memory feature's two tools, `memory` (search / remember / forget / note) and `history` (search / around /
// get). Two tools with an action instead of seven: their schemas are sent with every model request, so fewer,
// denser definitions are what every call pays. Arguments are validated by core/tool.ts before anything runs.
import { z } from "zod";
import { ToolInputError } from "../core/tool.ts";
import { abbreviate, actionRules, defineTool, type PackTool } from "../core/tool.ts";
import { formatAround, formatHistorySearch, formatPart, formatSearch, MAX_TOOL_OUTPUT_CHARS } from "./format.ts";
import type { HistoryRecorder } from "./history-recorder.ts";
import { getPart, messagesAround, searchHistory } from "./history-store.ts";
import { MAX_ENTRY_CHARS, MAX_NOTE_CHARS, MemoryInputError, type MemoryService } from "./memory-service.ts";
import { MemoryPathError } from "./safe-write.ts";
import type { Database } from "../core/storage/database.ts";

export const MEMORY_TOOL = "memory";
export const HISTORY_TOOL = "history";
export const MAX_QUERY_CHARS = 2000;
/** How much of a query or id a result repeats back: enough to recognise it, never a flood. */
const ECHO_CHARS = 80;
const DEFAULT_SLICE = 4000;
const MAX_SLICE = 8000;

export interface MemoryToolDeps {
  service: MemoryService;
  history: HistoryRecorder | undefined;
  db: Database;
  projectId: string;
  /** The user turn a note is filed under. */
  turnOf(sessionId: string): number;
  notify(message: string): void;
}

const MEMORY_ACTIONS = ["search", "remember", "forget", "note"] as const;
const HISTORY_ACTIONS = ["search", "around", "get"] as const;

const memoryArgs = {
  action: z.enum(MEMORY_ACTIONS),
  query: z.string().max(MAX_QUERY_CHARS).optional(),
  scope: z
    .enum(["session", "project", "global", "all"])
    .optional()
    .describe("search: default all; remember: project (default) or global"),
  mode: z.enum(["any", "all"]).optional().describe("search: any word (default) or all"),
  limit: z.number().int().min(1).max(50).optional(),
  section: z
    .string()
    .max(100)
    .optional()
    .describe(
      "Rules, Architecture decisions, Discovered durable knowledge, Project context; global: Preferences, Rules",
    ),
  text: z.string().max(MAX_NOTE_CHARS).optional(),
  id: z.string().min(1).max(80).optional().describe("entry id, e.g. m-1a2b3c4d"),
};

const historyArgs = {
  action: z.enum(HISTORY_ACTIONS),
  query: z.string().max(MAX_QUERY_CHARS).optional(),
  limit: z.number().int().min(1).max(50).optional(),
  id: z.string().min(1).max(200).optional(),
  offset: z.number().int().min(0).max(100_000_000).optional(),
  length: z.number().int().min(1).max(MAX_SLICE).optional().describe(`default ${DEFAULT_SLICE}`),
};

const memoryRules = actionRules<(typeof MEMORY_ACTIONS)[number]>({
  search: { needs: ["query"], takes: ["scope", "mode", "limit"] },
  remember: { needs: ["section", "text"], takes: ["scope"] },
  forget: { needs: ["id"] },
  note: { needs: ["text"] },
});

const historyRules = actionRules<(typeof HISTORY_ACTIONS)[number]>({
  search: { needs: ["query"], takes: ["limit"] },
  around: { needs: ["id"] },
  get: { needs: ["id"], takes: ["offset", "length"] },
});

/** Turns the service's input errors into messages the model sees (not reported as faults). */
async function asToolInput<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof MemoryInputError || error instanceof MemoryPathError) throw new ToolInputError(error.message);
    throw error;
  }
}

export function memoryTools(deps: MemoryToolDeps): Record<string, PackTool> {
  return { [MEMORY_TOOL]: memoryTool(deps), [HISTORY_TOOL]: historyTool(deps) };
}

function memoryTool(deps: MemoryToolDeps): PackTool {
  const { service } = deps;
  return defineTool(MEMORY_TOOL, {
    description:
      "Persistent memory: project and global MEMORY.md, this session's notes. search {query}: entries with ids (prefixes match). " +
      "remember {section, text}: one lasting rule, decision or fact in 1-3 lines; no secrets, plans or progress. forget {id}. " +
      "note {text}: session scratchpad, survives context rebuilds.",
    args: memoryArgs,
    maxOutputChars: MAX_TOOL_OUTPUT_CHARS + 500,
    check: (args) => [
      ...memoryRules(args),
      ...(args.action === "remember" && args.scope && args.scope !== "project" && args.scope !== "global"
        ? [`scope: remember takes "project" or "global", got "${args.scope}"`]
        : []),
      ...(args.action === "remember" && (args.text?.length ?? 0) > MAX_ENTRY_CHARS
        ? [`text: an entry holds at most ${MAX_ENTRY_CHARS} characters, got ${args.text!.length}; split or shorten it`]
        : []),
    ],
    async execute(args, ctx) {
      switch (args.action) {
        case "search": {
          const scope = args.scope ?? "all";
          const mode = args.mode ?? "any";
          const result = service.search({
            query: args.query!,
            scope,
            mode,
            limit: args.limit ?? 10,
            sessionId: ctx.sessionID,
          });
          return formatSearch(abbreviate(args.query!, ECHO_CHARS), scope, mode, result.hits, result.empty);
        }
        case "remember": {
          const scope = args.scope as "project" | "global" | undefined;
          const result = await asToolInput(() =>
            service.remember({ section: args.section!, text: args.text!, scope, sessionId: ctx.sessionID }),
          );
          if (result.duplicateOf)
            return `Already in memory as ${result.duplicateOf} (${result.section}); nothing added.`;
          deps.notify(`remembered in ${result.section}: ${abbreviate(args.text!, 60)}`);
          const moved = result.movedToTopic
            ? ` The section grew past its budget; older entries moved to ${result.movedToTopic}.`
            : "";
          const repaired = result.repaired ? ` Note: ${result.repaired}` : "";
          if (result.repaired) deps.notify(result.repaired);
          return `Remembered as ${result.id} in ${result.section} of ${result.file}.${moved}${repaired}`;
        }
        case "forget": {
          const removed = await asToolInput(() => service.forget(args.id!));
          if (removed.repaired) deps.notify(removed.repaired);
          return `Removed ${args.id} from ${removed.file}: "${abbreviate(removed.text, 200)}". The previous version of the file is kept in .versions/.${removed.repaired ? ` Note: ${removed.repaired}` : ""}`;
        }
        case "note": {
          const written = await asToolInput(() =>
            service.appendNote(ctx.sessionID, args.text!, deps.turnOf(ctx.sessionID)),
          );
          if (written.repaired) deps.notify(written.repaired);
          return `Noted under turn ${written.turn} in ${written.file}.${written.repaired ? ` Note: ${written.repaired}` : ""}`;
        }
      }
    },
  });
}

function historyTool(deps: MemoryToolDeps): PackTool {
  const { db, projectId } = deps;
  return defineTool(HISTORY_TOOL, {
    description:
      "This project's past conversations word for word (messages, tool calls and outputs; redacted). " +
      "search {query}: hits with message and part ids. around {id: message id}: the messages around it. get {id: part id, offset?}: full text, in slices.",
    args: historyArgs,
    maxOutputChars: MAX_TOOL_OUTPUT_CHARS + MAX_SLICE,
    check: historyRules,
    async execute(args) {
      await deps.history?.flush();
      const id = args.id?.trim() ?? "";
      switch (args.action) {
        case "search": {
          const result = searchHistory(db, projectId, args.query!, args.limit ?? 10);
          return formatHistorySearch(abbreviate(args.query!, ECHO_CHARS), result.hits, result.empty);
        }
        case "around": {
          const messages = messagesAround(db, projectId, id);
          if (!messages)
            throw new ToolInputError(
              `no message ${abbreviate(id, ECHO_CHARS)} in this project's history; history search gives message ids`,
            );
          return formatAround(messages, id);
        }
        case "get": {
          const part = getPart(db, projectId, id);
          if (!part)
            throw new ToolInputError(
              `no part ${abbreviate(id, ECHO_CHARS)} in this project's history; history search gives part ids`,
            );
          return formatPart(part, Math.min(args.offset ?? 0, part.text.length), args.length ?? DEFAULT_SLICE);
        }
      }
    },
  });
}
