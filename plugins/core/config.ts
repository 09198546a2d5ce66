// Loads continuum.jsonc (global OpenCode config dir, then the project's .opencode/), project over global.
// A bad key never disables the pack: it is reported with file, key and expected value, and its default is used.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import type { z } from "zod";
import { configSchema, defaultConfig, type ContinuumConfig } from "./config-schema.ts";
import { globalConfigDir } from "./paths.ts";

export const CONFIG_FILE = "continuum.jsonc";

export interface ConfigProblem {
  file: string;
  key: string;
  severity: "warning" | "error";
  message: string;
}

export interface LoadedConfig {
  config: ContinuumConfig;
  files: string[];
  problems: ConfigProblem[];
}

type Json = Record<string, unknown>;

export function configFiles(directory: string, env: Record<string, string | undefined> = process.env): string[] {
  return [join(globalConfigDir(env), CONFIG_FILE), join(directory, ".opencode", CONFIG_FILE)];
}

export function loadConfig(directory: string, env: Record<string, string | undefined> = process.env): LoadedConfig {
  const problems: ConfigProblem[] = [];
  const files: string[] = [];
  const layers: { file: string; raw: Json }[] = [];
  let merged: Json = {};
  for (const file of configFiles(directory, env)) {
    if (!existsSync(file)) continue;
    files.push(file);
    const raw = readConfigFile(file, problems);
    if (!raw) continue;
    const valid = validateLayer(raw, file, problems);
    layers.push({ file, raw: valid });
    merged = deepMerge(merged, valid);
  }
  const config = finalParse(merged);
  checkSchedule(config, layers, problems);
  return { config, files, problems };
}

/** The file that set a key last (project over global), for messages about merged values. */
function fileOf(layers: { file: string; raw: Json }[], path: string[]): string {
  for (const { file, raw } of [...layers].reverse()) {
    let value: unknown = raw;
    for (const key of path) value = value && typeof value === "object" ? (value as Json)[key] : undefined;
    if (value !== undefined) return file;
  }
  return layers.at(-1)?.file ?? "continuum.jsonc";
}

type Point = "threshold" | "rebuildAt";

/** A fraction of the usable window (0 < x < 1; rebuildAt may be 1) or an absolute token count (a whole number ≥ 1000). */
export function describePoint(value: number, point: Point): string | undefined {
  const fractionMax = point === "rebuildAt" ? 1 : 0.999999;
  if (value > 0 && value <= fractionMax) return undefined;
  if (Number.isInteger(value) && value >= 1000) return undefined;
  return `${value} is neither a fraction of the context window (0 < x < 1${point === "rebuildAt" ? ", or 1" : ""}) nor a token count (a whole number ≥ 1000)`;
}

/**
 * Checkpoint schedules that the schema alone cannot judge: thresholds ascending, each a fraction or a token count,
 * and the rebuild point above the last threshold. A bad value falls back to its default, like any invalid key.
 */
function checkSchedule(
  config: ContinuumConfig,
  layers: { file: string; raw: Json }[],
  problems: ConfigProblem[],
): void {
  const defaults = defaultConfig().checkpoint;
  const schedules: { path: string[]; target: { thresholds?: number[]; rebuildAt?: number }; fallback: boolean }[] = [
    { path: ["checkpoint"], target: config.checkpoint, fallback: true },
    ...Object.entries(config.checkpoint.models).map(([model, target]) => ({
      path: ["checkpoint", "models", model],
      target,
      fallback: false,
    })),
  ];
  for (const { path, target, fallback } of schedules) {
    const report = (key: "thresholds" | "rebuildAt", message: string) => {
      const fullPath = [...path, key];
      problems.push({
        file: fileOf(layers, fullPath),
        key: fullPath.join("."),
        severity: "error",
        message: `${message}; ${fallback ? `using the default ${JSON.stringify(defaults[key])}` : "this override is ignored"}`,
      });
      if (fallback) (target as Record<string, unknown>)[key] = structuredClone(defaults[key]);
      else delete target[key];
    };
    if (target.thresholds) {
      const bad = target.thresholds.map((t) => describePoint(t, "threshold")).find(Boolean);
      const fractions = target.thresholds.filter((t) => t < 1);
      const tokens = target.thresholds.filter((t) => t >= 1);
      const ascending = (list: number[]) => list.every((t, i) => i === 0 || t > list[i - 1]!);
      if (bad) report("thresholds", bad);
      else if (!ascending(fractions) || !ascending(tokens))
        report("thresholds", `${JSON.stringify(target.thresholds)} must be in ascending order`);
    }
    if (target.rebuildAt !== undefined) {
      const bad = describePoint(target.rebuildAt, "rebuildAt");
      if (bad) report("rebuildAt", bad);
    }
    const rebuildAt = target.rebuildAt ?? config.checkpoint.rebuildAt;
    const sameKind = (t: number) => t < 1 === rebuildAt <= 1;
    const last = (target.thresholds ?? config.checkpoint.thresholds).filter(sameKind).at(-1);
    if (last !== undefined && rebuildAt <= last) {
      const key = target.rebuildAt !== undefined ? "rebuildAt" : "thresholds";
      report(key, `rebuildAt ${rebuildAt} must be above the last checkpoint threshold ${last}`);
      // The default rebuild point may still sit under a configured threshold: then both fall back.
      if (fallback && config.checkpoint.thresholds.some((t) => t < 1 && t >= config.checkpoint.rebuildAt)) {
        config.checkpoint.thresholds = structuredClone(defaults.thresholds);
      }
    }
  }
}

/** One line for the start-up toast and the doctor: how many problems, and the first few. */
export function summarizeProblems(problems: ConfigProblem[]): string | undefined {
  if (problems.length === 0) return undefined;
  const shown = problems.slice(0, 3).map(formatProblem);
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more; run: continuum doctor)` : "";
  return `continuum.jsonc has ${problems.length} problem${problems.length === 1 ? "" : "s"}: ${shown.join(" | ")}${more}`;
}

/** Parses one JSONC file; syntax errors are reported with line and column. */
function readConfigFile(file: string, problems: ConfigProblem[]): Json | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    problems.push({ file, key: "(file)", severity: "error", message: `cannot read: ${(error as Error).message}` });
    return undefined;
  }
  if (text.trim() === "") return {};
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = lineColumn(text, first.offset);
    problems.push({
      file,
      key: "(syntax)",
      severity: "error",
      message: `${printParseErrorCode(first.error)} at line ${line}, column ${column}; this file is ignored`,
    });
    return undefined;
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.push({
      file,
      key: "(root)",
      severity: "error",
      message: "expected a JSON object at the top level; this file is ignored",
    });
    return undefined;
  }
  return value as Json;
}

/**
 * Validates one layer on its own so each problem names the file it came from. Unknown keys are warnings;
 * invalid values are errors. Either way the offending key is dropped and its default (or the other layer) applies.
 */
export function validateLayer(raw: Json, file: string, problems: ConfigProblem[]): Json {
  let layer = structuredClone(raw);
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = configSchema.safeParse(layer);
    if (result.success) return layer;
    for (const issue of result.error.issues) {
      for (const { path, problem } of describeIssue(issue)) {
        problems.push({ file, key: path.join(".") || "(root)", ...problem });
        layer = withoutPath(layer, path);
      }
    }
  }
  problems.push({ file, key: "(root)", severity: "error", message: "too many problems; this file is ignored" });
  return {};
}

function describeIssue(
  issue: z.core.$ZodIssue,
): { path: PropertyKey[]; problem: Omit<ConfigProblem, "file" | "key"> }[] {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => {
      const guess = didYouMean(key, knownKeys(path));
      return {
        path: [...path, key],
        problem: {
          severity: "warning" as const,
          message: `unknown key, ignored${guess ? `; did you mean "${guess}"?` : ""}`,
        },
      };
    });
  }
  return [{ path, problem: { severity: "error", message: `${issue.message}; using the default` } }];
}

/** The keys the schema allows at a path (empty where any key is allowed, e.g. checkpoint.models). */
export function knownKeys(path: PropertyKey[]): string[] {
  let schema: unknown = configSchema;
  for (const key of path) {
    const shape = objectShape(schema);
    if (!shape) return [];
    schema = shape[String(key)];
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let current = schema as
    | { _zod?: { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown> } } }
    | undefined;
  for (let i = 0; i < 5 && current?._zod?.def; i++) {
    const def = current._zod.def;
    if (def.type === "object") return def.shape;
    current = def.innerType as typeof current;
  }
  return undefined;
}

/** The closest known key within a small edit distance, for "did you mean". */
export function didYouMean(key: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  if (!best) return undefined;
  const allowed = Math.max(1, Math.floor(best.name.length / 3));
  return best.distance <= allowed ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function withoutPath(value: Json, path: PropertyKey[]): Json {
  if (path.length === 0) return {};
  const copy: Json = { ...value };
  const [head, ...rest] = path as string[];
  if (rest.length === 0) {
    delete copy[head!];
    return copy;
  }
  const child = copy[head!];
  if (child && typeof child === "object" && !Array.isArray(child)) copy[head!] = withoutPath(child as Json, rest);
  else if (Array.isArray(child)) delete copy[head!];
  return copy;
}

function finalParse(merged: Json): ContinuumConfig {
  const result = configSchema.safeParse(merged);
  return result.success ? result.data : defaultConfig();
}

/** Objects merge key by key; arrays and scalars from the later layer replace the earlier ones. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    const bothObjects = isPlainObject(prev) && isPlainObject(value);
    out[key] = bothObjects ? deepMerge(prev as Json, value as Json) : value;
  }
  return out;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

export function formatProblem(problem: ConfigProblem): string {
  return `${problem.file}: ${problem.key}: ${problem.message}`;
}
