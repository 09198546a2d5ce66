// What automatic learning keeps between runs, in the dream's folder of the pack's data dir (never in the project):
// the candidates waiting for a dream, the keys already consumed (so a fact is not harvested twice), the harvest mark
// of each session's checkpoint, when the last automatic dream started and whether the one-time notice was shown.
import { join } from "node:path";
import { z } from "zod";
import { readJsonLoose, saveJson } from "../core/run-records.ts";

const candidateSchema = z.object({
  key: z.string(),
  text: z.string(),
  kind: z.enum(["directive", "decision"]),
  sessionId: z.string(),
  at: z.number(),
});

/** Validated when read: the file is in the user's data dir and may have been edited by hand. */
const learnStateSchema = z.object({
  candidates: z.array(candidateSchema).default([]),
  consumed: z.array(z.string()).default([]),
  /** Per session: the writtenAt of the checkpoint last harvested. */
  marks: z.record(z.string(), z.number()).default({}),
  lastAutoAt: z.number().optional(),
  noticeShown: z.boolean().default(false),
});
export type LearnState = z.infer<typeof learnStateSchema>;

export const LEARN_FILE = "learn.json";
/** Bounds that keep the file small on a long-lived project: the oldest go first. */
const MAX_CANDIDATES = 200;
const MAX_CONSUMED = 2000;
const MAX_MARKS = 500;

export function readLearnState(dir: string): LearnState {
  const parsed = learnStateSchema.safeParse(readJsonLoose(join(dir, LEARN_FILE)) ?? {});
  return parsed.success ? parsed.data : learnStateSchema.parse({});
}

export function saveLearnState(dir: string, state: LearnState): void {
  const marks = Object.entries(state.marks)
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_MARKS);
  saveJson(dir, LEARN_FILE, {
    ...state,
    candidates: state.candidates.slice(-MAX_CANDIDATES),
    consumed: state.consumed.slice(-MAX_CONSUMED),
    marks: Object.fromEntries(marks),
  });
}
