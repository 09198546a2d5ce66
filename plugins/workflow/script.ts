// A workflow script's shape, read as text: `export const meta = { … }` is parsed as a literal (never executed)
// and a default export must be present. The literal grammar is JSON plus what people write by hand: comments,
// single quotes, unquoted keys, trailing commas, template strings without substitutions.
import { createHash } from "node:crypto";
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

export function scriptHash(source: string): string {
  return createHash("sha256").update(source).digest("hex").slice(0, 16);
}

/** Reads meta and checks the shape; throws an Error naming the problem (and where). */
export function parseScript(source: string, filename: string): ParsedScript {
  if (Buffer.byteLength(source) > MAX_SCRIPT_BYTES) throw new Error(`${filename} is larger than ${MAX_SCRIPT_BYTES} bytes`);
  const code = blankCommentsAndStrings(source);
  const metaAt = /(^|[;\s])export\s+const\s+meta\s*=\s*/m.exec(code);
  if (!metaAt) throw new Error(`${filename} has no \`export const meta = { name, description }\``);
  if (!/(^|[;\s}])export\s+default\s/m.test(code)) throw new Error(`${filename} has no default export (export default async function (args) { … })`);
  const start = metaAt.index + metaAt[0].length;
  let value: unknown;
  try {
    value = new LiteralReader(source, start).readValue();
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

/** One literal value (the grammar meta is read with), from the start of text. */
export function readLiteral(text: string): unknown {
  return new LiteralReader(text, 0).readValue();
}

/** Same length as the source, with comments and string contents blanked, so keyword searches skip them. */
function blankCommentsAndStrings(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      const end = source.indexOf("\n", i);
      const stop = end < 0 ? source.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      out += c + source.slice(i + 1, j).replace(/[^\n]/g, " ") + (j < source.length ? c : "");
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

class LiteralReader {
  constructor(
    private readonly text: string,
    private at: number,
  ) {}

  readValue(depth = 0): unknown {
    if (depth > 20) throw this.fail("nested too deeply");
    this.skip();
    const c = this.text[this.at];
    if (c === "{") return this.readObject(depth);
    if (c === "[") return this.readArray(depth);
    if (c === '"' || c === "'" || c === "`") return this.readString();
    const word = /^(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.at, this.at + 64));
    if (!word) throw this.fail(`unexpected ${c === undefined ? "end of file" : JSON.stringify(c)}`);
    this.at += word[0].length;
    return word[0] === "true" ? true : word[0] === "false" ? false : word[0] === "null" ? null : Number(word[0]);
  }

  private readObject(depth: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.at++;
    for (;;) {
      this.skip();
      if (this.text[this.at] === "}") {
        this.at++;
        return result;
      }
      const key = this.readKey();
      this.skip();
      if (this.text[this.at] !== ":") throw this.fail(`expected ":" after ${JSON.stringify(key)}`);
      this.at++;
      if (key === "__proto__") throw this.fail("__proto__ is not allowed");
      result[key] = this.readValue(depth + 1);
      this.skip();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "}") throw this.fail(`expected "," or "}"`);
    }
  }

  private readArray(depth: number): unknown[] {
    const result: unknown[] = [];
    this.at++;
    for (;;) {
      this.skip();
      if (this.text[this.at] === "]") {
        this.at++;
        return result;
      }
      result.push(this.readValue(depth + 1));
      this.skip();
      if (this.text[this.at] === ",") this.at++;
      else if (this.text[this.at] !== "]") throw this.fail(`expected "," or "]"`);
    }
  }

  private readKey(): string {
    const c = this.text[this.at];
    if (c === '"' || c === "'") return this.readString();
    const word = /^[A-Za-z_$][\w$]*/.exec(this.text.slice(this.at, this.at + 200));
    if (!word) throw this.fail("expected a property name (computed keys and spreads are not literals)");
    this.at += word[0].length;
    return word[0];
  }

  private readString(): string {
    const quote = this.text[this.at]!;
    let out = "";
    this.at++;
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) throw this.fail("unterminated string");
      if (c === quote) {
        this.at++;
        return out;
      }
      if (quote === "`" && c === "$" && this.text[this.at + 1] === "{") throw this.fail("template substitutions are not literals");
      if (c === "\n" && quote !== "`") throw this.fail("line break in a string");
      if (c === "\\") {
        const e = this.text[this.at + 1];
        const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "0": "\0" };
        if (e === "u") {
          const hex = /^[0-9a-fA-F]{4}/.exec(this.text.slice(this.at + 2, this.at + 6));
          if (!hex) throw this.fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex[0], 16));
          this.at += 6;
          continue;
        }
        out += e !== undefined && simple[e] !== undefined ? simple[e] : (e ?? "");
        this.at += 2;
        continue;
      }
      out += c;
      this.at++;
    }
  }

  private skip(): void {
    for (;;) {
      const rest = this.text.slice(this.at, this.at + 2);
      if (/^\s/.test(rest)) this.at++;
      else if (rest === "//") {
        const end = this.text.indexOf("\n", this.at);
        this.at = end < 0 ? this.text.length : end + 1;
      } else if (rest === "/*") {
        const end = this.text.indexOf("*/", this.at + 2);
        if (end < 0) throw this.fail("unterminated comment");
        this.at = end + 2;
      } else return;
    }
  }

  private fail(message: string): Error {
    const before = this.text.slice(0, this.at);
    const line = before.split("\n").length;
    const column = this.at - before.lastIndexOf("\n");
    return new Error(`${message} at line ${line}, column ${column}`);
  }
}
