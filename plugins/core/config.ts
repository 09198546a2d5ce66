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
  let merged: Json = {};
  for (const file of configFiles(directory, env)) {
    if (!existsSync(file)) continue;
    files.push(file);
    const raw = readConfigFile(file, problems);
    if (raw) merged = deepMerge(merged, validateLayer(raw, file, problems));
  }
  return { config: finalParse(merged), files, problems };
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
    problems.push({ file, key: "(root)", severity: "error", message: "expected a JSON object at the top level; this file is ignored" });
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

function describeIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; problem: Omit<ConfigProblem, "file" | "key"> }[] {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      problem: { severity: "warning" as const, message: "unknown key, ignored" },
    }));
  }
  return [{ path, problem: { severity: "error", message: `${issue.message}; using the default` } }];
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
