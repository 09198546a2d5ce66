// Host adapter of the memory feature: tools, the memory block in the system prompt, per-message recall,
// the history index fed from the event stream, and the /memory report. Logic lives in the sibling modules.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FeatureContext, FeatureModule, FeatureParts, MemoryServices } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { isPackText } from "../core/pack-text.ts";
import { slot } from "../core/sessions.ts";
import type { MemoryBlock } from "./block.ts";
import { formatStatus } from "./format.ts";
import { backfillHistory } from "./history-backfill.ts";
import { HistoryRecorder } from "./history-recorder.ts";
import { memoryLocations, type MemoryLocations } from "./locations.ts";
import { MemoryService } from "./memory-service.ts";
import { buildMemoryBlock, recallFor } from "./recall.ts";
import { memoryTools } from "./tools.ts";

export const memoryFeature: FeatureModule = {
  name: "memory",
  needsDatabase: true,
  provides: ["memory"],
  assets: { commands: ["memory"] },
  create(context) {
    return createMemory(context);
  },
};

export default memoryFeature;

/** Per session: the block built at its first message (cache-stable until a rebuild), its intent and turn count. */
interface MemorySessionState {
  block?: MemoryBlock;
  firstUserText?: string;
  userTurns: number;
}
export const memorySlot = slot<MemorySessionState>("memory", () => ({ userTurns: 0 }));

/**
 * Sessions OpenCode already stores (before the install, or while the pack was off) become searchable in the
 * background, a moment after start so the user's first request never waits for it.
 */
function scheduleBackfill(context: FeatureContext, stopped: () => boolean): ReturnType<typeof setTimeout> {
  const { reporter } = context;
  const settings = context.config.memory;
  const timer = setTimeout(() => {
    backfillHistory({
      db: context.db!,
      host: context.host,
      projectId: context.project.id,
      retentionDays: settings.historyRetentionDays,
      redact,
      isOwnText: isPackText,
      stopped,
      onProgress: (done, total) => {
        if (done === total || done % 50 === 0)
          reporter.log("info", `history: indexed ${done} of ${total} stored sessions`);
      },
    })
      .then(
        (result) =>
          result.parts > 0 &&
          reporter.notify(`history: ${result.sessions} earlier sessions are now searchable`, "info"),
      )
      .catch((error) =>
        reporter.problem("memory:history", `indexing stored sessions failed: ${(error as Error).message}`),
      );
  }, 1500);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * The history index: every message of the user's sessions recorded from the event stream as it happens, and the
 * sessions OpenCode stored before backfilled in the background.
 */
function startHistory(context: FeatureContext): { recorder: HistoryRecorder; stopBackfill(): void } {
  const { reporter, sessions } = context;
  const recorder = new HistoryRecorder({
    db: context.db!,
    projectId: context.project.id,
    redact,
    isMain: (id) => sessions.isMain(id),
    retentionDays: context.config.memory.historyRetentionDays,
    onError: (error) => reporter.problem("memory:history", `history index write failed: ${(error as Error).message}`),
    isOwnText: isPackText,
  });
  let stopped = false;
  const backfill = scheduleBackfill(context, () => stopped);
  sessions.on("memory", "message.seen", (event) =>
    recorder.onMessageUpdated({ id: event.messageId, role: event.role }),
  );
  sessions.on("memory", "part.updated", (event) => recorder.onPartUpdated(event.part));
  sessions.on("memory", "turn.ended", async () => recorder.flush());
  return {
    recorder,
    stopBackfill() {
      stopped = true;
      clearTimeout(backfill);
    },
  };
}

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
    watch: true,
  });
  const startup = service.reconcile();
  for (const note of startup.notes) reporter.log("warn", `memory file ${note.path}: ${note.note}`);

  const history = settings.history ? startHistory(context) : undefined;

  const stateOf = (sessionId: string) => sessions.session(sessionId).get(memorySlot);
  const blockFor = (sessionId: string): MemoryBlock => {
    const state = stateOf(sessionId);
    state.block ??= buildMemoryBlock(
      service,
      state.firstUserText ?? "",
      settings.injectBudgetTokens,
      blockLocations(locations, sessionId),
    );
    return state.block;
  };
  const isUserSession = async (sessionId: string) =>
    !sessions.helperOf(sessionId) && (await sessions.isMain(sessionId));

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
  sessions.on("memory", "session.created", () => void service.reconcile());
  // OpenCode rebuilt the context: the next call gets a freshly assembled block.
  sessions.on("memory", "session.compacted", (event) => void (stateOf(event.sessionId).block = undefined));

  const services: MemoryServices = {
    projectRules: () => projectRules(locations),
    rebuildFiles: (sessionId) => rebuildFiles(locations, sessionId),
    contextRebuilt: (sessionId) => void (stateOf(sessionId).block = undefined),
    blockFor: (sessionId, query, budgetTokens) => {
      const block = buildMemoryBlock(service, query, budgetTokens, blockLocations(locations, sessionId));
      return { text: block.text, tokens: block.tokens };
    },
    projectMemory: () => service.projectMemory(),
    replaceFile: (file, text, expect) => service.replaceFile(file, text, expect),
    restoreFile: (file, bytes, expectSha256) => service.restoreFile(file, bytes, expectSha256),
  };
  context.provide("memory", services);

  return {
    tools: memoryTools({
      service,
      history: history?.recorder,
      db: context.db!,
      projectId: context.project.id,
      turnOf: (id) => Math.max(1, stateOf(id).userTurns),
      notify: (message) => context.reporter.notify(message, "success"),
    }),
    async systemPrompt(call) {
      if (settings.injectBudgetTokens <= 0 || call.hostHelper || !(await isUserSession(call.sessionId))) return;
      // system[0] stays as OpenCode built it; the block is its own entry so both stay cache-stable.
      const block = blockFor(call.sessionId);
      // Empty memory has nothing to say: no block at all (an empty string would go out as an empty system message).
      if (!block.text) return;
      call.add(block.text);
      context.ledger?.addInjected(context.project.id, call.sessionId, "memory", block.tokens);
    },
    commands: {
      memory: async ({ sessionId }) => {
        if (settings.injectBudgetTokens > 0 && (await isUserSession(sessionId))) blockFor(sessionId);
        return {
          kind: "report",
          text: statusReport(
            service,
            locations,
            sessionId,
            settings.injectBudgetTokens,
            context,
            sessions.peek(sessionId)?.get(memorySlot).block,
          ),
        };
      },
    },
    dispose: async () => {
      history?.stopBackfill();
      service.close();
      await history?.recorder.dispose();
    },
  };
}

function blockLocations(locations: MemoryLocations, sessionId: string) {
  return {
    projectFile: locations.projectFile,
    globalFile: locations.globalFile,
    notesFile: join(locations.sessionDir(sessionId), "notes.md"),
  };
}

function statusReport(
  service: MemoryService,
  locations: MemoryLocations,
  sessionId: string,
  budget: number,
  context: FeatureContext,
  block: MemoryBlock | undefined,
): string {
  const stats = service.reconcile();
  const counts = { project: 0, global: 0, session: 0 };
  const rows = context
    .db!.prepare(
      "SELECT scope, COUNT(*) AS n FROM memory_entries WHERE project_id = ? OR scope = 'global' GROUP BY scope",
    )
    .all<{ scope: keyof typeof counts; n: number }>(context.project.id);
  for (const row of rows) counts[row.scope] = row.n;
  return formatStatus({
    block,
    budgetTokens: budget,
    files: {
      projectFile: locations.projectFile,
      globalFile: locations.globalFile,
      projectDir: locations.projectDir,
      notesDir: locations.sessionDir(sessionId),
    },
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
      for (const name of readdirSync(dir))
        if (name.endsWith(".md") && name !== "MEMORY.md") index.push(join(dir, name));
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
