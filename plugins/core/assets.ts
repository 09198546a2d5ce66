// The pack's agents and commands are markdown files in the repository (the source of truth). They are
// registered through the config hook, filling only what the user has not set, so a user's own
// .opencode/agents/<name>.md or command of the same name always wins, field by field.
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import matter from "gray-matter";

export const PACK_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface MarkdownAsset {
  name: string;
  file: string;
  frontmatter: Record<string, unknown>;
  body: string;
}

export function readAsset(kind: "agents" | "commands", name: string, root = PACK_ROOT): MarkdownAsset {
  const file = join(root, kind, `${name}.md`);
  if (!existsSync(file)) throw new Error(`pack ${kind.slice(0, -1)} ${name} is missing: ${file}`);
  const parsed = matter(readFileSync(file, "utf8"));
  return { name, file, frontmatter: parsed.data as Record<string, unknown>, body: parsed.content.trim() };
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
  const names = new Set<string>();
  const list = (dir: string) => {
    try {
      return readdirSync(join(root, dir));
    } catch {
      return [];
    }
  };
  for (const dir of ["agents", "commands"]) for (const file of list(dir)) if (file.endsWith(".md")) names.add(file.slice(0, -3));
  for (const name of list("skills")) names.add(name);
  for (const file of list("workflows")) if (file.endsWith(".js")) names.add(file.slice(0, -3));
  return names;
}
