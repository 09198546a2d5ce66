// The per-call JSON Schema of agent(prompt, {schema}): checked once when the call is made (a schema that does not
// compile is the script's mistake, reported before any model call), then used to validate what the agent returns.
// ajv: the most used JSON Schema validator for JavaScript, draft-07 by default, pure JS (runs in Node and Bun).
import { Ajv, type ValidateFunction } from "ajv";

const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true });
const compiled = new Map<string, ValidateFunction>();
const MAX_CACHED = 200;
export const MAX_SCHEMA_CHARS = 64_000;

export type SchemaCheck = { ok: true; validate: ValidateFunction } | { ok: false; problem: string };

export function compileSchema(schema: unknown): SchemaCheck {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    return { ok: false, problem: "schema must be a JSON Schema object" };
  const text = JSON.stringify(schema);
  if (text.length > MAX_SCHEMA_CHARS)
    return { ok: false, problem: `schema is longer than ${MAX_SCHEMA_CHARS} characters` };
  const cached = compiled.get(text);
  if (cached) return { ok: true, validate: cached };
  try {
    const validate = ajv.compile(schema as object);
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
    compiled.set(text, validate);
    return { ok: true, validate };
  } catch (error) {
    return { ok: false, problem: `schema is not a valid JSON Schema: ${(error as Error).message}` };
  }
}

/** Problems of a value against a compiled schema, one line each (empty when valid). */
export function schemaProblems(validate: ValidateFunction, value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? [])
    .slice(0, 20)
    .map(
      (e) =>
        `${e.instancePath || "(the result)"} ${e.message ?? "is invalid"}${e.params && "allowedValues" in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : ""}`,
    );
}
