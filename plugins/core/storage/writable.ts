// One rule for "may the pack write here": the OS must allow it, and a file or folder with no write permission
// bits at all is read-only by the user's intent, even for root (who ignores permission bits).
import { accessSync, constants, mkdirSync, statSync } from "node:fs";

/** Why `path` (a folder, or a file that may not exist yet) cannot be written; undefined when it can. */
export function notWritableReason(
  path: string,
  options: { create?: boolean; kind?: "dir" | "file" } = {},
): string | undefined {
  const kind = options.kind ?? "dir";
  try {
    if (kind === "dir" && options.create) mkdirSync(path, { recursive: true });
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats) return kind === "file" ? undefined : "it does not exist";
    if (kind === "dir" && !stats.isDirectory()) return "it is not a folder";
    if (kind === "file" && !stats.isFile()) return "it is not a regular file";
    if ((stats.mode & 0o222) === 0) return `read-only (mode ${(stats.mode & 0o777).toString(8).padStart(4, "0")})`;
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${(error as Error).message.replace(/^[A-Z]+: /, "")}` : String(error);
  }
}

/** Errors that mean "this place cannot be written", as opposed to a bug or damaged data. */
export function isNotWritableError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === "EACCES" ||
    code === "EROFS" ||
    code === "EPERM" ||
    code === "ENOTDIR" ||
    code === "EEXIST" ||
    code === "ENOSPC"
  );
}
