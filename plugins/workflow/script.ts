// A workflow script's shape, read with a JavaScript parser (acorn) and never executed: `export const meta = { … }`
// must be a literal (JSON plus what people write by hand: comments, single quotes, unquoted keys, trailing commas,
// template strings without substitutions, any escape), and a default export must be present.
import { createHash } from "node:crypto";
import { parse, parseExpressionAt, type Node } from "acorn";
import { z } from "zod";

export interface WorkflowMeta {
  name: string;
  description: string;
  phases?: string[];
  args?: Record<string, unknown>;
}

export interface ParsedScript {
  meta: WorkflowMeta;
  source: string;
  hash: string;
}

const metaSchema = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().max(2000),
    phases: z.array(z.string().max(200)).max(100).optional(),
    args: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export const MAX_SCRIPT_BYTES = 1024 * 1024;
const MAX_DEPTH = 20;

export function scriptHash(source: string): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 16);
}

/** Reads meta and checks the shape; throws an Error naming the problem (and where). */
export function parseScript(source: string, filename: string): ParsedScript {
  if (Buffer.byteLength(source) > MAX_SCRIPT_BYTES)
    throw new Error(`${filename} is larger than ${MAX_SCRIPT_BYTES} bytes`);
  let program: Node & { body: AnyNode[] };
  try {
    program = parse(source, { ecmaVersion: "latest", sourceType: "module", locations: true }) as unknown as Node & {
      body: AnyNode[];
    };
  } catch (error) {
    // acorn says "Unexpected token (3:10)" with a 0-based column; say it the way the sandbox reports a runtime error.
    const at = (error as { loc?: { line: number; column: number } }).loc;
    const message = (error as Error).message.replace(/ \(\d+:\d+\)$/, "");
    throw new Error(
      `${filename} is not valid JavaScript: SyntaxError: ${message}${at ? ` (at ${filename}:${at.line}:${at.column + 1})` : ""}`,
    );
  }
  const meta = metaDeclaration(program.body);
  if (!meta) throw new Error(`${filename} has no \`export const meta = { name, description }\``);
  if (!program.body.some((node) => node.type === "ExportDefaultDeclaration"))
    throw new Error(`${filename} has no default export (export default async function (args) { … })`);
  let value: unknown;
  try {
    value = literalValue(meta, 0);
  } catch (error) {
    throw new Error(`${filename}: meta must be a plain literal: ${(error as Error).message}`);
  }
  const parsed = metaSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "meta"}: ${i.message}`).join("; ");
    throw new Error(`${filename}: meta is not valid: ${problems}`);
  }
  return { meta: parsed.data as WorkflowMeta, source, hash: scriptHash(source) };
}

/** One literal value, read the way meta is (for tests and tools); throws an Error naming the problem. */
export function readLiteral(text: string): unknown {
  return literalValue(parseExpressionAt(text, 0, { ecmaVersion: "latest", locations: true }) as unknown as AnyNode, 0);
}

/** The ESTree nodes this reader looks at, loosely typed: the parser's output is data here, checked field by field. */
interface AnyNode {
  type: string;
  loc?: { start: { line: number; column: number } };
  [field: string]: unknown;
}

function metaDeclaration(body: AnyNode[]): AnyNode | undefined {
  for (const node of body) {
    if (node.type !== "ExportNamedDeclaration") continue;
    const declaration = node.declaration as AnyNode | null;
    if (declaration?.type !== "VariableDeclaration" || declaration.kind !== "const") continue;
    for (const declarator of declaration.declarations as AnyNode[]) {
      const id = declarator.id as AnyNode;
      if (id.type === "Identifier" && id.name === "meta" && declarator.init) return declarator.init as AnyNode;
    }
  }
  return undefined;
}

function literalValue(node: AnyNode, depth: number): unknown {
  if (depth > MAX_DEPTH) throw fail(node, "nested too deeply");
  switch (node.type) {
    case "Literal":
      if (node.regex) throw fail(node, "a regular expression is not a literal value");
      if (typeof node.value === "bigint" || node.bigint !== undefined)
        throw fail(node, "a BigInt is not a literal value");
      return node.value;
    case "TemplateLiteral":
      if ((node.expressions as AnyNode[]).length > 0) throw fail(node, "template substitutions are not literals");
      return ((node.quasis as AnyNode[])[0]!.value as { cooked: string }).cooked;
    case "UnaryExpression": {
      const argument = node.argument as AnyNode;
      if (
        (node.operator === "-" || node.operator === "+") &&
        argument.type === "Literal" &&
        typeof argument.value === "number"
      )
        return node.operator === "-" ? -argument.value : argument.value;
      throw fail(node, `"${String(node.operator)}" is not part of a literal`);
    }
    case "ArrayExpression":
      return (node.elements as (AnyNode | null)[]).map((element) => {
        if (!element) throw fail(node, "an array hole is not a literal value");
        if (element.type === "SpreadElement") throw fail(element, "spreads are not literals");
        return literalValue(element, depth + 1);
      });
    case "ObjectExpression": {
      const result: Record<string, unknown> = {};
      for (const property of node.properties as AnyNode[]) {
        const key = propertyKey(property);
        result[key] = literalValue(property.value as AnyNode, depth + 1);
      }
      return result;
    }
    case "Identifier":
      throw fail(node, `${String(node.name)} is a name, not a literal value`);
    default:
      throw fail(node, `${node.type} is not a literal value`);
  }
}

function propertyKey(property: AnyNode): string {
  if (property.type === "SpreadElement") throw fail(property, "spreads are not literals");
  if (property.computed) throw fail(property, "computed keys are not literals");
  if (property.kind !== "init" || property.method)
    throw fail(property, "getters, setters and methods are not literals");
  if (property.shorthand) throw fail(property, "a shorthand property names a variable, not a literal value");
  const key = property.key as AnyNode;
  const name = key.type === "Identifier" ? String(key.name) : String(key.value);
  // On a plain object "__proto__" would set the prototype instead of a key.
  if (name === "__proto__") throw fail(property, "__proto__ is not allowed");
  return name;
}

function fail(node: AnyNode, message: string): Error {
  const at = node.loc?.start;
  return new Error(at ? `${message} at line ${at.line}, column ${at.column + 1}` : message);
}
