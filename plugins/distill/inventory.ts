// The assets that exist already, so /distill proposes nothing twice: skills, commands and agents in OpenCode's
// global config dir and in the project's .opencode/ (plus the .claude/.agents skill folders OpenCode also reads).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import matter from "gray-matter";

export type AssetForm = "skill" | "command" | "agent";

export interface InventoryItem {
  form: AssetForm;
  name: string;
  description: string;
  path: string;
  scope: "global" | "project";
}

export function inventory(globalConfigDir: string, projectDir: string): InventoryItem[] {
  const items: InventoryItem[] = [];
  const scan = (root: string, scope: InventoryItem["scope"]) => {
    for (const folder of ["skills", "skill"]) {
      for (const name of dirs(join(root, folder))) {
        const file = join(root, folder, name, "SKILL.md");
        if (existsSync(file))
          items.push({
            form: "skill",
            name: frontName(file) ?? name,
            description: description(file),
            path: file,
            scope,
          });
      }
    }
    for (const [form, folders] of [
      ["command", ["commands", "command"]],
      ["agent", ["agents", "agent"]],
    ] as const) {
      for (const folder of folders) {
        for (const file of markdown(join(root, folder)))
          items.push({
            form,
            name: file.replace(/\.md$/, ""),
            description: description(join(root, folder, file)),
            path: join(root, folder, file),
            scope,
          });
      }
    }
  };
  scan(globalConfigDir, "global");
  scan(join(projectDir, ".opencode"), "project");
  for (const extra of [join(projectDir, ".claude"), join(projectDir, ".agents")]) {
    for (const name of dirs(join(extra, "skills"))) {
      const file = join(extra, "skills", name, "SKILL.md");
      if (existsSync(file))
        items.push({
          form: "skill",
          name: frontName(file) ?? name,
          description: description(file),
          path: file,
          scope: "project",
        });
    }
  }
  return items.sort(
    (a, b) => a.form.localeCompare(b.form) || a.name.localeCompare(b.name) || a.path.localeCompare(b.path),
  );
}

function dirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function markdown(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".md"))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function front(file: string): Record<string, unknown> {
  try {
    return matter(readFileSync(file, "utf8")).data as Record<string, unknown>;
  } catch {
    return {};
  }
}

function frontName(file: string): string | undefined {
  const name = front(file).name;
  return typeof name === "string" && name.trim() ? name.trim() : undefined;
}

function description(file: string): string {
  const d = front(file).description;
  return typeof d === "string" ? d.slice(0, 200) : "";
}
