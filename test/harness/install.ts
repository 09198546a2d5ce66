// Installs the pack into an isolated environment exactly as a user does: by running install.sh.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT, type IsolatedEnv } from "./env.ts";

export interface InstallOptions {
  scope?: "project" | "global";
  doctor?: boolean;
  extraArgs?: string[];
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runInstallScript(env: IsolatedEnv, args: string[]): ScriptResult {
  const result = spawnSync("bash", [join(REPO_ROOT, "install.sh"), ...args], {
    cwd: env.root,
    env: { ...env.env, OPENCODE_BIN: process.env.OPENCODE_BIN ?? "" },
    encoding: "utf8",
    timeout: 180000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function installPack(env: IsolatedEnv, options: InstallOptions = {}): ScriptResult {
  const scope = options.scope ?? "project";
  const args = [
    ...(scope === "project" ? ["--project", env.projectDir] : []),
    ...(options.doctor ? [] : ["--no-doctor"]),
    ...(options.extraArgs ?? []),
  ];
  const result = runInstallScript(env, args);
  if (result.code !== 0)
    throw new Error(`install.sh ${args.join(" ")} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

export function uninstallPack(
  env: IsolatedEnv,
  scope: "project" | "global" = "project",
  extra: string[] = [],
): ScriptResult {
  return runInstallScript(env, [
    "--uninstall",
    ...(scope === "project" ? ["--project", env.projectDir] : []),
    ...extra,
  ]);
}
