// The one way /distill writes: an asset is validated (front matter through gray-matter and read back, OpenCode's
// skill-name rule, a name no existing asset has) before anything touches the disk, and an existing file is never
// overwritten: "extend" appends a section after keeping a backup copy, and only to a file /distill created itself
// (asked to extend one of yours, it creates `<name>-distilled` beside it instead); "create" refuses when the file
// exists (the new file is hard-linked into place, which fails when the name exists, so a race cannot overwrite either).
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { checkProjectPath } from "../core/protected-paths.ts";
import matter from "gray-matter";
import { writeStoredFile } from "../core/storage/stored-text.ts";
import type { AssetForm, InventoryItem } from "./inventory.ts";
import { fileStamp } from "../core/file-stamp.ts";

/** OpenCode's rule for skill names (the folder must match the name). */
export const SKILL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const MAX_NAME = 64;
export const MAX_DESCRIPTION = 1024;
export const MAX_BODY = 20_000;

export interface AssetRequest {
  form: AssetForm;
  name: string;
  description: string;
  body: string;
  action: "create" | "extend";
}

export interface PlannedAsset {
  form: AssetForm;
  name: string;
  /** Set when an extend of a file the pack did not create became this new asset beside it: that file's path. */
  besides?: string;
  path: string;
  action: "create" | "extend";
  content: string;
}

/** Project-relative place of an asset in .opencode/. */
export function assetPath(projectDir: string, form: AssetForm, name: string): string {
  if (form === "skill") return join(projectDir, ".opencode", "skills", name, "SKILL.md");
  return join(projectDir, ".opencode", form === "command" ? "commands" : "agents", `${name}.md`);
}

/** The name of the asset /distill creates beside one of yours it was asked to extend. */
export const besideName = (name: string) => `${name}-distilled`.slice(0, MAX_NAME);

/**
 * Problems with a request; empty when it may be written. `reserved` are names the pack itself uses; `packCreated`
 * says whether /distill created the file at a path (only those are ever extended).
 */
export function validateAsset(
  request: AssetRequest,
  projectDir: string,
  existing: InventoryItem[],
  reserved: ReadonlySet<string>,
  packCreated: (path: string) => boolean = () => false,
): { problems: string[]; plan?: PlannedAsset } {
  if (request.action === "extend" && SKILL_NAME.test(request.name)) {
    const path = assetPath(projectDir, request.form, request.name);
    // Yours is never rewritten: the addition becomes its own asset beside it (or extends that one, made earlier).
    if (existsSync(path) && !packCreated(path)) {
      const beside = besideName(request.name);
      const besidePath = assetPath(projectDir, request.form, beside);
      const action = existsSync(besidePath) && packCreated(besidePath) ? "extend" : "create";
      const checked = validateOne({ ...request, name: beside, action }, projectDir, existing, reserved, packCreated);
      return checked.plan ? { problems: [], plan: { ...checked.plan, besides: path } } : checked;
    }
  }
  return validateOne(request, projectDir, existing, reserved, packCreated);
}

function validateOne(
  request: AssetRequest,
  projectDir: string,
  existing: InventoryItem[],
  reserved: ReadonlySet<string>,
  packCreated: (path: string) => boolean,
): { problems: string[]; plan?: PlannedAsset } {
  const problems: string[] = [];
  const name = request.name;
  if (!SKILL_NAME.test(name) || name.length > MAX_NAME)
    problems.push(
      `name "${name.slice(0, 80)}" is invalid: lowercase letters and digits in words joined by single hyphens (${SKILL_NAME.source}), at most ${MAX_NAME} characters`,
    );
  const description = request.description.replace(/\s+/g, " ").trim();
  if (!description) problems.push("description is empty: say in one sentence when to use it");
  if (description.length > MAX_DESCRIPTION)
    problems.push(`description has ${description.length} characters; at most ${MAX_DESCRIPTION}`);
  const body = request.body
    .replace(/\r/g, "")
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, "")
    .trim();
  if (!body) problems.push("body is empty");
  if (body.length > MAX_BODY) problems.push(`body has ${body.length} characters; at most ${MAX_BODY}`);
  if (/^---\s*$/m.test(body.split("\n")[0] ?? ""))
    problems.push("body must not start with its own front matter; give name and description as arguments");
  if (problems.length) return { problems };

  const path = assetPath(projectDir, request.form, name);
  // Only distill's own places in .opencode, never through a link (a linked skills folder could lead anywhere).
  try {
    checkProjectPath(projectDir, relative(projectDir, path), "write", { opencodeAssets: true });
  } catch (error) {
    return { problems: [`${(error as Error).message}; nothing was written`] };
  }
  const sameName = existing.filter(
    (e) => e.name === name && (e.form === request.form || request.form === "skill" || e.form === "skill"),
  );
  if (request.action === "create") {
    if (reserved.has(name)) problems.push(`name "${name}" is used by opencode-continuum itself; choose another`);
    if (existsSync(path))
      problems.push(
        packCreated(path)
          ? `${path} exists already: it is never overwritten (use action "extend" to add to it, or skip)`
          : `${path} exists already and is not one /distill created: it is never changed; choose another name, or skip`,
      );
    else if (sameName.length)
      problems.push(
        `a ${sameName[0]!.form} named "${name}" exists already (${sameName[0]!.path}); choose another name, or skip`,
      );
  } else if (!existsSync(path)) problems.push(`nothing to extend: ${path} does not exist (use action "create")`);
  if (problems.length) return { problems };

  const content =
    request.action === "create"
      ? render(request.form, name, description, body)
      : extended(readFileSync(path, "utf8"), body);
  // Read back what would be written: the front matter must parse and say what was asked.
  const parsed = safeParse(content);
  if (!parsed)
    return { problems: ["the asset's front matter does not parse back (odd characters in the description?)"] };
  if (request.action === "create") {
    if (parsed.data.description !== description) problems.push("the description does not read back as written");
    if (request.form === "skill" && parsed.data.name !== name)
      problems.push("the skill name does not read back as written");
  }
  if (problems.length) return { problems };
  return { problems: [], plan: { form: request.form, name, path, action: request.action, content } };
}

function render(form: AssetForm, name: string, description: string, body: string): string {
  const data: Record<string, unknown> =
    form === "skill" ? { name, description } : form === "agent" ? { description, mode: "subagent" } : { description };
  return matter.stringify(`${body}\n`, data);
}

function extended(current: string, body: string): string {
  return `${current.replace(/\s*$/, "\n")}\n## Added by /distill (${new Date().toISOString().slice(0, 10)})\n\n${body}\n`;
}

function safeParse(content: string): { data: Record<string, unknown> } | undefined {
  try {
    // An empty options object bypasses gray-matter's cache, so this really parses this content.
    return { data: matter(content, {}).data as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** Writes a validated plan: a new file exclusively, or a backup then the extension. Returns the backup's path. */
export function writeAsset(plan: PlannedAsset, now = new Date()): { backup?: string } {
  mkdirSync(dirname(plan.path), { recursive: true });
  if (plan.action === "create") {
    // Whole or not at all, and never over an existing file: written aside, then hard-linked in (link fails on EEXIST).
    const temp = join(dirname(plan.path), `.${basename(plan.path)}.distill-${process.pid}-${now.getTime()}`);
    writeStoredFile(temp, plan.content);
    try {
      linkSync(temp, plan.path);
    } finally {
      rmSync(temp, { force: true });
    }
    return {};
  }
  const backup = `${plan.path}.bak-${fileStamp(now)}`;
  copyFileSync(plan.path, backup);
  writeStoredFile(plan.path, plan.content);
  return { backup };
}
