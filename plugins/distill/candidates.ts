// What a /distill run works on: the workflows and requests mined from the history index (pure code, miner.ts),
// numbered for the agent, minus those an earlier run or an existing asset already covers; and, after a run, the
// candidates that went into an asset, remembered so the next run does not propose them again.
import type { Database } from "../core/storage/database.ts";
import { globalConfigDir } from "../core/paths.ts";
import { errorText } from "../core/report.ts";
import type { DistillRunState } from "./asset-tool.ts";
import { historySteps } from "./history.ts";
import { inventory, type InventoryItem } from "./inventory.ts";
import { mineRequests, mineSequences, type RequestCandidate, type SequenceCandidate } from "./miner.ts";
import { readCovered, saveCovered, type DistillRecord, type ReportedCandidate } from "./records.ts";

export type NumberedSequence = SequenceCandidate & { id: string };
export type NumberedRequest = RequestCandidate & { id: string };

export interface MineOptions {
  db: Database | undefined;
  projectId: string;
  projectDir: string;
  /** /distill's folder in the pack's data dir (what earlier runs covered). */
  dir: string;
  since: number;
  minSessions: number;
}

export type Mined =
  | { empty: true }
  | {
      empty: false;
      recurring: number;
      mined: DistillRecord["mined"];
      open: NumberedSequence[];
      openRequests: NumberedRequest[];
      existing: InventoryItem[];
    };

export function mineCandidates(options: MineOptions): Mined {
  const steps = historySteps(options.db, options.projectId, options.since);
  if (!steps.length) return { empty: true };
  const sequences = mineSequences(steps, { minSessions: options.minSessions });
  const requests = mineRequests(steps, { minSessions: options.minSessions });
  const existing = inventory(globalConfigDir(), options.projectDir);
  const covered = readCovered(options.dir);
  /** An earlier run's asset that still exists, or for a workflow an asset already named as it would be. */
  const earlierAsset = (key: string) => {
    const earlier = covered[key];
    return earlier && existing.some((e) => e.path === earlier.path) ? earlier.path : undefined;
  };
  const coveredBy = (s: SequenceCandidate) =>
    earlierAsset(s.key) ?? existing.find((e) => e.name === s.suggestedName)?.path;
  const numbered = sequences.map((s, i) => ({ ...s, id: `c${i + 1}` }));
  const kinds = requests.map((r, i) => ({ ...r, id: `r${i + 1}` }));
  const mined = [
    ...numbered.map((s) => ({
      id: s.id,
      key: s.key,
      sessions: s.sessions,
      occurrences: s.occurrences,
      ...(coveredBy(s) ? { covered: coveredBy(s) } : {}),
    })),
    ...kinds.map((r) => ({
      id: r.id,
      key: `request: ${r.key}`,
      sessions: r.sessions,
      occurrences: r.occurrences,
      ...(earlierAsset(r.key) ? { covered: earlierAsset(r.key) } : {}),
    })),
  ];
  return {
    empty: false,
    recurring: sequences.length,
    mined,
    open: numbered.filter((s) => !coveredBy(s)),
    openRequests: kinds.filter((r) => !earlierAsset(r.key)),
    existing,
  };
}

/** Candidates that went into an asset (or were judged covered by one) are not proposed again. */
export function rememberCovered(
  dir: string,
  sequences: { id: string; key: string }[],
  reported: ReportedCandidate[],
  written: DistillRunState["written"],
  at: string,
  warn: (message: string) => void,
): void {
  const covered = readCovered(dir);
  for (const candidate of reported) {
    const mined = sequences.find((s) => s.id === candidate.id);
    const asset = written.find((w) => w.plan.name === candidate.name || w.asked === candidate.name);
    if (mined && asset) covered[mined.key] = { path: asset.plan.path, at };
  }
  try {
    saveCovered(dir, covered);
  } catch (error) {
    warn(`could not save what is covered: ${errorText(error)}`);
  }
}
