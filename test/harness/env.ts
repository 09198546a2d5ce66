// An isolated OpenCode environment for one test: its own HOME and XDG dirs under a temp folder, the
// OPENCODE_DISABLE_* switches, an in-memory OpenCode DB, and a project whose opencode.json points at the
// scripted model.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));

export interface IsolatedEnv {
  root: string;
  home: string;
  configHome: string;
  dataHome: string;
  /** OpenCode's global config dir ($XDG_CONFIG_HOME/opencode). */
  globalConfigDir: string;
  /** The pack's data dir ($XDG_DATA_HOME/opencode-continuum). */
  packDataDir: string;
  projectDir: string;
  env: Record<string, string>;
  cleanup(): void;
}

export interface EnvOptions {
  baseURL: string;
  /** Model window; default 32000 with 4000 output. */
  context?: number;
  output?: number;
  git?: boolean;
  /** Extra keys merged into the project's opencode.json. */
  opencodeConfig?: Record<string, unknown>;
  /** Written to .opencode/continuum.jsonc when given. */
  continuumConfig?: Record<string, unknown>;
  keep?: boolean;
}

export function opencodeBinary(): string {
  return process.env.OPENCODE_BIN || join(REPO_ROOT, "node_modules", ".bin", "opencode");
}

export function createIsolatedEnv(options: EnvOptions): IsolatedEnv {
  const base = join(REPO_ROOT, "test", ".tmp");
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, "e2e-"));
  const home = join(root, "home");
  const dirs = {
    configHome: join(root, "config"),
    dataHome: join(root, "data"),
    cacheHome: join(root, "cache"),
    stateHome: join(root, "state"),
  };
  for (const dir of [home, ...Object.values(dirs)]) mkdirSync(dir, { recursive: true });
  const projectDir = join(root, "project");
  mkdirSync(projectDir, { recursive: true });
  seedConfigDir(join(dirs.configHome, "opencode"));
  seedConfigDir(join(projectDir, ".opencode"));
  if (options.git ?? true) initGitRepo(projectDir);
  writeFileSync(join(projectDir, "opencode.json"), JSON.stringify(opencodeJson(options), null, 2));
  if (options.continuumConfig) {
    mkdirSync(join(projectDir, ".opencode"), { recursive: true });
    writeFileSync(join(projectDir, ".opencode", "continuum.jsonc"), JSON.stringify(options.continuumConfig, null, 2));
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: dirs.configHome,
    XDG_DATA_HOME: dirs.dataHome,
    XDG_CACHE_HOME: dirs.cacheHome,
    XDG_STATE_HOME: dirs.stateHome,
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DB: ":memory:",
    NO_COLOR: "1",
  };
  return {
    root,
    home,
    configHome: dirs.configHome,
    dataHome: dirs.dataHome,
    globalConfigDir: join(dirs.configHome, "opencode"),
    packDataDir: join(dirs.dataHome, "opencode-continuum"),
    projectDir,
    env,
    cleanup: () => {
      if (!options.keep && !process.env.KEEP_E2E_TMP) rmSync(root, { recursive: true, force: true });
    },
  };
}

export function opencodeJson(
  options: Pick<EnvOptions, "baseURL" | "context" | "output" | "opencodeConfig">,
): Record<string, unknown> {
  return {
    $schema: "https://opencode.ai/config.json",
    model: "fake/fake-model",
    small_model: "fake/fake-model",
    autoupdate: false,
    share: "disabled",
    provider: {
      fake: {
        npm: "@ai-sdk/openai-compatible",
        name: "Scripted",
        options: { baseURL: options.baseURL, apiKey: "scripted" },
        models: {
          "fake-model": {
            name: "Fake model",
            tool_call: true,
            limit: { context: options.context ?? 32000, output: options.output ?? 4000 },
          },
        },
      },
    },
    ...options.opencodeConfig,
  };
}

/**
 * OpenCode npm-installs @opencode-ai/plugin into every config dir at start-up unless node_modules exists and
 * package-lock.json already lists it. Seeding that state keeps test runs offline and ~10 s faster per start.
 */
export function seedConfigDir(dir: string): void {
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  const lock = {
    name: "opencode-config",
    lockfileVersion: 3,
    packages: { "": { dependencies: { "@opencode-ai/plugin": "1.18.33" } } },
  };
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ dependencies: { "@opencode-ai/plugin": "1.18.33" } }, null, 2),
  );
}

function initGitRepo(dir: string): void {
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      stdio: "ignore",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t",
      },
    });
  git("init", "-q");
  writeFileSync(join(dir, "README.md"), "# scripted test project\n");
  git("add", ".");
  git("commit", "-q", "-m", "init");
}
