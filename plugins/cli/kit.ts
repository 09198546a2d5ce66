// What every subcommand shares: exit codes, typed errors, value parsers that reject bad input with exit 2, the
// --project option, and output that is either text or one JSON document (--json).
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";

/** Exit codes of every continuum command (documented in docs/reference/cli.md); `continuum run` adds 3–8 for goal outcomes. */
export const EXIT = {
  ok: 0,
  /** A failure: something named does not exist, a check failed, the work could not be done. */
  error: 1,
  /** The command line itself is wrong: unknown option, bad value, missing argument. */
  usage: 2,
} as const;

/** An error the user can act on; printed as one line naming what is wrong, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new CliError(what, EXIT.error);
export const usageError = (what: string) => new CliError(what, EXIT.usage);

/** Parser for an integer option within [min, max]: "abc", "-5" or "1.5" are usage errors, not silently ignored. */
export function intInRange(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected ${min}–${max}, got ${n}`);
    return n;
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

/** An existing directory, resolved; anything else is an error naming the option and the path (exit 1). */
export function existingDir(option: string, value: string | undefined, cwd = process.cwd()): string {
  const dir = resolve(cwd, value ?? ".");
  if (!existsSync(dir)) throw notFound(`${option} ${value}: no such directory`);
  if (!statSync(dir).isDirectory()) throw notFound(`${option} ${value}: not a directory`);
  return dir;
}

export function projectOption(): Option {
  return new Option("--project <dir>", "the project directory (default: the current directory)");
}

export function jsonOption(): Option {
  return new Option("--json", "print one JSON document instead of text (a stable shape, see docs/reference/cli.md)");
}

/** Prints either the JSON document or the text, never both. */
export function emit(json: boolean | undefined, data: unknown, text: () => string | string[]): void {
  if (json) {
    console.log(JSON.stringify(data, null, 2));
    return;
  }
  const out = text();
  console.log(Array.isArray(out) ? out.join("\n") : out);
}

export type Action<A extends unknown[]> = (...args: A) => Promise<number> | number;

/** The exit code the last action returned; main() reads it after commander has run the action. */
export const outcome = { code: EXIT.ok as number };

/**
 * Wraps an action so its return value becomes the process exit code, and an error is printed as one line headed
 * by the command's name (commander passes the Command as the handler's last argument).
 */
export function act<A extends unknown[]>(fn: Action<A>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args.at(-1) as Command;
    // The options given on a group (`continuum memory --project X list`) count as the subcommand's own.
    if (args.length >= 2 && typeof args.at(-2) === "object") args[args.length - 2] = command.optsWithGlobals();
    try {
      outcome.code = await fn(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`${commandPath(command)}: ${message}`);
      outcome.code = error instanceof CliError ? error.exitCode : EXIT.error;
    }
  };
}

/** `continuum memory search`: the full name of a command, for messages. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
