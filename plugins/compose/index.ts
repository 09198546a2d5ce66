// Compose: the spec-driven `compose` primary agent, its /compose command, and the check that keeps it from ending a
// turn as done without a verification on record. The skills are files under skills/compose-*; the built-in
// workflows are scripts under workflows/; merge-back safety is in merge.ts.
import type { CommandReply, FeatureContext, FeatureModule, FeatureParts } from "../core/feature.ts";
import { slot } from "../core/sessions.ts";
import { mergeBackupRoot, mergeChanges } from "./merge.ts";
import { composePrompt, resolveSpecDir } from "./prompt.ts";
import { decideVerify, freshVerifyState, observeToolPart, type ToolPart, type VerifyState } from "./verify-gate.ts";

export const COMPOSE_AGENT = "compose";
export const COMPOSE_SKILLS = [
  "brainstorm",
  "spec",
  "plan",
  "tdd",
  "debug",
  "review",
  "verify",
  "worktree",
  "parallel",
  "merge",
  "report",
].map((step) => `compose-${step}`);
/** Times a turn is sent back to verify before the pack lets it end anyway (the user's next message resets it). */
export const MAX_VERIFY_PUSHES = 2;
/** Verifying what changed comes first in a combined push (open tasks and the goal build on it). */
const VERIFY_PRIORITY = 30;

export const composeFeature: FeatureModule = {
  name: "compose",
  needsDatabase: false,
  provides: ["compose"],
  assets: { agents: [COMPOSE_AGENT], commands: ["compose"], skills: COMPOSE_SKILLS },
  create(context) {
    return createCompose(context);
  },
};

export default composeFeature;

interface ComposeSession {
  verify: VerifyState;
  /** /compose ran here: the flow (and its verification check) applies whatever the agent. */
  flow: boolean;
}
const composeSlot = slot<ComposeSession>("compose", () => ({ verify: freshVerifyState(), flow: false }));

function createCompose(context: FeatureContext): FeatureParts {
  const { config, sessions, host, continuation } = context;
  context.provide("compose", {
    mergeBack: (changes) => mergeChanges(context.worktrees, changes, { backupRoot: mergeBackupRoot(context) }),
  });
  const spec = resolveSpecDir(host.directory, config.compose.specDir);
  if (!spec.ok) context.reporter.problem("compose:specDir", `compose.specDir ${spec.problem}; using ${spec.dir}`);
  const stateOf = (id: string) => sessions.session(id).get(composeSlot);
  const update = (id: string, change: (s: ComposeSession) => ComposeSession) =>
    sessions.session(id).set(composeSlot, change(stateOf(id)));
  const gated = (id: string) => stateOf(id).flow || sessions.session(id).lastTurn.agent === COMPOSE_AGENT;

  sessions.on("compose", "part.updated", (event) => {
    if (event.part.type !== "tool" || sessions.helperOf(event.sessionId)) return;
    update(event.sessionId, (s) => ({
      ...s,
      verify: observeToolPart(s.verify, event.part as ToolPart, config.compose.checkCommands),
    }));
  });
  // The verification check's decision at an idle; the arbiter owns the push count, the failed-turn rule and the prompt.
  continuation.register("compose", (sessionId, { pushes }) => {
    if (!gated(sessionId)) return undefined;
    const decision = decideVerify({ ...stateOf(sessionId).verify, pushes, lastTurnFailed: false }, MAX_VERIFY_PUSHES);
    if (!decision.push) return undefined;
    return {
      reason: `changes not verified, push ${pushes + 1}/${MAX_VERIFY_PUSHES}`,
      text: decision.text,
      priority: VERIFY_PRIORITY,
    };
  });

  const onCommand = ({ sessionId, arguments: args }: { sessionId: string; arguments: string }): CommandReply => {
    const feature = args.trim();
    if (!feature) {
      return {
        kind: "report",
        variant: "warning",
        text: "[continuum /compose] Usage: /compose <feature or change to build>. It runs the spec-driven compose flow (skills compose-*) in this session; Tab to the compose agent does the same.",
      };
    }
    update(sessionId, (s) => ({ ...s, flow: true }));
    return { kind: "prompt", text: composePrompt(feature, spec.relative, config.compose.reviewRounds) };
  };

  return { commands: { compose: onCommand } };
}
