// Reading a JSON file of the pack's that a person may have edited (a record, a stats file): validated, and when it
// is not valid any more it is moved aside (nothing lost) so the feature starts a new one instead of failing on it.
import { existsSync, readFileSync, renameSync } from "node:fs";
import type { z } from "zod";

/** The file's value; undefined when it is missing, or damaged (then moved to `<file>.damaged-<time>` and logged). */
export function readJsonFile<T>(
  path: string,
  schema: z.ZodType<T>,
  log: (message: string) => void,
  label = path,
): T | undefined {
  if (!existsSync(path)) return undefined;
  let problem: string;
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (parsed.success) return parsed.data;
    problem = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  } catch (error) {
    problem = (error as Error).message;
  }
  const aside = `${path}.damaged-${Date.now()}`;
  try {
    renameSync(path, aside);
    log(`${label} was unreadable (${problem.replace(/\s+/g, " ").slice(0, 200)}); moved to ${aside}`);
  } catch {
    // Unreadable and unmovable: the next write to it reports the problem.
  }
  return undefined;
}
