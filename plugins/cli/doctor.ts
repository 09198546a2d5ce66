// The doctor checks what the pack needs around it (Node, ripgrep, OpenCode's version, the checkout and the installed
// shim, the configuration), then proves one real round trip: it starts the installed OpenCode against a local
// scripted model and checks that the plugin loaded, that a hook fired and that a pack tool was offered to the model.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { describeVerdict } from "../core/host-range.ts";
import { globalConfigDir } from "../core/paths.ts";
import {
  checkCheckout,
  checkConfig,
  checkNode,
  checkOpencodeVersion,
  checkRipgrep,
  checkShim,
  type Check,
} from "./environment.ts";
import { act, emit, existingDir, jsonOption } from "./kit.ts";
import { resolveTarget } from "./install-manifest.ts";
import { checkConfigEntry, checkPackage, isCheckout } from "./install-package.ts";
import { startDoctorModel } from "./doctor-model.ts";
import { findOpencode, runOpencode } from "./opencode-driver.ts";

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
  checks: Check[];
}

interface TraceRecord {
  event: string;
  hook?: string;
  tools?: string[];
  features?: string[];
  version?: string;
  range?: string;
  inside?: boolean;
  experimentalHooks?: string[];
}

const PROVIDER = "continuum-doctor";

const LABEL = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const;

export async function runDoctor(target: DoctorTarget): Promise<DoctorResult> {
  const say = (line: string) => target.quiet || console.log(line);
  const env = { ...process.env, ...target.env };
  const configDir = target.projectDir ? join(target.projectDir, ".opencode") : globalConfigDir(env);
  let binary: string | undefined;
  let binaryProblem = "";
  try {
    binary = target.opencode ?? findOpencode(env);
  } catch (error) {
    binaryProblem = (error as Error).message;
  }
  const environment: Check[] = [
    checkNode(),
    checkRipgrep(env),
    binary ? checkOpencodeVersion(binary) : { name: "opencode version", status: "fail", detail: binaryProblem },
    // A checkout installs a shim; the published package an opencode.json(c) entry.
    ...(isCheckout()
      ? [checkCheckout(), checkShim(configDir)]
      : [checkPackage(), checkConfigEntry(resolveTarget(target.projectDir, env))]),
    checkConfig(target.projectDir ?? process.cwd(), env),
  ];
  for (const check of environment) say(`  ${LABEL[check.status]} ${check.name}: ${check.detail}`);
  const roundTrip = binary
    ? await runRoundTrip(target, binary, say)
    : [{ name: "opencode ran", status: "fail" as const, detail: binaryProblem }];
  for (const check of roundTrip) say(`  ${LABEL[check.status]} ${check.name}: ${check.detail}`);
  const checks = [...environment, ...roundTrip];
  const ok = checks.every((c) => c.status !== "fail");
  say(
    ok
      ? `doctor: all checks passed${checks.some((c) => c.status === "warn") ? " (see the warnings above)" : ""}`
      : "doctor: FAILED (see above)",
  );
  return { ok, checks };
}

async function runRoundTrip(target: DoctorTarget, binary: string, say: (line: string) => void): Promise<Check[]> {
  const scratch = mkdtempSync(join(tmpdir(), "continuum-doctor-"));
  const trace = join(scratch, "trace.jsonl");
  const model = await startDoctorModel("continuum doctor: ok");
  try {
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
    // OpenCode's hidden helpers (the title) offer no tools, so any request that offered a pack tool is the agent's.
    const mainRequests = model.requests.filter((r) => r.tools.length > 0);
    const offered = loaded?.tools?.filter((tool) => mainRequests.some((r) => r.tools.includes(tool))) ?? [];
    const status = (ok: boolean) => (ok ? "ok" : "fail") as Check["status"];
    return [
      {
        name: "opencode ran",
        status: status(run.code === 0),
        detail: run.code === 0 ? "exit 0" : `exit ${run.code}: ${tail(run.output)}`,
      },
      {
        name: "plugin loaded",
        status: status(Boolean(loaded)),
        detail: loaded
          ? `version ${loaded.version}, features: ${loaded.features?.join(", ") || "none"}`
          : `no trace from the plugin; OpenCode said: ${pluginLines(run.output)}`,
      },
      {
        name: "hook fired",
        status: status(hooks.length > 0),
        detail: hooks.length ? hooks.join(", ") : "no hook of the pack was called",
      },
      upstreamCheck(records.find((r) => r.event === "upstream")),
      {
        name: "pack tool offered to the model",
        status: status(offered.length > 0),
        detail: offered.length
          ? offered.join(", ")
          : mainRequests.length === 0
            ? "the model was never called"
            : `the model saw none of: ${loaded?.tools?.join(", ") || "(the pack registered no tools)"}`,
      },
    ];
  } finally {
    await model.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Keeps the user's config dirs (where the pack is installed) but isolates OpenCode's data, DB and model. */
/** What the plugin found inside OpenCode: the host's version against the tested range, the experimental hooks. */
function upstreamCheck(record: TraceRecord | undefined): Check {
  if (!record?.range)
    return { name: "upstream", status: "warn", detail: "the plugin did not report the host's version" };
  const verdict = { ...record, range: record.range, experimentalHooks: record.experimentalHooks ?? [] };
  return { name: "upstream", status: record.inside === true ? "ok" : "warn", detail: describeVerdict(verdict) };
}

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

export function register(program: Command): void {
  program
    .command("doctor")
    .description(
      "check Node, ripgrep, OpenCode's version, the checkout, the installed plugin and the configuration, then prove one round trip through OpenCode (exit 1 if a check fails)",
    )
    .option("--project <dir>", "check a project install (default: the global install)")
    .option("--opencode <bin>", "the opencode binary (default: $OPENCODE_BIN, else opencode on PATH)")
    .addOption(jsonOption())
    .action(
      act(async (o: { project?: string; opencode?: string; json?: boolean }) => {
        const projectDir = o.project === undefined ? undefined : existingDir("--project", o.project);
        const result = await runDoctor({ projectDir, opencode: o.opencode, quiet: o.json });
        emit(o.json, result, () => []);
        return result.ok ? 0 : 1;
      }),
    );
}
