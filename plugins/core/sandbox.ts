// The operating system's sandbox for everything the pack lets run in a helper's worktree: a confined helper's shell
// and the project's checks. Linux: bubblewrap (the worktree writable, the rest of the file system read-only, a
// private /tmp, no network, its own PID namespace that dies with its parent). macOS: Seatbelt (writes only to the
// worktree and a temp dir, no network). Detected once per process; where neither can run, `kind` is "none".
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";

export type SandboxKind = "bwrap" | "seatbelt" | "none";

export interface SandboxSettings {
  enabled: boolean;
  /** Let confined commands reach the network (default: no network at all). */
  network: boolean;
}

/** Where one confined command runs. */
export interface SandboxPlace {
  /** The only folder it may write (a worktree's top folder). */
  writable: string;
  cwd: string;
  /** Folders it must see (read-only) even where the private /tmp would hide them: the repository the worktree shares. */
  readOnly?: string[];
  /** Files inside `writable` that stay read-only (the worktree's `.git` link to the shared repository). */
  protect?: string[];
}

export interface Sandbox {
  readonly kind: SandboxKind;
  /** Why there is no sandbox (kind "none"). */
  readonly reason?: string;
  readonly network: boolean;
  /** Program and arguments that run `command` with `shell -c` inside the sandbox. */
  argv(command: string, place: SandboxPlace, shell?: string): string[];
  /** The same as one shell command line (what OpenCode's bash tool runs). */
  commandLine(command: string, place: SandboxPlace): string;
}

const SEATBELT = "/usr/bin/sandbox-exec";

/** Where tools keep caches and temp files inside the sandbox: its private /tmp, since home is read-only. */
const CACHE_ENV: [string, string][] = [
  ["TMPDIR", "/tmp"],
  ["XDG_CACHE_HOME", "/tmp/.cache"],
  ["npm_config_cache", "/tmp/.npm"],
];

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function onPath(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function bwrapArgs(
  command: string,
  place: SandboxPlace,
  options: { network: boolean; shell?: string },
): string[] {
  const args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"];
  // After the private /tmp: what it would hide and the sandbox needs to read (a repository that lives under /tmp).
  for (const dir of place.readOnly ?? []) if (existsSync(dir)) args.push("--ro-bind", dir, dir);
  args.push("--bind", place.writable, place.writable);
  for (const file of place.protect ?? []) if (existsSync(file)) args.push("--ro-bind", file, file);
  if (!options.network) args.push("--unshare-net");
  args.push("--unshare-pid", "--die-with-parent", "--new-session");
  for (const [name, value] of CACHE_ENV) args.push("--setenv", name, value);
  args.push("--chdir", place.cwd, "--", options.shell ?? "bash", "-c", command);
  return args;
}

function sbplString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * The Seatbelt profile: everything may be read and run, writes only to the worktree, its temp dir and the terminal
 * devices, the worktree's `.git` link stays read-only, no network unless allowed. Later rules win in SBPL.
 */
export function seatbeltProfile(place: SandboxPlace, options: { network: boolean; tmp: string }): string {
  const lines = [
    "(version 1)",
    "(allow default)",
    "(deny file-write*)",
    `(allow file-write* (subpath ${sbplString(place.writable)}) (subpath ${sbplString(options.tmp)}) (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))`,
    ...(place.protect ?? []).map((file) => `(deny file-write* (literal ${sbplString(file)}))`),
  ];
  if (!options.network) lines.push("(deny network*)", "(allow network* (remote unix-socket))");
  return `${lines.join("\n")}\n`;
}

/** A temp dir per worktree for Seatbelt (it has no private /tmp of its own). */
function seatbeltTmp(place: SandboxPlace): string {
  const dir = join(
    tmpdir(),
    `continuum-sandbox-${createHash("sha256").update(place.writable).digest("hex").slice(0, 12)}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

function buildSandbox(kind: SandboxKind, program: string, settings: SandboxSettings, reason?: string): Sandbox {
  const argv = (command: string, place: SandboxPlace, shell = "bash"): string[] => {
    if (kind === "bwrap") return [program, ...bwrapArgs(command, place, { network: settings.network, shell })];
    if (kind === "seatbelt") {
      const tmp = seatbeltTmp(place);
      const env = CACHE_ENV.map(([name, value]) => `${name}=${value.replace(/^\/tmp/, tmp)}`);
      return [
        "/usr/bin/env",
        ...env,
        program,
        "-p",
        seatbeltProfile(place, { network: settings.network, tmp }),
        shell,
        "-c",
        command,
      ];
    }
    throw new Error(`no sandbox: ${reason ?? "none available"}`);
  };
  return {
    kind,
    reason,
    network: settings.network,
    argv,
    commandLine: (command, place) => argv(command, place).map(shellQuote).join(" "),
  };
}

export interface DetectOptions {
  platform?: NodeJS.Platform;
  path?: string;
  /** Runs the probe; true when the sandbox works. Default: runs it for real. */
  probe?: (argv: string[]) => boolean;
}

function realProbe(argv: string[]): boolean {
  const run = spawnSync(argv[0]!, argv.slice(1), { stdio: "ignore", timeout: 10000 });
  return run.status === 0;
}

/** Finds the sandbox this machine can run; checked by running a trivial confined command once. */
export function detectSandbox(settings: SandboxSettings, options: DetectOptions = {}): Sandbox {
  const platform = options.platform ?? process.platform;
  const probe = options.probe ?? realProbe;
  if (!settings.enabled)
    return buildSandbox("none", "", settings, "turned off in continuum.jsonc (sandbox.enabled: false)");
  if (platform === "linux") {
    const bwrap = onPath("bwrap", options.path);
    if (!bwrap) return buildSandbox("none", "", settings, "bubblewrap (bwrap) is not installed");
    const dir = tmpdir();
    const probeArgs = [
      bwrap,
      ...bwrapArgs("true", { writable: dir, cwd: dir }, { network: settings.network, shell: "sh" }),
    ];
    if (!probe(probeArgs))
      return buildSandbox(
        "none",
        "",
        settings,
        "bubblewrap is installed but cannot run here (user namespaces may be disabled)",
      );
    return buildSandbox("bwrap", bwrap, settings);
  }
  if (platform === "darwin") {
    if (!existsSync(SEATBELT)) return buildSandbox("none", "", settings, `${SEATBELT} is missing`);
    return buildSandbox("seatbelt", SEATBELT, settings);
  }
  return buildSandbox("none", "", settings, `no sandbox is supported on ${platform}`);
}

let detected: { key: string; sandbox: Sandbox } | undefined;
/** detectSandbox, once per process and settings (the probe spawns a process). */
export function sandboxFor(settings: SandboxSettings): Sandbox {
  const key = `${settings.enabled}:${settings.network}`;
  if (detected?.key !== key) detected = { key, sandbox: detectSandbox(settings) };
  return detected.sandbox;
}

/**
 * The sandbox place of a git worktree: its top folder writable, its `.git` link protected (git run later by the pack
 * outside the sandbox follows it), and the shared repository readable even when it lives under /tmp.
 */
export function worktreePlace(dir: string, cwd = dir): SandboxPlace {
  const top = worktreeTop(dir);
  const readOnly: string[] = [];
  const link = join(top, ".git");
  try {
    const gitdir = /^gitdir:\s*(.+)$/m.exec(readFileSync(link, "utf8"))?.[1]?.trim();
    if (gitdir) {
      const admin = isAbsolute(gitdir) ? gitdir : resolve(top, gitdir);
      const common = commonDir(admin);
      readOnly.push(common);
      // The project the repository belongs to: node_modules and other links in the worktree point there.
      if (common.endsWith("/.git")) readOnly.push(dirname(common));
    }
  } catch {
    /* not a linked worktree: only the folder itself */
  }
  return { writable: top, cwd, readOnly, protect: [link] };
}

function commonDir(admin: string): string {
  try {
    const text = readFileSync(join(admin, "commondir"), "utf8").trim();
    return isAbsolute(text) ? text : resolve(admin, text);
  } catch {
    return admin;
  }
}

/** The nearest folder at or above `dir` holding a `.git` entry (a worktree made from a sub-folder reports that). */
function worktreeTop(dir: string): string {
  for (let current = resolve(dir); ; current = dirname(current)) {
    if (existsSync(join(current, ".git"))) return current;
    if (dirname(current) === current) return resolve(dir);
  }
}
