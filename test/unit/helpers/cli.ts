// Runs the continuum CLI in-process (main()) and captures what it prints and the exit code it returns.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../plugins/cli/main.ts";

export async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Points XDG_DATA_HOME / XDG_CONFIG_HOME at a temp dir for the duration of fn. */
export async function withIsolatedDirs<T>(fn: (root: string) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), "continuum-cli-"));
  const saved = { data: process.env.XDG_DATA_HOME, config: process.env.XDG_CONFIG_HOME };
  process.env.XDG_DATA_HOME = join(root, "data");
  process.env.XDG_CONFIG_HOME = join(root, "config");
  mkdirSync(join(root, "config", "opencode"), { recursive: true });
  try {
    return await fn(root);
  } finally {
    for (const [key, value] of [
      ["XDG_DATA_HOME", saved.data],
      ["XDG_CONFIG_HOME", saved.config],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(root, { recursive: true, force: true });
  }
}
