// Pure edits of an OpenCode config file's text (opencode.json or opencode.jsonc): add the pack's plugin entry, take
// it out. Edited in place with jsonc-parser, so comments, trailing commas and the user's formatting stay as they are;
// a file that does not parse is refused untouched (rewriting it would lose what we cannot read).
import {
  applyEdits,
  findNodeAtLocation,
  modify,
  parseTree,
  type FormattingOptions,
  type ParseError,
} from "jsonc-parser";
import { printParseErrorCode } from "jsonc-parser";

export class ConfigEditError extends Error {}

export type AddResult = { text: string; change: "added" | "replaced" | "kept" };

/** The package name of a plugin spec: "name@1.2.3" → "name", "@scope/name@^1" → "@scope/name". */
export function specName(spec: string): string {
  const at = spec.indexOf("@", 1);
  return at > 0 ? spec.slice(0, at) : spec;
}

/** A new config file holding only the plugin entry. */
export function newConfigText(spec: string): string {
  return `${JSON.stringify({ $schema: "https://opencode.ai/config.json", plugin: [spec] }, null, 2)}\n`;
}

/** Adds `spec` to the `plugin` array; an entry of the same package (any version, bare or tuple) is replaced in place. */
export function addPluginEntry(text: string, spec: string, file = "the config file"): AddResult {
  const root = parseChecked(text, file);
  const format = detectFormat(text);
  const plugins = findNodeAtLocation(root, ["plugin"]);
  if (!plugins) return { text: edit(text, ["plugin"], [spec], format), change: "added" };
  if (plugins.type !== "array") throw new ConfigEditError(`${file}: "plugin" is not an array; fix it and run again`);
  const name = specName(spec);
  const children = plugins.children ?? [];
  for (let i = 0; i < children.length; i++) {
    const found = entrySpec(children[i]!);
    if (!found || specName(found.value) !== name) continue;
    if (found.value === spec) return { text, change: "kept" };
    return { text: edit(text, ["plugin", i, ...found.path], spec, format), change: "replaced" };
  }
  const inserted = modify(text, ["plugin", children.length], spec, {
    formattingOptions: format,
    isArrayInsertion: true,
  });
  return { text: applyEdits(text, inserted), change: "added" };
}

/** Takes every entry of the package out of the `plugin` array; the text is unchanged when there is none. */
export function removePluginEntry(
  text: string,
  name: string,
  file = "the config file",
): { text: string; removed: number } {
  let current = text;
  let removed = 0;
  for (;;) {
    const plugins = findNodeAtLocation(parseChecked(current, file), ["plugin"]);
    if (!plugins || plugins.type !== "array") return { text: current, removed };
    const index = (plugins.children ?? []).findIndex((child) => {
      const found = entrySpec(child);
      return found !== undefined && specName(found.value) === name;
    });
    if (index < 0) return { text: current, removed };
    current = edit(current, ["plugin", index], undefined, detectFormat(current));
    removed++;
  }
}

type Node = NonNullable<ReturnType<typeof parseTree>>;

/** The spec string of one plugin entry: "spec", or the first element of a ["spec", {options}] tuple. */
function entrySpec(node: Node): { value: string; path: number[] } | undefined {
  if (node.type === "string") return { value: node.value as string, path: [] };
  const first = node.type === "array" ? node.children?.[0] : undefined;
  if (first?.type === "string") return { value: first.value as string, path: [0] };
  return undefined;
}

function parseChecked(text: string, file: string): Node {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || !root) {
    const first = errors[0];
    const where = first ? ` (${printParseErrorCode(first.error)} at line ${lineOf(text, first.offset)})` : "";
    throw new ConfigEditError(`${file} is not valid JSONC${where}; it was left untouched: fix it and run again`);
  }
  if (root.type !== "object")
    throw new ConfigEditError(`${file}: the top level is not an object; it was left untouched`);
  return root;
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

function edit(text: string, path: (string | number)[], value: unknown, format: FormattingOptions): string {
  return applyEdits(text, modify(text, path, value, { formattingOptions: format }));
}

/** The file's own indentation and line ending, so inserted lines look like the user's. */
function detectFormat(text: string): FormattingOptions {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const indent = /\n([ \t]+)\S/.exec(text)?.[1];
  if (indent?.startsWith("\t")) return { insertSpaces: false, tabSize: 1, eol };
  return { insertSpaces: true, tabSize: indent?.length ?? 2, eol };
}
