// The unified diff a dream reports. From the `diff` package (jsdiff): a Myers diff with hunks and context, well
// tested and kept up, rather than a hand-written one.
import { createTwoFilesPatch } from "diff";

export function unifiedDiff(label: string, before: string, after: string): string {
  if (before === after) return "";
  const patch = createTwoFilesPatch(`a/${label}`, `b/${label}`, before, after, "", "", { context: 2 });
  // jsdiff starts with an "Index:"-less "===" header line pair; keep only the ---/+++ headers and hunks.
  return (
    patch
      .replace(/^=+\n/m, "")
      .replace(/^(---|\+\+\+) (.*)\t$/gm, "$1 $2")
      .trimEnd() + "\n"
  );
}
