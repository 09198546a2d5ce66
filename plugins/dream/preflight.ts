// What is checked before a dream makes any model call: MEMORY.md must be read as itself (no symlink out of the
// project) and must be text small enough to show the agent. Each check says why, or undefined when it passes.
import { basename, dirname, join } from "node:path";
import { checkProjectPath, ProtectedPathError } from "../core/protected-paths.ts";

/** Characters of session material a run may send: half the token budget (4 characters a token), at most 240,000. */
export function inputBudgetChars(budgetTokens: number): number {
  return Math.min(Math.floor(budgetTokens * 4 * 0.5), 240_000);
}

/**
 * Why MEMORY.md may not be read for a dream because it, or its folder, is a symlink (it could point out of the
 * project, to a file the dream would send to the model); undefined when neither is.
 */
export function symlinkedMemory(file: string): string | undefined {
  const folder = dirname(file);
  try {
    checkProjectPath(dirname(folder), join(basename(folder), basename(file)), "read");
    return undefined;
  } catch (error) {
    return error instanceof ProtectedPathError
      ? `MEMORY.md is not read through a symlink (${error.message}); replace the link with the file itself`
      : undefined;
  }
}

/** Why MEMORY.md cannot go to a dream at all (not text, or far too big to show the agent), or undefined. */
export function unusableMemory(
  current: { text: string; unreadable?: string },
  budgetChars: number,
): string | undefined {
  if (current.unreadable)
    return `MEMORY.md is ${current.unreadable}; move it aside (a new one is started) and run the dream again`;
  if (current.text.length > budgetChars) {
    return `MEMORY.md is ${current.text.length} characters, more than a dream may show its agent (${budgetChars}, half of dream.budgetTokens); trim it with continuum memory forget or by hand first`;
  }
  return undefined;
}
