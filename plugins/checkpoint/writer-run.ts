// One checkpoint writer run: gathers the session's new messages and the facts code computes itself, runs the
// hidden `checkpoint-writer` agent through the helper runner, and stores what it hands to checkpoint_write.
import { execFileSync } from "node:child_process";
import type { FeatureContext } from "../core/feature.ts";
import { parseModelRef, type HostMessage, type ModelRef } from "../core/host-types.ts";
import { redact } from "../core/redaction.ts";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { truncateToTokens } from "../core/tokens.ts";
import {
  checkpointArgsShape,
  composeSections,
  dropFalseQuotes,
  renderCheckpoint,
  SECTIONS,
  validateWriterSections,
  type DeterministicFacts,
  type SectionKey,
  type WriterSections,
} from "./sections.ts";
import type { CheckpointStore } from "./store.ts";
import {
  exactValues,
  fileUses,
  liveResources,
  messagesSince,
  renderFailures,
  renderFiles,
  renderLiveResources,
  toolFailures,
} from "./transcript.ts";
import { buildWriterInput, userTexts } from "./writer-input.ts";
import { z } from "zod";

export const WRITER_AGENT = "checkpoint-writer";
export const WRITER_TOOL = "checkpoint_write";
/** A writer that does not call its tool: the first attempt plus up to 3 reminders. */
export const WRITER_RETRIES = 3;

interface WriterRunContext {
  mainSessionId: string;
  facts: DeterministicFacts;
  userTexts: string[];
  watermark: string | null;
  /** The one retry of a rejected call: its sections, and the ones the writer redoes now. */
  retry?: Rejection;
}

/** A rejected checkpoint_write: kept to ask for exactly what to fix, in a fresh child with nothing else. */
interface Rejection {
  problems: string[];
  redo: SectionKey[];
  sections: WriterSections;
}

/** A call the checks reject ends the child's run too (no re-sending of the whole input): the run asks once more. */
type WriterResult = { stored: number } | { rejected: Rejection };

export interface WriterDeps {
  context: FeatureContext;
  store: CheckpointStore;
  checkpointFile(sessionId: string): string;
  /** The session's model and usable window, when a call has been seen. */
  model(sessionId: string): (ModelRef & { usable?: number }) | undefined;
}

export function createWriterRun(deps: WriterDeps) {
  const { context, store } = deps;
  const settings = context.config.checkpoint;
  const log = context.reporter.child("checkpoint");

  const channel = writerChannel(deps);

  const writerModel = (mainSessionId: string): ModelRef | undefined => {
    const configured = parseModelRef(settings.writerModel);
    if (configured) return configured;
    const model = deps.model(mainSessionId);
    return model ? { providerID: model.providerID, modelID: model.modelID } : undefined;
  };

  const fail = (mainSessionId: string, reason: string) => {
    const state = store.state(mainSessionId);
    store.update(mainSessionId, {
      writerFailures: state.writerFailures + 1,
      lastFailure: reason,
      lastFailureAt: new Date().toISOString(),
    });
    log.log("warn", `checkpoint writer for ${mainSessionId} failed: ${reason}`);
  };

  /** The writer's input and run context from the session's stored messages; undefined when they cannot be read. */
  const prepare = async (mainSessionId: string) => {
    let all: HostMessage[];
    try {
      all = await context.host.messages(mainSessionId);
    } catch (error) {
      return void fail(mainSessionId, `could not start the writer: ${(error as Error).message}`);
    }
    // The main loop goes on while the writer starts: stop at the first assistant message still being written,
    // so the watermark never lands on a message whose later parts the next delta would miss.
    const open = all.findIndex((m) => m.info.role === "assistant" && !m.info.time?.completed);
    const messages = open < 0 ? all : all.slice(0, open);
    const previous = store.latest(mainSessionId);
    const delta = messagesSince(messages, previous?.watermark ?? null);
    const users = userTexts(messages);
    const facts = computeFacts(context, mainSessionId, messages, users);
    const watermark = messages.at(-1)?.info.id ?? null;
    const firstUser = messages.find((m) => m.info.role === "user");
    const input = buildWriterInput({
      sessionId: mainSessionId,
      previous: previous?.markdown,
      delta,
      facts,
      // The original request, when the delta no longer holds it.
      firstRequest: firstUser && delta.includes(firstUser) ? undefined : users[0],
      redact,
      maxDeltaTokens: Math.max(4000, Math.min(40000, Math.round((deps.model(mainSessionId)?.usable ?? 64000) * 0.5))),
    });
    const runContext: WriterRunContext = { mainSessionId, facts, userTexts: users, watermark };
    return { input, runContext, newMessages: delta.length };
  };

  const helperRun = async (runContext: WriterRunContext, prompt: string, reason: string, retries: number) => {
    const { mainSessionId } = runContext;
    const outcome = await context.helpers.run({
      feature: "checkpoint",
      agent: WRITER_AGENT,
      parentSessionId: mainSessionId,
      title: `continuum checkpoint writer (${reason})`,
      prompt,
      channel,
      context: runContext,
      model: writerModel(mainSessionId),
      timeoutMs: settings.writerTimeoutMs,
      retries,
      retryPrompt: () => "You did not store the checkpoint. Call the checkpoint_write tool now, with every section.",
      reason,
    });
    const t = outcome.usage.tokens;
    store.addWriterTokens(mainSessionId, t.input + t.cacheRead + t.cacheWrite, t.output + t.reasoning);
    return outcome;
  };

  const failedRun = (mainSessionId: string, outcome: Extract<Awaited<ReturnType<typeof helperRun>>, { ok: false }>) => {
    const after = `no valid checkpoint after ${outcome.attempts} attempts`;
    const why: Record<typeof outcome.failure, string> = {
      timeout: `timed out after ${Math.round(settings.writerTimeoutMs / 1000)} s`,
      "invalid-result": `${after}: ${outcome.message.replace(/^no valid result after \d+ attempts: /, "")}`,
      "no-result": `${after} (checkpoint_write was not called)`,
      error:
        outcome.attempts > WRITER_RETRIES
          ? `${after} (the writer's model call failed: ${outcome.message})`
          : outcome.message,
      aborted: `stopped: ${outcome.message}`,
    };
    fail(mainSessionId, why[outcome.failure]);
  };

  /** One writer run to its end (stored or failed); never throws. A rejected call gets one retry, with only the fix. */
  const run = async (mainSessionId: string, reason: string): Promise<void> => {
    const prepared = await prepare(mainSessionId);
    if (!prepared) return;
    store.update(mainSessionId, { writerRuns: store.state(mainSessionId).writerRuns + 1 });
    const size = `input ~${Math.round(prepared.input.length / 4)} tokens, ${prepared.newMessages} new messages`;
    log.log("info", `writer started for ${mainSessionId} (${reason}); ${size}`);
    const first = await helperRun(prepared.runContext, prepared.input, reason, WRITER_RETRIES);
    if (!first.ok) return failedRun(mainSessionId, first);
    const firstResult = first.value as WriterResult;
    if ("stored" in firstResult) return stored(mainSessionId, firstResult.stored, reason, first.attempts);
    const rejected = firstResult.rejected;
    const retryContext = { ...prepared.runContext, retry: rejected };
    const second = await helperRun(retryContext, fixPrompt(mainSessionId, rejected), `${reason}, fix`, 0);
    if (!second.ok) return failedRun(mainSessionId, second);
    const secondResult = second.value as WriterResult;
    if ("stored" in secondResult) return stored(mainSessionId, secondResult.stored, reason, 2);
    fail(mainSessionId, `no valid checkpoint after 2 attempts: ${secondResult.rejected.problems.join("; ")}`);
  };

  const stored = (mainSessionId: string, seq: number, reason: string, attempt: number) =>
    log.log("info", `checkpoint #${seq} stored for ${mainSessionId} (${reason}, attempt ${attempt})`);

  return { channel, run };
}

/** The checkpoint_write tool: checks a call, stores a valid checkpoint, hands a rejection back to the run. */
function writerChannel(deps: WriterDeps) {
  const { context, store } = deps;
  return context.helpers.resultChannel(WRITER_TOOL, {
    description: "Store the session checkpoint (checkpoint writer only). One argument per section.",
    args: checkpointArgsShape(z),
    reserved: "checkpoint_write is used only by the checkpoint writer in its own session",
    accept(args, writer: WriterRunContext) {
      const given = writer.retry ? withRedone(writer.retry, args) : (args as WriterSections);
      const validation = validateWriterSections(given, { userMessages: writer.userTexts, quoteByCode: true });
      if (!validation.ok) {
        const rejected = { problems: validation.problems, redo: validation.redo, sections: given };
        const reply = `NOT stored: ${validation.problems.join("; ")}. Stop here: you will be asked for exactly what to fix.`;
        return { ok: true, value: { rejected } as WriterResult, reply };
      }
      const intent = dropFalseQuotes(validation.sections.active_intent ?? "", writer.userTexts);
      const sections = composeSections({ ...validation.sections, active_intent: intent }, writer.facts);
      const writtenAt = new Date().toISOString();
      const meta = { sessionId: writer.mainSessionId, writtenAt, watermark: writer.watermark };
      const stored = store.saveCheckpoint({ ...meta, sections }, context.project.id, (seq) =>
        renderCheckpoint({ ...meta, seq }, sections),
      );
      writeStoredFile(deps.checkpointFile(writer.mainSessionId), stored.markdown);
      const reply = `Checkpoint #${stored.seq} stored (${Math.round(stored.markdown.length / 4)} tokens). You are done.`;
      return { ok: true, value: { stored: stored.seq } as WriterResult, reply };
    },
  });
}

function computeFacts(
  context: FeatureContext,
  sessionId: string,
  messages: HostMessage[],
  users: string[],
): DeterministicFacts {
  return {
    taskTree: context.services.tasks?.ledger(sessionId) ?? "",
    files: renderFiles(fileUses(messages)),
    errors: redact(renderFailures(toolFailures(messages))),
    liveResources: renderLiveResources(
      liveResources(messages, context.host.directory, gitBranch(context.host.directory)),
    ),
    exactValues: exactValues(users.map(redact)),
    // The person's own latest words (never the pack's pushes or injected parts): §1 quotes them, not the writer.
    latestRequest: users.length ? redact(users.at(-1)!) : undefined,
  };
}

/** The rejected call's sections with the redone ones replaced (the others are kept as first written). */
function withRedone(retry: Rejection, args: Record<string, unknown>): WriterSections {
  const out: WriterSections = { ...retry.sections };
  for (const key of retry.redo) out[key] = typeof args[key] === "string" ? (args[key] as string) : undefined;
  return out;
}

/** What the retry is sent: the problems and the sections to redo with their rejected text, nothing else. */
export function fixPrompt(sessionId: string, rejected: Rejection): string {
  const redo = SECTIONS.filter((s) => rejected.redo.includes(s.key));
  const blocks = redo.map((s) => {
    const text = (rejected.sections[s.key] ?? "").trim();
    const shown = text ? truncateToTokens(text, s.budget * 2, "\n[… cut]") : "(empty)";
    return `### §${s.n} ${s.title} (argument ${s.key}, at most ${s.budget} tokens)\n${shown}`;
  });
  return [
    `Your checkpoint_write call for session ${sessionId} was not stored. Fix only this:`,
    ...rejected.problems.map((p) => `- ${p}`),
    "",
    "The sections to redo, each with the text you wrote (the other sections are kept as you wrote them):",
    "",
    ...blocks,
    "",
    `Call checkpoint_write once: write ${redo.map((s) => s.key).join(", ")}; pass "" for every other argument.`,
  ].join("\n");
}

function gitBranch(directory: string): string | undefined {
  try {
    return (
      execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], {
        cwd: directory,
        timeout: 2000,
        stdio: ["ignore", "pipe", "ignore"],
      })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}
