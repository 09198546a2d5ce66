// One checkpoint writer run: gathers the session's new messages and the facts code computes itself, runs the
// hidden `checkpoint-writer` agent through the helper runner, and stores what it hands to checkpoint_write.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { FeatureContext } from "../core/feature.ts";
import { parseModelRef, type HostMessage, type ModelRef } from "../core/host-types.ts";
import { redact } from "../core/redaction.ts";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import { checkpointArgsShape, composeSections, renderCheckpoint, validateWriterSections, type DeterministicFacts } from "./sections.ts";
import type { CheckpointStore } from "./store.ts";
import { exactValues, fileUses, liveResources, messagesSince, renderFailures, renderFiles, renderLiveResources, toolFailures } from "./transcript.ts";
import { buildWriterInput, userTexts } from "./writer-input.ts";
import { z } from "zod";

export const WRITER_AGENT = "checkpoint-writer";
export const WRITER_TOOL = "checkpoint_write";
/** The first attempt plus up to 3 retries. */
export const WRITER_RETRIES = 3;

interface WriterRunContext {
  mainSessionId: string;
  facts: DeterministicFacts;
  userTexts: string[];
  watermark: string | null;
}

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

  const channel = context.helpers.resultChannel(WRITER_TOOL, {
    description: "Store the session checkpoint (checkpoint writer only). One argument per section; §1 must quote a user message verbatim on a '> ' line.",
    args: checkpointArgsShape(z),
    reserved: "checkpoint_write is used only by the checkpoint writer in its own session",
    accept(args, writer: WriterRunContext) {
      const validation = validateWriterSections(args, { userMessages: writer.userTexts });
      if (!validation.ok) return { ok: false, problems: validation.problems };
      const sections = composeSections(validation.sections, writer.facts);
      const writtenAt = new Date().toISOString();
      const stored = store.saveCheckpoint({ sessionId: writer.mainSessionId, writtenAt, watermark: writer.watermark, sections }, context.project.id, (seq) =>
        renderCheckpoint({ sessionId: writer.mainSessionId, seq, writtenAt, watermark: writer.watermark }, sections),
      );
      writeStoredFile(deps.checkpointFile(writer.mainSessionId), stored.markdown);
      return { ok: true, value: stored.seq, reply: `Checkpoint #${stored.seq} stored (${Math.round(stored.markdown.length / 4)} tokens). You are done.` };
    },
  });

  const writerModel = (mainSessionId: string): ModelRef | undefined => {
    const configured = parseModelRef(settings.writerModel);
    if (configured) return configured;
    const model = deps.model(mainSessionId);
    return model ? { providerID: model.providerID, modelID: model.modelID } : undefined;
  };

  const computeFacts = (sessionId: string, messages: HostMessage[], users: string[]): DeterministicFacts => ({
    taskTree: context.services.tasks?.ledger(sessionId) ?? "",
    files: renderFiles(fileUses(messages)),
    errors: redact(renderFailures(toolFailures(messages))),
    liveResources: renderLiveResources(liveResources(messages, context.host.directory, gitBranch(context.host.directory))),
    exactValues: exactValues(users.map(redact)),
  });

  const fail = (mainSessionId: string, reason: string) => {
    const state = store.state(mainSessionId);
    store.update(mainSessionId, { writerFailures: state.writerFailures + 1, lastFailure: reason, lastFailureAt: new Date().toISOString() });
    log.log("warn", `checkpoint writer for ${mainSessionId} failed: ${reason}`);
  };

  /** One writer run to its end (stored or failed); never throws. */
  const run = async (mainSessionId: string, reason: string): Promise<void> => {
    let all: HostMessage[];
    try {
      all = await context.host.messages(mainSessionId);
    } catch (error) {
      return fail(mainSessionId, `could not start the writer: ${(error as Error).message}`);
    }
    // The main loop goes on while the writer starts: stop at the first assistant message still being written,
    // so the watermark never lands on a message whose later parts the next delta would miss.
    const open = all.findIndex((m) => m.info.role === "assistant" && !m.info.time?.completed);
    const messages = open < 0 ? all : all.slice(0, open);
    const previous = store.latest(mainSessionId);
    const delta = messagesSince(messages, previous?.watermark ?? null);
    const users = userTexts(messages);
    const facts = computeFacts(mainSessionId, messages, users);
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
    store.update(mainSessionId, { writerRuns: store.state(mainSessionId).writerRuns + 1 });
    log.log("info", `writer started for ${mainSessionId} (${reason}); input ~${Math.round(input.length / 4)} tokens, ${delta.length} new messages`);
    const outcome = await context.helpers.run({
      feature: "checkpoint",
      agent: WRITER_AGENT,
      parentSessionId: mainSessionId,
      title: `continuum checkpoint writer (${reason})`,
      prompt: input,
      channel,
      context: { mainSessionId, facts, userTexts: users, watermark } satisfies WriterRunContext,
      model: writerModel(mainSessionId),
      timeoutMs: settings.writerTimeoutMs,
      retries: WRITER_RETRIES,
      retryPrompt: (problem) =>
        problem
          ? `Your checkpoint_write call was rejected: ${problem}. Fix that and call checkpoint_write again with every section.`
          : "You did not store the checkpoint. Call the checkpoint_write tool now, with every section.",
      reason,
    });
    const t = outcome.usage.tokens;
    store.addWriterTokens(mainSessionId, t.input + t.cacheRead + t.cacheWrite, t.output + t.reasoning);
    if (outcome.ok) return log.log("info", `checkpoint #${outcome.value} stored for ${mainSessionId} (${reason}, attempt ${outcome.attempts})`);
    const after = `no valid checkpoint after ${outcome.attempts} attempts`;
    const why: Record<typeof outcome.failure, string> = {
      timeout: `timed out after ${Math.round(settings.writerTimeoutMs / 1000)} s`,
      "invalid-result": `${after}: ${outcome.message.replace(/^no valid result after \d+ attempts: /, "")}`,
      "no-result": `${after} (checkpoint_write was not called)`,
      error: outcome.attempts > WRITER_RETRIES ? `${after} (the writer's model call failed: ${outcome.message})` : outcome.message,
      aborted: `stopped: ${outcome.message}`,
    };
    fail(mainSessionId, why[outcome.failure]);
  };

  return { channel, run };
}

function gitBranch(directory: string): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "--abbrev-ref", "HEAD"], { cwd: directory, timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}
