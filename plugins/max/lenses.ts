// Approach lenses: each candidate gets a different one, so N candidates explore N directions instead of
// sampling one idea N times.

export interface Lens {
  name: string;
  brief: string;
}

export const LENSES: readonly Lens[] = [
  {
    name: "minimal",
    brief:
      "Find the smallest change that fully solves the task. Touch as few files and lines as you can; no drive-by cleanups.",
  },
  {
    name: "robust",
    brief:
      "Solve it so it holds under bad input, errors, concurrency and edge cases. Say which failure modes you handle and how.",
  },
  {
    name: "test-first",
    brief:
      "Start from the evidence: which test or command proves the task done? Plan that test first, then the change that makes it pass.",
  },
  {
    name: "refactor-first",
    brief:
      "If the current structure makes the change awkward, plan a small, safe restructuring first, then the change on top of it.",
  },
  {
    name: "performance",
    brief:
      "Prefer the approach with the best time and memory behaviour at realistic sizes, and say what you would measure.",
  },
  {
    name: "conventions",
    brief:
      "Follow the project's existing patterns, helpers and naming closely; reuse what is there before adding anything new.",
  },
  {
    name: "root-cause",
    brief:
      "Question the task's framing: find the root cause or real requirement in the code first, then fix that rather than the symptom.",
  },
  {
    name: "reviewer",
    brief:
      "Plan the change a strict reviewer would approve on the first pass: clear, tested, documented where users see it.",
  },
];

/** The lens of candidate `index` (1-based). */
export const lensFor = (index: number): Lens => LENSES[(index - 1) % LENSES.length]!;
