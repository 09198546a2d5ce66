// Pure edits of an OpenCode config file's text (opencode.json or opencode.jsonc): add the pack's plugin entry, take
// it out. Edited in place with jsonc-parser, so comments, trailing commas and the user's formatting stay as they are;
// a file that does not parse is refused untouched (rewriting it would lose what we cannot read).
import {
  applyEdits,
  findNodeAtLocation,
  getNodeValue,
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
  return { text: appendEntry(text, plugins, spec, format), change: "added" };
}

/**
 * Appends on a new line after the last entry's line, so a comment trailing that entry stays with it (jsonc-parser's
 * own insertion puts the new entry between the entry and its comment). Falls back to jsonc-parser when the array
 * is on one line or the result would not parse to the expected list.
 */
function appendEntry(text: string, array: Node, spec: string, format: FormattingOptions): string {
  const fallback = () =>
    applyEdits(
      text,
      modify(text, ["plugin", (array.children ?? []).length], spec, {
        formattingOptions: format,
        isArrayInsertion: true,
      }),
    );
  const last = array.children?.at(-1);
  if (!last) return fallback();
  const end = last.offset + last.length;
  const lineEnd = text.indexOf("\n", end);
  if (lineEnd < 0 || lineEnd > array.offset + array.length) return fallback();
  const rest = text.slice(end, lineEnd).replace(/\r$/, "");
  const tail = /^[ \t]*(,?)[ \t]*(\/\/.*|\/\*.*?\*\/[ \t]*)?$/.exec(rest);
  if (!tail) return fallback();
  const comma = tail[1] === ",";
  const lineStart = text.lastIndexOf("\n", last.offset) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const at = end + rest.length;
  const line = `${format.eol}${indent}${JSON.stringify(spec)}${comma ? "," : ""}`;
  const withLine = text.slice(0, at) + line + text.slice(at);
  const result = comma ? withLine : `${withLine.slice(0, end)},${withLine.slice(end)}`;
  const check = findNodeAtLocation(parseTree(result) ?? array, ["plugin"]);
  const expected = [...(array.children ?? []).map((c) => JSON.stringify(getNodeValue(c))), JSON.stringify(spec)];
  const got = (check?.children ?? []).map((c) => JSON.stringify(getNodeValue(c)));
  return JSON.stringify(got) === JSON.stringify(expected) ? result : fallback();
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
