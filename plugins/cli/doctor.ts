// The doctor proves one real round trip: it starts the installed OpenCode against a local scripted model and
// checks that the plugin loaded, that a hook fired and that a pack tool was offered to the model.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { globalConfigDir } from "../core/paths.ts";
import { startScriptedModel } from "./scripted-model.ts";
import { findOpencode, runOpencode } from "./opencode-driver.ts";
import type { Subcommand } from "./main.ts";

export interface DoctorTarget {
  /** Run inside this project (a project install); otherwise in an empty temp dir (global install). */
  projectDir?: string;
  /** opencode binary; default: `opencode` on PATH, else the repository's pinned one. */
  opencode?: string;
  timeoutMs?: number;
  /** Extra environment for the OpenCode process (tests pass their isolated XDG dirs). */
  env?: Record<string, string | undefined>;
  quiet?: boolean;
}

export interface DoctorResult {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
}

interface TraceRecord {
  event: string;
  hook?: string;
  tools?: string[];
  features?: string[];
  version?: string;
}

const PROVIDER = "continuum-doctor";

export async function runDoctor(target: DoctorTarget): Promise<DoctorResult> {
  const say = (line: string) => target.quiet || console.log(line);
  const scratch = mkdtempSync(join(tmpdir(), "continuum-doctor-"));
  const trace = join(scratch, "trace.jsonl");
  const model = await startScriptedModel({ main: [{ text: "continuum doctor: ok" }], exhausted: { text: "ok" } });
  try {
    const binary = target.opencode ?? findOpencode();
    say(`doctor: starting ${binary} against a scripted model on ${model.baseURL}`);
    const cwd = target.projectDir ?? scratch;
    const configHome = copyGlobalConfig(target, scratch);
    const outcome = await runOpencode({
      binary,
      cwd,
      env: doctorEnv(target, model.baseURL, trace, scratch, cwd, configHome),
      args: ["run", "--print-logs", "-m", `${PROVIDER}/scripted`, "continuum doctor check: reply ok"],
      timeoutMs: target.timeoutMs ?? 120000,
    });
    const run = { code: outcome.code, output: outcome.spawnError ?? outcome.stdout + outcome.stderr };
    const records = readTrace(trace);
    const loaded = records.find((r) => r.event === "loaded");
    const hooks = [...new Set(records.filter((r) => r.event === "hook").map((r) => r.hook!))];
    const mainRequests = model.requests.filter((r) => r.lane === "main");
    const offered = loaded?.tools?.filter((tool) => mainRequests.some((r) => r.tools.includes(tool))) ?? [];
    const checks = [
      { name: "opencode ran", ok: run.code === 0, detail: run.code === 0 ? "exit 0" : `exit ${run.code}: ${tail(run.output)}` },
      {
        name: "plugin loaded",
        ok: Boolean(loaded),
        detail: loaded ? `version ${loaded.version}, features: ${loaded.features?.join(", ") || "none"}` : `no trace from the plugin; OpenCode said: ${pluginLines(run.output)}`,
      },
      { name: "hook fired", ok: hooks.length > 0, detail: hooks.length ? hooks.join(", ") : "no hook of the pack was called" },
      {
        name: "pack tool offered to the model",
        ok: offered.length > 0,
        detail: offered.length
          ? offered.join(", ")
          : mainRequests.length === 0
            ? "the model was never called"
            : `the model saw none of: ${loaded?.tools?.join(", ") || "(the pack registered no tools)"}`,
      },
    ];
    for (const check of checks) say(`  ${check.ok ? "ok  " : "FAIL"} ${check.name}: ${check.detail}`);
    const ok = checks.every((c) => c.ok);
    say(ok ? "doctor: all checks passed" : "doctor: FAILED (see above)");
    return { ok, checks };
  } finally {
    await model.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Keeps the user's config dirs (where the pack is installed) but isolates OpenCode's data, DB and model. */
/**
 * OpenCode rewrites its global config file when it starts (it adds "$schema"), so the doctor runs it on a copy
 * of the global config dir: the same files load, and the user's own config is never touched by the check.
 * node_modules is linked, not copied, so OpenCode finds its dependencies installed and fetches nothing.
 */
function copyGlobalConfig(target: DoctorTarget, scratch: string): string {
  const configHome = join(scratch, "config");
  const source = globalConfigDir({ ...process.env, ...target.env });
  const copy = join(configHome, "opencode");
  mkdirSync(copy, { recursive: true });
  if (!existsSync(source)) return configHome;
  cpSync(source, copy, { recursive: true, filter: (path) => path !== join(source, "node_modules") });
  if (existsSync(join(source, "node_modules"))) symlinkSync(join(source, "node_modules"), join(copy, "node_modules"));
  return configHome;
}

function doctorEnv(
  target: DoctorTarget,
  baseURL: string,
  trace: string,
  scratch: string,
  cwd: string,
  configHome: string,
): Record<string, string | undefined> {
  const inline = {
    model: `${PROVIDER}/scripted`,
    small_model: `${PROVIDER}/scripted`,
    provider: {
      [PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "continuum doctor",
        options: { baseURL, apiKey: "doctor" },
        models: { scripted: { name: "scripted", tool_call: true, limit: { context: 64000, output: 4000 } } },
      },
    },
  };
  return {
    ...process.env,
    ...target.env,
    // OpenCode takes its directory from PWD when set; the caller's shell PWD would point it elsewhere.
    PWD: cwd,
    CONTINUUM_DOCTOR_REPORT: trace,
    OPENCODE_CONFIG_CONTENT: JSON.stringify(inline),
    OPENCODE_DB: ":memory:",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    // The pack's own data for this run goes to a scratch dir: a doctor must not leave memories behind.
    XDG_DATA_HOME: join(scratch, "data"),
    XDG_CONFIG_HOME: configHome,
  };
}

function readTrace(file: string): TraceRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as TraceRecord];
      } catch {
        return [];
      }
    });
}

function pluginLines(output: string): string {
  const lines = output.split("\n").filter((l) => /plugin|continuum/i.test(l) && /error|fail|warn/i.test(l));
  return lines.slice(-5).join(" | ") || tail(output);
}

function tail(output: string): string {
  return output.trim().split("\n").slice(-5).join(" | ").slice(-800) || "(no output)";
}

export const doctorCommand: Subcommand = {
  summary: "prove the installed pack works: plugin loads, a hook fires, a pack tool reaches the model",
  usage: "continuum doctor [--project DIR] [--opencode BIN]",
  async run(args) {
    const { values } = parseArgs({ args, options: { project: { type: "string" }, opencode: { type: "string" } }, strict: true });
    const result = await runDoctor({ projectDir: values.project, opencode: values.opencode });
    return result.ok ? 0 : 1;
  },
};
