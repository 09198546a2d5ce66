// Running git for the pack: the user's hooks, pagers, colours, path quoting and external diff tools out of the way,
// never a prompt for credentials. Shared by the worktrees and compose's merge-back.
import { execFile } from "node:child_process";

export type GitResult = { code: number; stdout: string; stderr: string };

/** git with the user's hooks, pagers, colours and external diff tools out of the way. */
export function git(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<GitResult> {
  return new Promise((resolve) => {
    const child = execFile(
      "git",
      ["-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=false", "-c", "color.ui=false", ...args],
      {
        cwd,
        env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", LC_ALL: "C", ...options.env },
        maxBuffer: 256 * 1024 * 1024,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        const code = error
          ? typeof (error as { code?: unknown }).code === "number"
            ? (error as { code: number }).code
            : 1
          : 0;
        resolve({
          code,
          stdout: String(stdout ?? ""),
          stderr: String(stderr ?? "") || (error && code !== 0 && !stderr ? String(error.message) : ""),
        });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function gitOk(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  const result = await git(cwd, args, options);
  if (result.code !== 0)
    throw new Error(
      `git ${args[0]} failed: ${result.stderr.trim().split("\n").slice(-3).join(" ") || `exit ${result.code}`}`,
    );
  return result.stdout;
}
