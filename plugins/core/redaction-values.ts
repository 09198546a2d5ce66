// What a value under a key is: the key's secret kind, references, code, ids, entropy. The redaction rules ask these
// questions; kept apart from the rule table so each can be read (and tuned) on its own.
// Pure and host-independent.

export const PRIVATE_PLACEHOLDER = "[PRIVATE]";

export function placeholder(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/** Splits `PGPASSWORD`, `db.password`, `clientSecret`, `x-api-key` into lower-case words. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const KEY_QUALIFIERS = new Set([
  "api",
  "access",
  "secret",
  "private",
  "signing",
  "encryption",
  "master",
  "auth",
  "account",
  "client",
  "license",
  "subscription",
  "service",
]);

/**
 * The kind of secret a key name announces, or null. Only the last word decides, so `password_file`,
 * `secretName`, `token_type` and `max_tokens` are not secrets while `PGPASSWORD` and `client_secret` are.
 */
export function secretKindOfKey(key: string): string | null {
  const known = kindCache.get(key);
  if (known !== undefined) return known;
  const kind = classifyKey(key);
  if (kindCache.size > 2000) kindCache.clear();
  kindCache.set(key, kind);
  return kind;
}

// Tool output repeats the same few key names thousands of times; classifying each once keeps big inputs fast.
const kindCache = new Map<string, string | null>();

function classifyKey(key: string): string | null {
  const words = keyWords(key);
  const last = words.at(-1);
  const previous = words.at(-2);
  if (!last) return null;
  if (/(password|passwd|passphrase)$/.test(last) || last === "pwd") return "password";
  // `DB_PASS`, `smtp.pass`, `pass`, but not `allPass` / `anyPass` (camelCase helpers in code).
  if (last === "pass" && !/[a-z0-9]Pass$/.test(key)) return "password";
  if (last === "key" && words.includes("secret") && (words.includes("aws") || previous === "access"))
    return "aws-secret";
  if (last === "secretaccesskey") return "aws-secret";
  if (last.endsWith("secret")) return "secret";
  if (last.endsWith("token")) return "token";
  if (last === "key" && previous && KEY_QUALIFIERS.has(previous))
    return previous === "secret" ? "secret" : previous === "private" ? "private-key" : "api-key";
  if (/^(apikey|accesskey|secretkey|authkey|privatekey)$/.test(last))
    return last === "secretkey" ? "secret" : last === "privatekey" ? "private-key" : "api-key";
  return null;
}

const NON_VALUES = new Set([
  "true",
  "false",
  "null",
  "none",
  "nil",
  "undefined",
  "yes",
  "no",
  "on",
  "off",
  "~",
  "required",
  "optional",
  "redacted",
  "masked",
  "hidden",
  "omitted",
]);
const TYPE_WORDS = new Set([
  "str",
  "string",
  "bytes",
  "int",
  "bool",
  "boolean",
  "any",
  "object",
  "secretstr",
  "secretbytes",
  "text",
  "varchar",
  "char",
  "number",
]);

export function isPlaceholderText(value: string): boolean {
  return value.includes("[REDACTED:") || value.includes(PRIVATE_PLACEHOLDER);
}

/**
 * A value that names where a secret comes from instead of containing it: env references, templates, masks, YAML
 * tags/anchors/aliases. Judged by the whole value's shape: a generated key may well start with `!`, `@`, `%` or `*`.
 */
export function isReference(value: string): boolean {
  if (/^\$(?:[A-Za-z_{(]|\d)/.test(value)) return true; // $VAR, ${VAR}, $(cmd), $1
  if (/^%\([A-Za-z_]\w*\)[sdr]$|^%[A-Za-z_]\w*%$/.test(value)) return true; // %(name)s, %WINDOWS_VAR%
  if (/^@[A-Za-z_][\w.:-]*(?:\(.*\))?$/.test(value)) return true; // @Value(...), @var, @env:NAME
  if (/^!{1,2}[A-Za-z][\w/.:-]*(?:\s|$)/.test(value)) return true; // YAML tags: !vault |, !Ref Name, !!binary
  if (/^[&*][A-Za-z0-9_-]+$/.test(value)) return true; // YAML anchor / alias
  if (/^[|>][-+0-9]*$/.test(value)) return true; // YAML block scalar indicator
  if (/^\{\{|^<[^>]*>$|^\{[A-Za-z_][\w.]*\}$/.test(value)) return true; // {{ template }}, <your-token>, {name}
  if (/\$\{|\$\(|process\.env|os\.environ|getenv|ENV\[|secrets\.|vault:|keyring/i.test(value)) return true;
  if (/^(.)\1*$/.test(value)) return true; // xxxx, ****, ....
  if (/^[.…]+$|^\.\.\.|…/.test(value)) return true;
  return false;
}

/**
 * A generated key full of punctuation and brackets (Django's SECRET_KEY and the like): long, no spaces, letters
 * and symbols mixed, high entropy, and not a call or a template. Under a secret-named key such a value is a secret
 * even though brackets would otherwise mark it as code.
 */
export function isPunctuationSecret(value: string): boolean {
  if (value.length < 16 || /\s/.test(value) || !/[A-Za-z]/.test(value) || !/[^A-Za-z0-9]/.test(value)) return false;
  if (/^[A-Za-z_$][\w$.]*\(.*\)[;,)]*$/.test(value)) return false; // getSecret(name), env("X")
  if (/=>|\bfunction\b|\breturn\b|&&|\|\||\)\}|\.test\(|\.length/.test(value)) return false; // minified code
  return shannonEntropy(value) >= 4.0;
}

function isPath(value: string): boolean {
  return /^(\/|~\/|\.\.?\/|[A-Za-z]:\\|file:)/.test(value);
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  if (!value) return 0;
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Tokens and keys are random: they carry digits. Words like `keyword.operator` under a `token` key are not secrets. */
function looksLikeToken(value: string): boolean {
  if (/\s/.test(value) || value.length < 8 || /^\d+$/.test(value)) return false;
  if (/\d/.test(value)) return true;
  return value.length >= 20 && /^[A-Za-z0-9_\-+/=]+$/.test(value) && shannonEntropy(value) >= 3.8;
}

export const HIGH_ENTROPY_MIN_LENGTH = 24;
export const HIGH_ENTROPY_MIN_BITS = 4.0;
const ID_LIKE_KEY_WORDS = new Set([
  "id",
  "ids",
  "sha",
  "hash",
  "digest",
  "checksum",
  "integrity",
  "commit",
  "ref",
  "rev",
  "revision",
  "version",
  "url",
  "uri",
  "path",
  "dir",
  "file",
  "name",
  "image",
  "tag",
  "host",
  "branch",
  "session",
  "uuid",
]);

/** A long random-looking value (upper, lower and digits, ≥ 4 bits per character) that is not a known id form. */
export function isHighEntropySecret(key: string, value: string): boolean {
  if (value.length < HIGH_ENTROPY_MIN_LENGTH || !/^[A-Za-z0-9+/=_\-.~]+$/.test(value)) return false;
  if (!/[a-z]/.test(value) || !/[A-Z]/.test(value)) return false; // hex SHAs, UUIDs
  if ((value.match(/\d/g)?.length ?? 0) < 2) return false; // identifiers such as resolveOpenAPI31Strategy
  if (/^sha\d+-/i.test(value) || /^[a-z]{2,8}_/.test(value) || isPath(value)) return false; // integrity, ses_…, paths
  const last = keyWords(key).at(-1);
  if (last && ID_LIKE_KEY_WORDS.has(last)) return false;
  return shannonEntropy(value) >= HIGH_ENTROPY_MIN_BITS;
}

/** Code such as `user.password`, `getPassword()`, `hashedPassword`, `str`, `pw,`, `Redacted<T>` — names, not literals. */
export function looksLikeCode(value: string, key: string): boolean {
  if (/[()[\]{}<>]/.test(value) || /[,;]$/.test(value)) return true;
  if (/^[A-Z][a-z]+$/.test(value)) return true; // a type name such as `Redacted` or `String`
  if (/^[A-Za-z_$][\w$]*(\.[\w$]+)+$/.test(value)) return true; // dotted path
  if (/^[A-Za-z_$][\w$]*$/.test(value)) {
    if (/\d/.test(value) && value.length >= 8) return false; // random tokens carry digits; names rarely do
    if (/_/.test(value) || /[a-z][A-Z]/.test(value)) return true; // snake_case / camelCase identifiers
    if (TYPE_WORDS.has(value.toLowerCase())) return true;
    if (keyWords(key).includes(value.toLowerCase()) || secretKindOfKey(value)) return true;
  }
  return false;
}

export function isBaseSkippable(value: string): boolean {
  return (
    !value || isPlaceholderText(value) || NON_VALUES.has(value.toLowerCase()) || isReference(value) || isPath(value)
  );
}

/** Whether a literal value under a secret-named key should be redacted. */
export function shouldRedactValue(kind: string, value: string): boolean {
  if (isBaseSkippable(value)) return false;
  if (kind === "password" || kind === "secret") return true;
  if (kind === "private-key" && value.length < 32) return false; // raw key material is long; shorter is a name
  return looksLikeToken(value);
}
