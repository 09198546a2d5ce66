// Writes the JSON Schema of continuum.jsonc (generated from the zod schema) for editor completion.
import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configSchema } from "../core/config-schema.ts";
import { PACK_ROOT } from "../core/assets.ts";
import type { Subcommand } from "./main.ts";

export const SCHEMA_FILE = join(PACK_ROOT, "plugins", "core", "continuum.schema.json");

export function renderConfigJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return JSON.stringify({ ...schema, title: "opencode-continuum configuration (continuum.jsonc)" }, null, 2) + "\n";
}

export const schemaCommand: Subcommand = {
  summary: "print the JSON Schema of continuum.jsonc, or --write it to plugins/core/continuum.schema.json (--check: fail if stale)",
  usage: "continuum schema [--write|--check]",
  async run(args) {
    const rendered = renderConfigJsonSchema();
    if (args.includes("--check")) {
      const current = existsSync(SCHEMA_FILE) ? readFileSync(SCHEMA_FILE, "utf8") : "";
      if (current === rendered) return 0;
      console.error(`${SCHEMA_FILE} is out of date; run: npm run schema`);
      return 1;
    }
    if (args.includes("--write")) {
      writeFileSync(SCHEMA_FILE, rendered);
      console.log(`wrote ${SCHEMA_FILE}`);
      return 0;
    }
    process.stdout.write(rendered);
    return 0;
  },
};
