// dream_memory: the dream agent's only way to change memory, and it changes only the run's draft (draft.ts).
// One tool with an action, like the memory tool: its schema is sent with every request of the run.
import { z } from "zod";
import { ToolInputError } from "../core/tool.ts";
import { actionRules, defineTool, type PackTool, type ToolCallContext } from "../core/tool.ts";
import { normalizeForCompare } from "../core/memory-format.ts";
import { DraftError, type DraftEntry, type MemoryDraft } from "./draft.ts";
import { lineCount, type DreamLimits } from "./limits.ts";

export const DREAM_AGENT = "dream";
export const DREAM_MEMORY_TOOL = "dream_memory";
export const DREAM_REPORT_TOOL = "dream_report";

const ACTIONS = ["list", "search", "remember", "forget", "replace", "merge"] as const;
const session = z.string().min(1).max(64);

const args = {
  action: z.enum(ACTIONS),
  query: z.string().max(500).optional(),
  section: z
    .string()
    .max(100)
    .optional()
    .describe(
      "remember: Rules, Architecture decisions, Discovered durable knowledge, Project context, Patterns, Gotchas",
    ),
  text: z.string().max(2000).optional().describe("1-3 lines"),
  id: z.string().min(1).max(80).optional(),
  ids: z.array(z.string().min(1).max(80)).min(2).max(20).optional(),
  sessions: z.array(session).max(50).optional().describe("ids of every session the fact comes from"),
};

const rules = actionRules<(typeof ACTIONS)[number]>({
  list: {},
  search: { needs: ["query"] },
  remember: { needs: ["section", "text", "sessions"] },
  forget: { needs: ["id"] },
  replace: { needs: ["id", "text"], takes: ["sessions"] },
  merge: { needs: ["ids", "text"], takes: ["sessions"] },
});

export interface ActiveDraft {
  draft: MemoryDraft;
  limits: DreamLimits;
}

export function renderEntries(entries: DraftEntry[]): string {
  if (!entries.length) return "(no entries)";
  return entries
    .map(
      (e) =>
        `[${e.id}] (${e.section || "no section"}) ${e.text.replace(/\n/g, " / ")}${e.date ? ` — ${e.date}` : ""}${e.sessions.length ? ` · ${e.sessions.join(",")}` : ""}`,
    )
    .join("\n");
}

/**
 * `activeFor` answers the run whose child session is calling, or undefined: the tool then does nothing (another
 * agent, or no dream running).
 */
export function dreamMemoryTool(activeFor: (ctx: ToolCallContext) => ActiveDraft | undefined): PackTool {
  return defineTool(DREAM_MEMORY_TOOL, {
    description:
      "The dream's working copy of the project MEMORY.md (written only after code checks it at the end). list: entries with ids. search {query}. " +
      "remember {section, text, sessions}. forget {id}. replace {id, text, sessions?}: rewrite one entry. merge {ids, text, sessions?}: several entries become one.",
    args,
    check: rules,
    execute(input, ctx) {
      const active = activeFor(ctx);
      if (!active)
        throw new ToolInputError(
          `${DREAM_MEMORY_TOOL} belongs to a running dream (/dream); it does nothing here. Use the memory tool.`,
        );
      const { draft, limits } = active;
      const size = () =>
        `MEMORY.md draft: ${lineCount(draft.text)}/${limits.maxLines} lines, ${Buffer.byteLength(draft.text)}/${limits.maxBytes} bytes.`;
      try {
        switch (input.action) {
          case "list":
            return `${renderEntries(draft.entries())}\n${size()}`;
          case "search": {
            const words = normalizeForCompare(input.query!)
              .split(" ")
              .filter((w) => w.length > 1);
            const hits = draft.entries().filter((e) => words.some((w) => normalizeForCompare(e.text).includes(w)));
            return hits.length
              ? renderEntries(hits)
              : `No entry mentions ${JSON.stringify(input.query!.slice(0, 80))}. Try other words, or list.`;
          }
          case "remember":
            return `Added ${draft.remember(input.section!, input.text!, input.sessions!)} to the draft. ${size()}`;
          case "forget":
            return `Removed from the draft: "${draft.forget(input.id!).slice(0, 200)}". ${size()}`;
          case "replace":
            return `Rewrote ${draft.replace(input.id!, input.text!, input.sessions ?? [])} in the draft. ${size()}`;
          case "merge":
            return `Merged into ${draft.merge(input.ids!, input.text!, input.sessions ?? [])}. ${size()}`;
        }
      } catch (error) {
        if (error instanceof DraftError) throw new ToolInputError(error.message);
        throw error;
      }
    },
  });
}
