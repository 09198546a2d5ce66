// The one write path for text a model or a person produced: every store of the pack writes through here (files) or
// through the database opened by database.ts (whose statements pass every string through `storedText`), so a
// secret is redacted before it reaches the disk whatever store it passes through. The memory files are the one
// exception: memory-service redacts each entry it writes and keeps the user's own lines as they are.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { redact, secretKindOfKey } from "../redaction.ts";
import { writeFileAtomic } from "./atomic-file.ts";

/**
 * The text as it may be stored. JSON stays valid JSON: when redaction changes a JSON document (or a JSON-lines
 * log), each string inside it is redacted on its own, so a `<private>` span or a key block can never swallow a
 * quote or a bracket. Text without a secret comes back unchanged (the same string).
 */
export function storedText(text: string): string {
  if (text.length < 6) return text;
  // Paths, ids and labels are bound again and again (a reconcile looks up every file): each is checked once.
  if (text.length > MEMO_CHARS) return storedTextNow(text);
  const known = storedMemo.get(text);
  if (known !== undefined) return known;
  const out = storedTextNow(text);
  if (storedMemo.size >= MEMO_ENTRIES) storedMemo.clear();
  storedMemo.set(text, out);
  return out;
}

const storedMemo = new Map<string, string>();

function storedTextNow(text: string): string {
  if (DIFF.test(text)) return redactDiff(text);
  const redacted = redact(text);
  if (redacted === text) return text;
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[") || trimmed.startsWith('"')) {
    const json = redactJsonText(text);
    if (json !== undefined) return json;
  }
  const lines = redactJsonLines(text);
  return lines ?? redacted;
}

const DIFF = /^(diff --git |--- \S|@@ -\d)/m;

/**
 * A unified diff by runs of lines with the same +/-/space marker, redacted without the markers: `+API_TOKEN=…` is an
 * assignment once the marker is off, and a key block spans lines. A redacted diff no longer applies; it is a record.
 */
function redactDiff(text: string): string {
  const out: string[] = [];
  let run: string[] = [];
  let runMarker = "";
  const flush = () => {
    if (run.length)
      out.push(
        ...redact(run.join("\n"))
          .split("\n")
          .map((line) => runMarker + line),
      );
    run = [];
  };
  for (const line of text.split("\n")) {
    const marker = line[0] ?? "";
    const body =
      (marker === "+" || marker === "-" || marker === " ") && !line.startsWith("+++ ") && !line.startsWith("--- ");
    if (!body || marker !== runMarker) flush();
    if (body) {
      runMarker = marker;
      run.push(line.slice(1));
    } else {
      runMarker = "";
      out.push(redact(line));
    }
  }
  flush();
  return out.join("\n");
}

/** Every string of a JSON-shaped value redacted (keys included: a model may put anything in a key). */
export function storedValue<T>(value: T): T {
  return deep(value) as T;
}

/** Writes atomically (temp file, fsync, rename) after redaction. */
export function writeStoredFile(path: string, text: string): void {
  writeFileAtomic(path, storedText(text));
}

/** Appends to a log after redaction (one JSON line, or plain text). */
export function appendStoredText(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, storedText(text));
}

// A session's state file is rewritten whole on every change, mostly with the strings of the last write: each
// string is redacted once, not once per write (bounded, short strings only).
const memo = new Map<string, string>();
const MEMO_ENTRIES = 5000;
const MEMO_CHARS = 4000;

function redactString(text: string): string {
  if (text.length < 6) return text;
  const known = memo.get(text);
  if (known !== undefined) return known;
  const out = redact(text);
  if (text.length <= MEMO_CHARS) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(text, out);
  }
  return out;
}

function deep(value: unknown): unknown {
  if (typeof value === "string") return redactString(value);
  if (Array.isArray(value)) return value.map(deep);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      // A secret-named key makes its value a secret the value alone does not show (`"password": "hunter2"`).
      out[deep(key) as string] =
        typeof inner === "string" && secretKindOfKey(key) ? pairValue(key, redactString(inner)) : deep(inner);
    }
    return out;
  }
  return value;
}

/** `{"password": "hunter2"}`: the value is a secret because of its key, which the value alone does not show. */
function pairValue(key: string, value: string): string {
  const pair = JSON.stringify({ k: value }).replace('"k"', JSON.stringify(key));
  const redacted = redact(pair);
  if (redacted === pair) return value;
  try {
    const inner = Object.values(JSON.parse(redacted) as Record<string, unknown>)[0];
    return typeof inner === "string" ? inner : value;
  } catch {
    return value;
  }
}

function redactJsonText(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const indent = /^[[{]\r?\n( +|\t)/.exec(text.trimStart())?.[1] ?? "";
  const trailing = /\s*$/.exec(text)?.[0] ?? "";
  return JSON.stringify(deep(parsed), null, indent || undefined) + trailing;
}

/** A JSON-lines log: every non-empty line a JSON value. undefined when it is not one. */
function redactJsonLines(text: string): string | undefined {
  const lines = text.split("\n");
  if (!lines.some((line) => line.trim())) return undefined;
  const out: string[] = [];
  for (const line of lines) {
    if (!line.trim()) {
      out.push(line);
      continue;
    }
    const start = line.trimStart()[0];
    if (start !== "{" && start !== "[") return undefined;
    const redacted = redactJsonText(line);
    if (redacted === undefined) return undefined;
    out.push(redacted);
  }
  return out.join("\n");
}
