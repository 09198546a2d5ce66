// Keeps a helper agent that works in a git worktree inside it. The agent's tools still resolve paths against the
// user's project, so before each tool call the adapter passes its arguments through here: paths in the project are
// moved to the same place in the worktree, relative paths resolve against the worktree, anything else is refused.
// Shell commands run in the worktree, and literal mentions of the project's path in them point at the worktree.
import { realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { worktreePlace, type Sandbox } from "./sandbox.ts";

export interface Confinement {
  /** The worktree folder standing in for the project directory. */
  dir: string;
  /** The user's project directory the agent's paths refer to. */
  projectDir: string;
}

export type ConfinedArgs =
  | { ok: true; args: Record<string, unknown> }
  | { ok: false; message: string; notice?: string };

/** What the user is told, once, when a confined helper's shell is refused. */
export function noSandboxNotice(reason: string | undefined): string {
  return `helpers working in git worktrees (Max patch builders, workflow agents) get no shell: no OS sandbox can confine it here (${reason ?? "none found"}). They still read and edit their worktree, and the pack runs the checks. Install bubblewrap (Linux) to give them one.`;
}

/** What the model reads when a confined helper asks for a shell that no sandbox can confine. */
export function noShellMessage(reason: string | undefined): string {
  return `bash is not available to an agent working in an isolated worktree on this machine: no OS sandbox can confine it (${reason ?? "none found"}). Read and edit files in your worktree with the file tools; the checks are run for you.`;
}

const PATH_FIELDS: Record<string, string[]> = {
  read: ["filePath"],
  write: ["filePath"],
  edit: ["filePath"],
  multiedit: ["filePath"],
  list: ["path"],
  glob: ["path"],
  grep: ["path"],
  lsp: ["filePath"],
};

/** Tools that could reach outside a worktree in ways this module cannot rewrite. */
const REFUSED = new Set(["task", "webfetch"]);

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Tools whose path is written: it must stay in the worktree once links are followed, not only as written. */
const WRITES = new Set(["write", "edit", "multiedit", "apply_patch", "patch"]);

/** The path with every link resolved, as far as it exists (a file still to be created keeps its last parts). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}

/**
 * True when writing `path` would land outside the worktree through a link made inside it (a shell can make one:
 * `ln -s <project>/a.txt a.txt`, or the worktree's own node_modules link to the project's).
 */
export function leavesThroughLink(path: string, dir: string): boolean {
  return !inside(realPath(path), realPath(dir));
}

/** Where a path the agent named really goes, or undefined when it leaves the worktree. */
export function confinePath(path: string, confinement: Confinement): string | undefined {
  const { dir, projectDir } = confinement;
  const absolute = isAbsolute(path) ? resolve(path) : resolve(dir, path);
  if (inside(absolute, dir)) return absolute;
  if (inside(absolute, projectDir)) return join(dir, relative(projectDir, absolute));
  return undefined;
}

function rewriteProjectMentions(text: string, confinement: Confinement): string {
  const project = confinement.projectDir.replace(/\/+$/, "");
  if (!project || project === "/") return text;
  // Only whole path mentions: the project path followed by a separator, quote, space or the end.
  const escaped = project.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}(?=$|[/\\s"'\`;:)|&])`, "g"), confinement.dir);
}

function linkMessage(path: string, confinement: Confinement): string {
  return `${path} leads outside your worktree ${confinement.dir} through a symlink; write only real files of your worktree.`;
}

function rewritePatchPaths(
  patch: string,
  confinement: Confinement,
): { text: string } | { outside: string } | { linked: string } {
  const lines = patch.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\*\*\* (?:Add|Update|Delete) File: |\*\*\* Move to: )(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const moved = confinePath(match[2]!.trim(), confinement);
    if (!moved) return { outside: match[2]!.trim() };
    if (leavesThroughLink(moved, confinement.dir)) return { linked: match[2]!.trim() };
    lines[i] = `${match[1]}${moved}`;
  }
  return { text: lines.join("\n") };
}

/**
 * The tool call moved into the worktree. With `sandbox`, a shell command is also wrapped so the OS confines it to the
 * worktree; with a sandbox of kind "none" the shell is refused (path rewriting alone does not stop a shell).
 */
export function confineToolArgs(
  tool: string,
  args: unknown,
  confinement: Confinement,
  sandbox?: Sandbox,
): ConfinedArgs {
  const name = tool.toLowerCase();
  if (REFUSED.has(name))
    return {
      ok: false,
      message: `${tool} is not available to an agent working in an isolated worktree; do the work yourself in ${confinement.dir}.`,
    };
  if (!args || typeof args !== "object" || Array.isArray(args))
    return { ok: true, args: args as Record<string, unknown> };
  const next: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  if (name === "bash") {
    if (sandbox?.kind === "none")
      return { ok: false, message: noShellMessage(sandbox.reason), notice: noSandboxNotice(sandbox.reason) };
    const workdir =
      typeof next.workdir === "string" && next.workdir ? confinePath(next.workdir, confinement) : confinement.dir;
    if (!workdir)
      return { ok: false, message: `workdir ${String(next.workdir)} is outside your worktree ${confinement.dir}.` };
    next.workdir = workdir;
    if (typeof next.command === "string") next.command = rewriteProjectMentions(next.command, confinement);
    if (sandbox && typeof next.command === "string")
      next.command = sandbox.commandLine(next.command, worktreePlace(confinement.dir, workdir));
    return { ok: true, args: next };
  }
  if (name === "apply_patch" || name === "patch") {
    const field =
      typeof next.patchText === "string" ? "patchText" : typeof next.patch === "string" ? "patch" : undefined;
    if (!field) return { ok: true, args: next };
    const rewritten = rewritePatchPaths(next[field] as string, confinement);
    if ("outside" in rewritten)
      return { ok: false, message: `${rewritten.outside} is outside your worktree ${confinement.dir}.` };
    if ("linked" in rewritten) return { ok: false, message: linkMessage(rewritten.linked, confinement) };
    next[field] = rewritten.text;
    return { ok: true, args: next };
  }
  const fields = PATH_FIELDS[name];
  if (!fields) return { ok: true, args: next };
  for (const field of fields) {
    const value = next[field];
    if (value === undefined || value === null || value === "") {
      // A search without a path searches the project: point it at the worktree instead.
      if (field === "path") next[field] = confinement.dir;
      continue;
    }
    if (typeof value !== "string") continue;
    const moved = confinePath(value, confinement);
    if (!moved) return { ok: false, message: `${value} is outside your worktree ${confinement.dir}; work only there.` };
    if (WRITES.has(name) && leavesThroughLink(moved, confinement.dir))
      return { ok: false, message: linkMessage(value, confinement) };
    next[field] = moved;
  }
  return { ok: true, args: next };
}
