// What the checkpoint feature keeps about one session, in the session layer's slot: dropped with the session.
import { slot } from "../core/sessions.ts";
import { RequestEstimator } from "./estimate.ts";
import type { ModelLimit } from "./meter.ts";
import { newShortenCache, type ShortenCache, type StoredCut } from "./rebuild.ts";
import type { WriterJob } from "./writer.ts";

export interface SessionModel {
  limit: ModelLimit;
  modelKey: string;
  providerID: string;
  modelID: string;
}

/** Everything the feature keeps about one session, dropped with it. */
export interface CheckpointSession {
  model?: SessionModel;
  pendingRebuild?: { reason: string; afterCompaction?: boolean };
  /** The first reading after a rebuild restarts the climb through the thresholds. */
  resetAfterRebuild: boolean;
  /** The stored cut (undefined until loaded from the store, null when none). */
  cut?: StoredCut | null;
  contentAtCheckpoint: number;
  lastReading?: { used: number; messagesTokens: number };
  lastReadMessageId?: string;
  pointer?: string;
  /** The last rebuild found the history fits once old tool outputs are shortened (no cut needed). */
  shortenOldOutputs?: boolean;
  estimator: RequestEstimator;
  /** Tool outputs and inputs already shortened for this session's requests. */
  shortenCache: ShortenCache;
  /** The checkpoint writer running for this session, with the request queued behind it. */
  writerJob?: WriterJob;
}

export const sessionSlot = slot<CheckpointSession>("checkpoint", () => ({
  resetAfterRebuild: false,
  contentAtCheckpoint: 0,
  estimator: new RequestEstimator(),
  shortenCache: newShortenCache(),
}));
