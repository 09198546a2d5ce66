// What the pack needs around it, checked before the doctor's round trip: Node, ripgrep, an OpenCode whose version
// is in engines.opencode, this checkout intact with its dependencies, the installed shim pointing at it, and a
// continuum.jsonc without problems.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "../core/assets.ts";
import { loadConfig, formatProblem } from "../core/config.ts";
import { parseVersion, satisfies } from "../core/host-range.ts";

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

interface PackageJson {
  version: string;
  engines: { node: string; opencode: string };
  dependencies: Record<string, string>;
}

export function packageJson(root = PACK_ROOT): PackageJson {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
}

// Re-exported: the comparison lives in core, where the plugin also judges the host it runs in.
export { parseVersion, satisfies };

export function checkNode(nodeVersion = process.versions.node, pkg = packageJson()): Check {
  const ok = satisfies(nodeVersion, pkg.engines.node);
  return {
    name: "node",
    status: ok ? "ok" : "fail",
    detail: ok
      ? `${nodeVersion} (needs ${pkg.engines.node})`
      : `${nodeVersion} is too old: the CLI needs Node ${pkg.engines.node}`,
  };
}

export function checkRipgrep(env: Record<string, string | undefined> = process.env): Check {
  const run = spawnSync("rg", ["--version"], { encoding: "utf8", env: env as NodeJS.ProcessEnv });
  if (run.error || run.status !== 0) {
    return {
      name: "ripgrep",
      status: "fail",
      detail:
        "rg not found on PATH: OpenCode's grep, glob and skill tools need it (https://github.com/BurntSushi/ripgrep)",
    };
  }
  return { name: "ripgrep", status: "ok", detail: run.stdout.split("\n")[0]!.trim() };
}

export function checkOpencodeVersion(binary: string, pkg = packageJson()): Check {
  const run = spawnSync(binary, ["--version"], {
    encoding: "utf8",
    timeout: 30000,
    env: { ...process.env, OPENCODE_DISABLE_AUTOUPDATE: "1" },
  });
  if (run.error)
    return { name: "opencode version", status: "fail", detail: `cannot run ${binary}: ${run.error.message}` };
  const version = parseVersion(run.stdout)?.join(".");
  if (!version)
    return {
      name: "opencode version",
      status: "fail",
      detail: `${binary} --version printed no version: ${(run.stdout + run.stderr).trim().slice(0, 200)}`,
    };
  if (!satisfies(version, pkg.engines.opencode)) {
    return {
      name: "opencode version",
      status: "fail",
      detail: `${version} at ${binary} is outside engines.opencode ${pkg.engines.opencode}; install a supported OpenCode`,
    };
  }
  return { name: "opencode version", status: "ok", detail: `${version} at ${binary} (needs ${pkg.engines.opencode})` };
}

/** The checkout the shim imports: the entry file and every runtime dependency present. */
export function checkCheckout(root = PACK_ROOT): Check {
  const entry = join(root, "plugins", "continuum.ts");
  if (!existsSync(entry)) return { name: "pack checkout", status: "fail", detail: `${entry} is missing` };
  const missing = Object.keys(packageJson(root).dependencies).filter(
    (name) => !existsSync(join(root, "node_modules", name, "package.json")),
  );
  if (missing.length)
    return {
      name: "pack checkout",
      status: "fail",
      detail: `dependencies missing in ${root}: ${missing.join(", ")}; run: (cd ${root} && npm ci --omit=dev)`,
    };
  return { name: "pack checkout", status: "ok", detail: root };
}

/** The installed shim (global or project) and the checkout it imports. */
export function checkShim(configDir: string): Check {
  const shim = join(configDir, "plugins", "continuum.ts");
  if (!existsSync(shim))
    return {
      name: "installed plugin",
      status: "warn",
      detail: `not installed in ${configDir} (run install.sh${configDir.endsWith(".opencode") ? " --project DIR" : ""})`,
    };
  const target = /^const entry = ("[^"\n]+");$/m.exec(readFileSync(shim, "utf8"))?.[1];
  const entry = target ? (JSON.parse(target) as string) : undefined;
  if (!entry)
    return { name: "installed plugin", status: "fail", detail: `${shim} was not written by this pack's install` };
  if (!existsSync(entry))
    return {
      name: "installed plugin",
      status: "fail",
      detail: `${shim} points at ${entry}, which is gone; run install.sh again from the checkout you keep`,
    };
  return { name: "installed plugin", status: "ok", detail: `${shim} → ${entry}` };
}

export function checkConfig(directory: string, env: Record<string, string | undefined> = process.env): Check {
  const { files, problems } = loadConfig(directory, env);
  if (problems.length === 0)
    return {
      name: "configuration",
      status: "ok",
      detail: files.length ? files.join(", ") : "no continuum.jsonc (every default applies)",
    };
  return { name: "configuration", status: "warn", detail: problems.map(formatProblem).join("\n       ") };
}
