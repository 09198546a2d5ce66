// The pack's agents and commands are markdown files in the repository (the source of truth), each in the folder of
// the feature it belongs to: plugins/<feature>/{agents,commands}/<name>.md. They are registered through the config
// hook, filling only what the user has not set, so a user's own .opencode/agents/<name>.md or command of the same
// name always wins, field by field.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import matter from "gray-matter";
import { PACK_ROOT } from "./pack-root.ts";

export { PACK_ROOT };

export interface MarkdownAsset {
  name: string;
  file: string;
  frontmatter: Record<string, unknown>;
  body: string;
}

export type AssetKind = "agents" | "commands";

/** Where a feature's markdown lives: plugins/<feature>/<kind>/<name>.md, the file named as the user sees it. */
export interface AssetFile {
  feature: string;
  kind: AssetKind;
  name: string;
  file: string;
}

/** Every agent and command the pack ships, found in the feature folders (each feature owns its markdown). */
export function packAssetFiles(root = PACK_ROOT): AssetFile[] {
  const plugins = join(root, "plugins");
  const found: AssetFile[] = [];
  for (const feature of listDir(plugins)) {
    for (const kind of ["agents", "commands"] as const) {
      for (const file of listDir(join(plugins, feature, kind))) {
        if (!file.endsWith(".md")) continue;
        found.push({ feature, kind, name: file.slice(0, -3), file: join(plugins, feature, kind, file) });
      }
    }
  }
  return found;
}

export function readAsset(kind: AssetKind, name: string, root = PACK_ROOT): MarkdownAsset {
  const matches = packAssetFiles(root).filter((asset) => asset.kind === kind && asset.name === name);
  // A name is what the user types or picks, so two features shipping one name would make one of them vanish.
  if (matches.length > 1) {
    throw new Error(`pack ${kind.slice(0, -1)} ${name} is shipped twice: ${matches.map((m) => m.file).join(", ")}`);
  }
  const file = matches[0]?.file;
  const where = join(root, "plugins", "<feature>", kind);
  if (!file) throw new Error(`pack ${kind.slice(0, -1)} ${name} is missing under ${where}`);
  const parsed = matter(readFileSync(file, "utf8"));
  return { name, file, frontmatter: parsed.data as Record<string, unknown>, body: parsed.content.trim() };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

type ConfigEntries = Record<string, Record<string, unknown> | undefined>;

/** Adds the agent, or fills the fields a user's definition of the same name leaves unset. */
export function fillAgent(agents: ConfigEntries, asset: MarkdownAsset): "added" | "filled" | "kept" {
  const ours: Record<string, unknown> = { ...asset.frontmatter, prompt: asset.body };
  return fillEntry(agents, asset.name, ours);
}

export function fillCommand(commands: ConfigEntries, asset: MarkdownAsset): "added" | "filled" | "kept" {
  const ours: Record<string, unknown> = { ...asset.frontmatter, template: asset.body };
  return fillEntry(commands, asset.name, ours);
}

function fillEntry(entries: ConfigEntries, name: string, ours: Record<string, unknown>): "added" | "filled" | "kept" {
  const existing = entries[name];
  if (!existing) {
    entries[name] = ours;
    return "added";
  }
  let filled = false;
  for (const [key, value] of Object.entries(ours)) {
    if (existing[key] !== undefined) continue;
    existing[key] = value;
    filled = true;
  }
  return filled ? "filled" : "kept";
}

/** Every name the pack's own agents, commands, skills and built-in workflows use (so nothing generated shadows one). */
export function packAssetNames(root = PACK_ROOT): Set<string> {
  const names = new Set<string>(packAssetFiles(root).map((asset) => asset.name));
  for (const name of listDir(join(root, "skills"))) names.add(name);
  for (const file of listDir(join(root, "workflows"))) if (file.endsWith(".js")) names.add(file.slice(0, -3));
  return names;
}
