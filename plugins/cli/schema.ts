// Writes the JSON Schema of continuum.jsonc (generated from the zod schema) for editor completion.
import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { configSchema } from "../core/config-schema.ts";
import { PACK_ROOT } from "../core/assets.ts";
import { Option, type Command } from "commander";
import { act } from "./kit.ts";

export const SCHEMA_FILE = join(PACK_ROOT, "plugins", "core", "continuum.schema.json");

export function renderConfigJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return JSON.stringify({ ...schema, title: "opencode-continuum configuration (continuum.jsonc)" }, null, 2) + "\n";
}

export function register(program: Command): void {
  program
    .command("schema")
    .description(
      "print the JSON Schema of continuum.jsonc; --write it to plugins/core/continuum.schema.json, or --check it is current (exit 1 if stale)",
    )
    .addOption(new Option("--write", "write the schema file").conflicts("check"))
    .option("--check", "exit 1 when the schema file is out of date")
    .action(
      act((o: { write?: boolean; check?: boolean }) => {
        const rendered = renderConfigJsonSchema();
        if (o.check) {
          const current = existsSync(SCHEMA_FILE) ? readFileSync(SCHEMA_FILE, "utf8") : "";
          if (current === rendered) return 0;
          console.error(`${SCHEMA_FILE} is out of date; run: npm run schema`);
          return 1;
        }
        if (o.write) {
          writeFileSync(SCHEMA_FILE, rendered);
          console.log(`wrote ${SCHEMA_FILE}`);
          return 0;
        }
        console.log(rendered.trimEnd());
        return 0;
      }),
    );
}
