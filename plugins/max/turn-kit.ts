// What every part of one Max turn is given: the feature context and its channels, the stats store, the models set
// on the pack's agents, and the turn's time budget. Shared types only, so the turn's modules do not import each other
// in a circle.
import type { FeatureContext, UserTurn } from "../core/feature.ts";
import type { ResultChannel } from "../core/helpers.ts";
import type { ModelRef } from "../core/host-types.ts";
import type { Reporter } from "../core/report.ts";
import type { Plan } from "./plan.ts";
import type { MaxStatsStore } from "./stats.ts";
import type { Verdict } from "./verdict.ts";

export type MaxSettings = FeatureContext["config"]["max"];

export interface MaxChannels {
  plan: ResultChannel<Plan, unknown>;
  patch: ResultChannel<string, unknown>;
  verdict: ResultChannel<Verdict, number[]>;
}

export interface TurnDeps {
  context: FeatureContext;
  channels: MaxChannels;
  store: MaxStatsStore;
  /** Models set on the pack's agents in the user's config (read at start). */
  agentModels: { candidate?: string; judge?: string };
  log: Reporter;
  /** Changes held back because their checks failed: kept for `/max apply N` in this session. */
  holdBack(sessionId: string, held: HeldChanges): void;
}

/** The deps plus what follows from the settings once. */
export interface TurnKit extends TurnDeps {
  settings: MaxSettings;
  turnBudgetMs: number;
}

/** The changes of one patch turn whose checks all failed, as the session keeps them for `/max apply N`. */
export interface HeldChanges {
  /** The working tree when the turn started: an apply is refused if it moved since. */
  fingerprint: string;
  at: string;
  changes: { index: number; diff: string; summary: string; checks: string; savedTo?: string }[];
}

/** One turn's inputs, fixed before the first candidate starts. */
export interface TurnSetup {
  turn: UserTurn;
  task: string;
  contextText: string;
  candidateModel: ModelRef | undefined;
  judgeModel: ModelRef | undefined;
}

/** "cancelled": the user aborted before a choice and the turn could not be answered locally: it should be stopped. */
export type TurnEnd = "done" | "cancelled";
