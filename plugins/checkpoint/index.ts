// Host adapter of checkpoints and context rebuild: the meter (message.updated + chat.params), the schedule,
// the background writer (child sessions + checkpoint_write), the rebuild through messages.transform, the
// compaction hook, the previous-session pointer and the /checkpoint, /rebuild, /context commands.
import { tool, type Hooks } from "@opencode-ai/plugin";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ToolInputError } from "../core/compose.ts";
import { estimateTokens } from "../core/tokens.ts";
import type { FeatureContext, FeatureModule } from "../core/feature.ts";
import { redact } from "../core/redaction.ts";
import { memoryBlocks } from "../memory/block.ts";
import { memoryLocations, type MemoryLocations } from "../memory/locations.ts";
import { renderTaskLedger } from "../tasks/render.ts";
import { isSettled, openTaskStore, type TaskStore } from "../tasks/store.ts";
import { RequestEstimator } from "./estimate.ts";
import { actionFor, enoughNewContent, resolveSchedule, tokensInUse, percent, type ModelLimit, type ReportedTokens, type Schedule } from "./meter.ts";
import { applyCut, planRebuild, shortenOldToolOutputs, type StoredCut } from "./rebuild.ts";
import { age, formatContextReport } from "./report.ts";
import {
  checkpointArgsShape,
  checkpointShapeProblems,
  composeSections,
  renderCheckpoint,
  validateWriterSections,
  type DeterministicFacts,
} from "./sections.ts";
import { openCheckpointStore, type CheckpointStore } from "./store.ts";
import {
  exactValues,
  fileUses,
  isPackText,
  liveResources,
  messagesSince,
  renderFailures,
  renderFiles,
  renderLiveResources,
  textOf,
  toolFailures,
  type HostMessage,
} from "./transcript.ts";
import { buildWriterInput, userTexts } from "./writer-input.ts";
import { WriterQueue } from "./writer.ts";

export const WRITER_AGENT = "checkpoint-writer";
const HIDDEN_AGENTS = new Set(["title", "summary", "compaction", WRITER_AGENT]);
const REPORT_MARKERS = ["[continuum /context]", "[continuum /checkpoint]"];
export const REPORT_TITLE = "opencode-continuum · context report";
const DEFAULT_OVERHEAD = 6000;

export const checkpointFeature: FeatureModule = {
  name: "checkpoint",
  needsDatabase: true,
  assets: { agents: [WRITER_AGENT], commands: ["checkpoint", "rebuild", "context"] },
  internalTools: [{ tool: "checkpoint_write", agent: WRITER_AGENT }],
  create(context) {
    return createCheckpointHooks(context, openCheckpointStore(context.db!), openTaskStore(context.db!));
  },
};

export default checkpointFeature;

interface SessionModel {
  limit: ModelLimit;
  modelKey: string;
  providerID: string;
  modelID: string;
  agent?: string;
}

interface WriterContext {
  mainSessionId: string;
  stored?: boolean;
  facts: DeterministicFacts;
  userTexts: string[];
  watermark: string | null;
}

function createCheckpointHooks(context: FeatureContext, store: CheckpointStore, tasks: TaskStore): Hooks {
  const { config, reporter, sessions, host } = context;
  const settings = config.checkpoint;
  const log = reporter.child("checkpoint");
  const locations = memoryLocations(context.paths, context.project.id, context.project.root, config.memory.location);
  const models = new Map<string, SessionModel>();
  const pendingRebuild = new Map<string, { reason: string; afterCompaction?: boolean }>();
  const resetAfterRebuild = new Set<string>();
  const cuts = new Map<string, StoredCut | null>();
  const writerContexts = new Map<string, WriterContext>();
  const writerFailed = new Set<string>();
  const countedWriterMessages = new Set<string>();
  const pointers = new Map<string, string>();
  const estimator = new RequestEstimator();
  const contentAtCheckpoint = new Map<string, number>();
  const lastReading = new Map<string, { used: number; messagesTokens: number }>();
  const readMessages = new Map<string, string>();
  const dumpSizes = new WeakMap<StoredCut, number>();
  const dumpSize = (cut: StoredCut) => {
    if (!dumpSizes.has(cut)) dumpSizes.set(cut, estimateTokens(cut.dump) + 4);
    return dumpSizes.get(cut)!;
  };

  const scheduleOf = (sessionId: string): Schedule | undefined => {
    const model = models.get(sessionId);
    return model ? resolveSchedule(settings, model.modelKey, model.limit) : undefined;
  };

  const cutOf = (sessionId: string): StoredCut | null => {
    if (!cuts.has(sessionId)) {
      const state = store.state(sessionId);
      cuts.set(sessionId, state.boundaryMessageId && state.boundaryDump ? { boundaryMessageId: state.boundaryMessageId, dump: state.boundaryDump } : null);
    }
    return cuts.get(sessionId)!;
  };

  const checkpointFile = (sessionId: string) => join(locations.sessionDir(sessionId), "checkpoint.md");

  // ---- the writer --------------------------------------------------------------------------------------

  const queue = new WriterQueue(
    {
      async start(mainSessionId, reason) {
        // The main loop goes on while the writer starts: stop at the first assistant message still being written,
        // so the watermark never lands on a message whose later parts the next delta would miss.
        const all = await fetchMessages(mainSessionId);
        const open = all.findIndex((m) => m.info.role === "assistant" && !m.info.time?.completed);
        const messages = open < 0 ? all : all.slice(0, open);
        const previous = store.latest(mainSessionId);
        const delta = messagesSince(messages, previous?.watermark ?? null);
        const users = userTexts(messages);
        const facts = computeFacts(mainSessionId, messages, users);
        const watermark = messages.at(-1)?.info.id ?? null;
        const schedule = scheduleOf(mainSessionId);
        const input = buildWriterInput({
          sessionId: mainSessionId,
          previous: previous?.markdown,
          delta,
          facts,
          // The original request, when the delta no longer holds it.
          firstRequest: delta.includes(messages.find((m) => m.info.role === "user")!) ? undefined : users[0],
          redact,
          maxDeltaTokens: Math.max(4000, Math.min(40000, Math.round((schedule?.usable ?? 64000) * 0.5))),
        });
        const created = await host.client.session.create({ body: { parentID: mainSessionId, title: `continuum checkpoint writer (${reason})` } });
        if (!created.data) throw new Error(`session.create failed: ${JSON.stringify(created.error)}`);
        const childId = created.data.id;
        sessions.markInternal(childId, WRITER_AGENT);
        sessions.markChild(childId, mainSessionId);
        writerContexts.set(childId, { mainSessionId, facts, userTexts: users, watermark });
        store.update(mainSessionId, { writerRuns: store.state(mainSessionId).writerRuns + 1 });
        const sent = await host.client.session.promptAsync({
          path: { id: childId },
          body: { agent: WRITER_AGENT, parts: [{ type: "text", text: input }], ...writerModel(mainSessionId) },
        });
        if (sent.error) throw new Error(`promptAsync failed: ${JSON.stringify(sent.error)}`);
        log.log("info", `writer ${childId} started for ${mainSessionId} (${reason}); input ~${Math.round(input.length / 4)} tokens, ${delta.length} new messages`);
        return { childId, watermark };
      },
      async retry(childId, problem) {
        const sent = await host.client.session.promptAsync({ path: { id: childId }, body: { agent: WRITER_AGENT, parts: [{ type: "text", text: problem }] } });
        if (sent.error) throw new Error(JSON.stringify(sent.error));
      },
      async abort(childId) {
        await host.client.session.abort({ path: { id: childId } });
      },
      onFailure(mainSessionId, reason) {
        const state = store.state(mainSessionId);
        store.update(mainSessionId, { writerFailures: state.writerFailures + 1, lastFailure: reason, lastFailureAt: new Date().toISOString() });
        log.log("warn", `checkpoint writer for ${mainSessionId} failed: ${reason}`);
      },
      log: (message) => log.log("info", message),
    },
    settings.writerTimeoutMs,
  );

  const writerModel = (mainSessionId: string) => {
    if (settings.writerModel) {
      const [providerID, ...rest] = settings.writerModel.split("/");
      if (providerID && rest.length) return { model: { providerID, modelID: rest.join("/") } };
    }
    const model = models.get(mainSessionId);
    return model ? { model: { providerID: model.providerID, modelID: model.modelID } } : {};
  };

  const fetchMessages = async (sessionId: string): Promise<HostMessage[]> => {
    const found = await host.client.session.messages({ path: { id: sessionId } });
    if (!found.data) throw new Error(`session.messages failed: ${JSON.stringify(found.error)}`);
    return found.data as unknown as HostMessage[];
  };

  const computeFacts = (sessionId: string, messages: HostMessage[], users: string[]): DeterministicFacts => ({
    taskTree: renderTaskLedger(tasks.list(sessionId)),
    files: renderFiles(fileUses(messages)),
    errors: redact(renderFailures(toolFailures(messages))),
    liveResources: renderLiveResources(liveResources(messages, context.host.directory, gitBranch(context.host.directory))),
    exactValues: exactValues(users.map(redact)),
  });

  const writeCheckpointTool = tool({
    description: "Store the session checkpoint (checkpoint writer only). One argument per section; §1 must quote a user message verbatim on a '> ' line.",
    args: checkpointArgsShape(tool.schema),
    async execute(args, ctx) {
      const writer = writerContexts.get(ctx.sessionID);
      if (!writer) throw new ToolInputError("checkpoint_write is used only by the checkpoint writer in its own session");
      if (writer.stored) return "The checkpoint is already stored. You are done: reply \"stored\" and stop.";
      const validation = validateWriterSections(args, { userMessages: writer.userTexts });
      if (!validation.ok) {
        const problems = validation.problems.join("; ");
        queue.markProblem(ctx.sessionID, problems);
        throw new ToolInputError(`Checkpoint NOT stored. Fix these and call checkpoint_write again with every section:\n- ${validation.problems.join("\n- ")}`);
      }
      const sections = composeSections(validation.sections, writer.facts);
      const writtenAt = new Date().toISOString();
      const stored = store.saveCheckpoint({ sessionId: writer.mainSessionId, writtenAt, watermark: writer.watermark, sections }, context.project.id, (seq) =>
        renderCheckpoint({ sessionId: writer.mainSessionId, seq, writtenAt, watermark: writer.watermark }, sections),
      );
      writeFileAtomic(checkpointFile(writer.mainSessionId), stored.markdown);
      writer.stored = true;
      queue.markStored(ctx.sessionID);
      return `Checkpoint #${stored.seq} stored (${Math.round(stored.markdown.length / 4)} tokens). You are done: reply "stored" and stop.`;
    },
  });

  // ---- the meter ---------------------------------------------------------------------------------------

  const onAssistantFinished = async (info: Record<string, any>) => {
    const sessionId = String(info.sessionID);
    const tokens = info.tokens as ReportedTokens | undefined;
    if (!tokens) return;
    if (sessions.internalPurpose(sessionId) === WRITER_AGENT || writerContexts.has(sessionId)) {
      if (countedWriterMessages.has(info.id)) return;
      countedWriterMessages.add(info.id);
      const owner = writerContexts.get(sessionId)?.mainSessionId ?? sessions.parentOf(sessionId);
      if (owner) store.addWriterTokens(owner, tokens.input + (tokens.cache?.read ?? 0) + (tokens.cache?.write ?? 0), tokens.output + (tokens.reasoning ?? 0));
      if (info.error) writerFailed.add(sessionId);
      return;
    }
    if (info.summary || HIDDEN_AGENTS.has(String(info.agent ?? info.mode ?? ""))) return;
    if (!(await sessions.isMain(sessionId))) return;
    const used = tokensInUse(tokens);
    if (used <= 0) return;
    // message.updated can repeat for one finished call: one call is one reading.
    if (readMessages.get(sessionId) === info.id) return;
    readMessages.set(sessionId, info.id);
    estimator.noteReported(sessionId, tokens.input + (tokens.cache?.read ?? 0) + (tokens.cache?.write ?? 0));
    lastReading.set(sessionId, { used, messagesTokens: estimator.lastMessagesTokens(sessionId) });
    const schedule = scheduleOf(sessionId);
    if (!schedule) return;
    const state = store.update(sessionId, { lastUsed: used, lastUsable: schedule.usable, modelKey: models.get(sessionId)?.modelKey ?? null, readingAt: new Date().toISOString() });
    if (resetAfterRebuild.has(sessionId)) {
      // First reading after a rebuild: thresholds below it count as passed, so the climb starts over.
      resetAfterRebuild.delete(sessionId);
      store.update(sessionId, { firedIndex: schedule.thresholds.filter((t) => used >= t).length - 1 });
      return;
    }
    const action = actionFor(used, schedule, state.firedIndex);
    if (action.kind === "checkpoint") {
      const content = estimator.lastMessagesTokens(sessionId);
      if (!enoughNewContent(content, contentAtCheckpoint.get(sessionId) ?? 0, schedule.usable)) {
        return log.log("debug", `session ${sessionId} crossed ${percent(action.threshold / schedule.usable)} with ~${content} tokens of messages: too little to checkpoint yet`);
      }
      contentAtCheckpoint.set(sessionId, content);
      store.update(sessionId, { firedIndex: action.index });
      const outcome = queue.request(sessionId, `${percent(action.threshold / schedule.usable)} threshold`);
      log.log("info", `session ${sessionId} at ${percent(used / schedule.usable)}: checkpoint ${outcome}`);
    } else if (action.kind === "rebuild" && !pendingRebuild.has(sessionId)) {
      pendingRebuild.set(sessionId, { reason: `rebuild point ${percent(schedule.rebuildAt / schedule.usable)} reached at ${percent(used / schedule.usable)}` });
    }
  };

  // ---- the rebuild -------------------------------------------------------------------------------------

  const rebuild = async (sessionId: string, messages: HostMessage[], reason: string, afterCompaction: boolean) => {
    const waited = await queue.waitIdle(sessionId, settings.writerWaitMs);
    const schedule = scheduleOf(sessionId);
    if (!schedule) return log.log("warn", `rebuild of ${sessionId} skipped: model limits unknown`);
    const checkpoint = store.latest(sessionId);
    const taskList = tasks.list(sessionId);
    const plan = planRebuild({
      messages,
      cap: schedule.cap,
      overhead: estimator.overheadOf(sessionId, DEFAULT_OVERHEAD),
      checkpoint: checkpoint ? { markdown: checkpoint.markdown, watermark: checkpoint.watermark, age: age(checkpoint.writtenAt, new Date()) } : undefined,
      taskLedger: renderTaskLedger(taskList),
      hasTasks: taskList.length > 0,
      allTasksSettled: taskList.length > 0 && taskList.every((t) => isSettled(t.status)),
      memory: readMemory(locations, sessionId),
      tailMinTokens: settings.tailMinTokens,
      tailMinTextMessages: settings.tailMinTextMessages,
      afterCompaction,
      isPackText,
      redact,
    });
    if (!plan.cut) return log.log("info", `rebuild of ${sessionId} (${reason}): ${plan.reason}`);
    const previous = store.state(sessionId);
    store.update(sessionId, {
      boundaryMessageId: plan.boundaryMessageId,
      boundaryDump: plan.dump,
      boundaryAt: new Date().toISOString(),
      boundaryReason: reason + (waited ? "" : " (writer still running: older checkpoint, longer tail)"),
      rebuilds: previous.rebuilds + 1,
    });
    cuts.set(sessionId, { boundaryMessageId: plan.boundaryMessageId, dump: plan.dump });
    lastReading.delete(sessionId);
    resetAfterRebuild.add(sessionId);
    contentAtCheckpoint.set(sessionId, 0);
    memoryBlocks.invalidate(sessionId);
    log.notify(`context rebuilt (${reason}): ${plan.boundary} messages replaced by a ${estimateTokens(plan.dump)}-token summary, ${messages.length - plan.boundary} kept`);
  };

  const transform = async (messages: HostMessage[]) => {
    const sessionId = messages[0]?.info.sessionID;
    if (!sessionId || !(await sessions.isMain(sessionId))) return;
    const last = messages.at(-1);
    if (last?.info.role === "user" && REPORT_MARKERS.some((k) => textOf(last).startsWith(k))) {
      // A /context or /checkpoint turn: the model only needs the report, so the call stays cheap.
      messages.splice(0, messages.length - 1);
      return;
    }
    const pending = pendingRebuild.get(sessionId) ?? overflowGuard(sessionId, messages);
    if (pending) {
      pendingRebuild.delete(sessionId);
      await rebuild(sessionId, messages, pending.reason, Boolean(pending.afterCompaction));
    }
    const cut = cutOf(sessionId);
    if (cut && applyCut(messages, cut) > 0) shortenOldToolOutputs(messages, 1);
    estimator.noteRequest(sessionId, estimator.messagesTokens(messages));
  };

  /**
   * When the request about to go out would reach the rebuild point (one huge tool output since the last call),
   * rebuild first. Anchored on the provider's count of the last call; only the growth since then is estimated.
   */
  const overflowGuard = (sessionId: string, messages: HostMessage[]): { reason: string; afterCompaction?: boolean } | undefined => {
    const schedule = scheduleOf(sessionId);
    const last = lastReading.get(sessionId);
    if (!schedule || !last) return undefined;
    const cut = cutOf(sessionId);
    const start = cut ? Math.max(0, messages.findIndex((m) => m.info.id === cut.boundaryMessageId)) : 0;
    // Same shape as the request that was measured: the dump (when cut) plus the messages after the boundary.
    const dumpTokens = cut && start > 0 ? dumpSize(cut) : 0;
    const predicted = last.used + dumpTokens + estimator.messagesTokens(messages, start) - last.messagesTokens;
    return predicted >= schedule.rebuildAt && predicted - last.used > 0 ? { reason: `the next request would hold ~${predicted} tokens, over the rebuild point` } : undefined;
  };

  // ---- commands ----------------------------------------------------------------------------------------

  const contextReport = (sessionId: string) => {
    const latest = store.latest(sessionId);
    const file = checkpointFile(sessionId);
    const onDisk = latest && existsSync(file) ? readFileSync(file, "utf8") : undefined;
    return formatContextReport({
      state: store.state(sessionId),
      schedule: scheduleOf(sessionId),
      window: models.get(sessionId)?.limit.context,
      checkpoint: latest ? { seq: latest.seq, writtenAt: latest.writtenAt, watermark: latest.watermark, file, shapeProblems: onDisk ? checkpointShapeProblems(onDisk) : ["file missing"] } : undefined,
      writer: queue.status(sessionId),
      estimate: estimator.check(sessionId),
      now: new Date(),
    });
  };

  const replaceCommandText = (parts: { type: string; text?: string }[], text: string) => {
    const textPart = parts.find((p) => p.type === "text");
    if (textPart) textPart.text = text;
    else parts.push({ type: "text", text } as never);
  };

  // ---- hooks -------------------------------------------------------------------------------------------

  return {
    tool: { checkpoint_write: writeCheckpointTool },
    "chat.params": async (input) => {
      if (HIDDEN_AGENTS.has(input.agent)) return;
      const limit = input.model?.limit as ModelLimit | undefined;
      if (!limit?.context) return;
      const providerID = String(input.model.providerID ?? input.provider?.info?.id ?? "");
      models.set(input.sessionID, { limit, modelKey: `${providerID}/${input.model.id}`, providerID, modelID: input.model.id, agent: input.agent });
    },
    "experimental.chat.messages.transform": async (_input, output) => {
      await transform(output.messages as unknown as HostMessage[]);
    },
    "experimental.chat.system.transform": async (input, output) => {
      const sessionId = input.sessionID;
      if (!sessionId || !(await sessions.isMain(sessionId))) return;
      if (!pointers.has(sessionId)) pointers.set(sessionId, previousSessionPointer(sessionId));
      const pointer = pointers.get(sessionId);
      if (pointer) output.system.push(pointer);
    },
    "experimental.session.compacting": async (input, output) => {
      const checkpoint = store.latest(input.sessionID);
      if (checkpoint) output.context.push(`The latest structured checkpoint of this session (keep its directives and exact values):\n${checkpoint.markdown}`);
      const rules = projectRules(locations);
      if (rules) output.context.push(`Project rules (from MEMORY.md), keep them:\n${rules}`);
    },
    "command.execute.before": async (input, output) => {
      const parts = output.parts as { type: string; text?: string }[];
      if (input.command === "context") {
        // The report is stored verbatim as a context-only message the user sees at once (a hook cannot skip the
        // model); the command's own call carries only a pointer, so it costs next to nothing.
        const report = `${REPORT_TITLE}\n${contextReport(input.sessionID)}`;
        const stored = await host.client.session.prompt({ path: { id: input.sessionID }, body: { noReply: true, parts: [{ type: "text", text: report }] } });
        replaceCommandText(
          parts,
          stored.error
            ? `[continuum /context] Show the user this report exactly as written, in a code block, with no other text:\n\n${report}`
            : "[continuum /context] The context report is in the previous message. Reply with one short sentence pointing the user to it. Do not call tools.",
        );
      } else if (input.command === "checkpoint") {
        const outcome = queue.request(input.sessionID, "manual /checkpoint");
        replaceCommandText(parts, `[continuum /checkpoint] Tell the user in one sentence: a checkpoint writer ${outcome === "started" ? "was started in the background" : "was queued behind the running one"}; /context shows its state. Do nothing else.`);
      } else if (input.command === "rebuild") {
        pendingRebuild.set(input.sessionID, { reason: "manual /rebuild" });
        replaceCommandText(parts, "[continuum /rebuild] The user asked for a context rebuild (a short history is left as it is; /context shows the result). Confirm in one short sentence, then continue any work that is pending.");
      }
    },
    event: async ({ event }) => {
      const props = event.properties as Record<string, any>;
      switch (event.type as string) {
        case "message.updated": {
          const info = props.info;
          if (info?.role === "assistant" && info.finish && info.tokens) await onAssistantFinished(info);
          return;
        }
        case "session.error": {
          if (props.sessionID && writerContexts.has(props.sessionID)) writerFailed.add(props.sessionID);
          return;
        }
        case "session.idle": {
          const id = props.sessionID as string | undefined;
          if (id && writerContexts.has(id)) {
            const failed = writerFailed.delete(id);
            await queue.onChildIdle(id, failed);
          }
          return;
        }
        case "session.compacted": {
          const id = props.sessionID as string | undefined;
          if (id && (await sessions.isMain(id))) pendingRebuild.set(id, { reason: "after OpenCode's own compaction", afterCompaction: true });
          return;
        }
      }
    },
  };

  function previousSessionPointer(sessionId: string): string {
    if (store.latest(sessionId)) return "";
    const previous = store.latestElsewhere(context.project.id, sessionId);
    if (!previous) return "";
    const file = checkpointFile(previous.sessionId);
    return `Earlier work in this project: the previous session (${previous.sessionId}) left a checkpoint written ${previous.writtenAt}, at ${file}. It is background only, not a task list: read it if the user refers to earlier work.`;
  }
}

// ---- file and environment helpers --------------------------------------------------------------------

function writeFileAtomic(file: string, content: string): void {
  mkdirSync(join(file, ".."), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

function readText(file: string): string {
  try {
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  } catch {
    return "";
  }
}

function readMemory(locations: MemoryLocations, sessionId: string) {
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

function projectRules(locations: MemoryLocations): string {
  const content = readText(locations.projectFile);
  const match = content.match(/^## Rules\s*\n([\s\S]*?)(?=^## |\s*$(?![\s\S]))/m);
  return match?.[1]?.trim() ?? "";
}

function gitBranch(directory: string): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: directory, timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
