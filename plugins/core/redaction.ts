// The one secret redactor of the pack. Every durable write (memory files, notes, checkpoints, the history index)
// passes its text through `redactSecrets` first, so a secret printed by a tool never reaches the disk.
// Pure and host-independent. Every pattern is bounded (no nested quantifiers over overlapping classes), so a
// multi-megabyte tool output is scanned in linear time. Placeholders never match any rule: redaction is idempotent.

export interface RedactionFinding {
  kind: string;
  count: number;
}

export interface RedactionResult {
  text: string;
  findings: RedactionFinding[];
}

export const PRIVATE_PLACEHOLDER = "[PRIVATE]";

export function placeholder(kind: string): string {
  return `[REDACTED:${kind}]`;
}

type Count = (kind: string) => void;

interface Rule {
  name: string;
  pattern: RegExp;
  /** Returns the replacement for one match, or the match itself to keep it; calls `count` when it redacts. */
  replace: (count: Count, match: string, groups: string[]) => string;
}

// ---------------------------------------------------------------------------------------------------------------
// Value classification

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

function isPlaceholderText(value: string): boolean {
  return value.includes("[REDACTED:") || value.includes(PRIVATE_PLACEHOLDER);
}

/**
 * A value that names where a secret comes from instead of containing it: env references, templates, masks, YAML
 * tags/anchors/aliases. Judged by the whole value's shape: a generated key may well start with `!`, `@`, `%` or `*`.
 */
function isReference(value: string): boolean {
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
function looksLikeCode(value: string, key: string): boolean {
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

function isBaseSkippable(value: string): boolean {
  return (
    !value || isPlaceholderText(value) || NON_VALUES.has(value.toLowerCase()) || isReference(value) || isPath(value)
  );
}

/** Whether a literal value under a secret-named key should be redacted. */
function shouldRedactValue(kind: string, value: string): boolean {
  if (isBaseSkippable(value)) return false;
  if (kind === "password" || kind === "secret") return true;
  if (kind === "private-key" && value.length < 32) return false; // raw key material is long; shorter is a name
  return looksLikeToken(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Rules, applied in order: specific shapes first so their kind wins, generic assignments last.

function simple(name: string, kind: string, pattern: RegExp): Rule {
  return {
    name,
    pattern,
    replace: (count) => {
      count(kind);
      return placeholder(kind);
    },
  };
}

/** Keeps group 1 (a prefix such as `Bearer `) and redacts group 2, unless group 2 is a reference. */
function prefixed(name: string, kind: string, pattern: RegExp, accept: (value: string) => boolean = () => true): Rule {
  return {
    name,
    pattern,
    replace: (count, match, [prefix, value]) => {
      if (!value || isBaseSkippable(value) || !accept(value)) return match;
      count(kind);
      return prefix + placeholder(kind);
    },
  };
}

const NOT_TOKEN_BEFORE = "(?<![A-Za-z0-9_\\-])";
const NOT_TOKEN_AFTER = "(?![A-Za-z0-9_\\-])";
const token = (body: string) => new RegExp(NOT_TOKEN_BEFORE + body + NOT_TOKEN_AFTER, "g");

const PRIVATE_KEY_LABEL = "-----(?:BEGIN|END)[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----";

function replaceQuotedAssignment(
  count: Count,
  match: string,
  [keyQuote, key, separator, quote, value]: string[],
): string {
  if (!key) return match;
  const kind = secretKindOfKey(key);
  if (!kind || value === undefined || !shouldRedactValue(kind, value)) return match;
  const envStyle = separator === "=";
  // Labels and messages (`"password": "Enter your password"`, i18n "Password") are not secrets.
  if (!envStyle && (/\s/.test(value) || /^[A-Z][a-z]+$/.test(value))) return match;
  if (keyWords(key).includes(value.toLowerCase())) return match;
  // `"Password:"),$?el(` in minified code closes one string and opens the next; real secrets seldom hold brackets.
  if (/[(){}[\]]/.test(value) && !/\d/.test(value) && !isPunctuationSecret(value)) return match;
  count(kind);
  return `${keyQuote ?? ""}${key}${keyQuote ?? ""}${separator ?? ""}${quote ?? ""}${placeholder(kind)}${quote ?? ""}`;
}

// A literal `\n`, `\r` or `\t` (text that was JSON-encoded) separates lines and words like the real characters.
const RULES: Rule[] = [
  // A closed block, or a truncated one (BEGIN then base64 chunks) when the output was cut.
  simple(
    "private-key-block",
    "private-key",
    new RegExp(
      PRIVATE_KEY_LABEL.replace("(?:BEGIN|END)", "BEGIN") +
        "(?:[A-Za-z0-9+/=\\s\\\\:,._\\-]{0,20000}?" +
        PRIVATE_KEY_LABEL.replace("(?:BEGIN|END)", "END") +
        "|(?:(?:\\s|\\\\[nr])+[A-Za-z0-9+/=]{16,})*)",
      "g",
    ),
  ),
  prefixed(
    "slack-webhook",
    "slack-webhook",
    /(https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/)([A-Za-z0-9_\-/]{10,400})/g,
  ),
  {
    name: "url-password",
    pattern:
      /\b([a-zA-Z][a-zA-Z0-9+.\-]{1,20}:\/\/)([^\s:@/?#"'<>[\]]{0,200}):([^\s@/?#"'<>]{1,500})@(?=[A-Za-z0-9[\]_.\-%]{1,300})/g,
    replace: (count, match, [scheme, user, password]) => {
      if (!password || isPlaceholderText(password) || isReference(password)) return match;
      count("url-password");
      return `${scheme}${user}:${placeholder("url-password")}@`;
    },
  },
  simple("jwt", "jwt", token("eyJ[A-Za-z0-9_\\-]{10,4000}\\.ey[A-Za-z0-9_\\-]{10,8000}\\.[A-Za-z0-9_\\-]{0,4000}")),
  simple("anthropic", "anthropic-key", token("sk-ant-[A-Za-z0-9_\\-]{20,400}")),
  simple("openai-project", "openai-key", token("sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\\-]{20,400}")),
  simple("openai-legacy", "openai-key", token("sk-[A-Za-z0-9]{32,200}")),
  simple("github", "github-token", token("(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{30,255})")),
  simple("gitlab", "gitlab-token", token("gl(?:pat|dt|rt|ptt|cbt|soat)-[A-Za-z0-9_\\-]{20,200}")),
  simple("slack-token", "slack-token", token("(?:xox[abposr]-[A-Za-z0-9\\-]{10,300}|xapp-\\d-[A-Za-z0-9\\-]{10,300})")),
  simple("stripe", "stripe-key", token("(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,255}|whsec_[A-Za-z0-9]{20,255})")),
  simple("google-api-key", "google-api-key", token("AIza[0-9A-Za-z_\\-]{35}")),
  simple(
    "google-oauth",
    "google-oauth-secret",
    token("(?:GOCSPX-[A-Za-z0-9_\\-]{20,100}|ya29\\.[0-9A-Za-z_\\-]{20,2000})"),
  ),
  simple("npm", "npm-token", token("npm_[A-Za-z0-9]{36}")),
  simple(
    "aws-access-key-id",
    "aws-key",
    token("(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}"),
  ),
  simple("sendgrid", "sendgrid-key", token("SG\\.[A-Za-z0-9_\\-]{22}\\.[A-Za-z0-9_\\-]{43}")),
  simple("huggingface", "huggingface-token", token("hf_[A-Za-z0-9]{34,40}")),
  simple("pypi", "pypi-token", token("pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\\-]{20,400}")),
  // Shapes from secretlint's recommended preset the rules above did not cover (patterns written from the providers'
  // documented token formats; see README "Redaction").
  simple("shopify", "shopify-token", token("shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,64}")),
  simple("linear", "linear-key", token("lin_api_[A-Za-z0-9]{40}")),
  simple("1password", "1password-token", token("ops_ey[A-Za-z0-9+/=_\\-]{100,1400}")),
  simple("docker", "docker-token", token("dckr_pat_[A-Za-z0-9_\\-]{27}")),
  simple("databricks", "databricks-token", token("dapi[0-9a-fA-F]{32}(?:-\\d)?")),
  simple("figma", "figma-token", token("figd_[A-Za-z0-9_\\-]{40,200}")),
  simple("cloudflare", "cloudflare-token", token("(?:cfk|cfut|cfat)_[A-Za-z0-9]{48}")),
  prefixed("bearer", "bearer-token", /(\b[Bb]earer[ \t]+)([A-Za-z0-9\-._~+/]{16,4000}=*)/g, (value) =>
    /\d/.test(value),
  ),
  prefixed(
    "basic-auth",
    "basic-auth",
    /(\bAuthorization["']?[ \t]*[:=][ \t]*["']?Basic[ \t]+)([A-Za-z0-9+/]{8,4000}={0,2})/gi,
  ),
  prefixed("sql-password", "password", /(\b(?:PASSWORD|IDENTIFIED BY)[ \t]+')([^'\n]{1,400})(?=')/gi),
  {
    name: "cli-user-password",
    pattern: /((?<=^|\s|\\[nrt])(?:-u|--user)(?:[ \t]+|=)["']?[^\s:"'$\\]{1,200}:)([^\s"'\\]{1,500})/gm,
    replace: (count, match, [prefix, password]) => {
      if (!password || isBaseSkippable(password) || /^\d+$/.test(password)) return match;
      count("password");
      return prefix + placeholder("password");
    },
  },
  {
    name: "cli-flag",
    pattern:
      /((?<=^|\s|\\[nrt])--?([A-Za-z][A-Za-z0-9\-]{0,60})(=|[ \t]+))("[^"\n\\]{1,400}"|'[^'\n\\]{1,400}'|[^\s"'`\\]{1,4000})/gm,
    replace: (count, match, [prefix, flag, separator, raw]) => {
      const kind = secretKindOfKey(flag);
      if (!kind || !raw) return match;
      const quote = /^["']/.test(raw) ? raw[0] : "";
      const value = quote ? raw.slice(1, -1) : raw;
      if (!shouldRedactValue(kind, value) || (looksLikeCode(value, flag) && !isPunctuationSecret(value))) return match;
      // `--password hunter2` is clear; `--token to use` is prose, so a spaced value must look like a secret.
      if (separator !== "=" && (value.startsWith("-") || !/[\d\W]/.test(value))) return match;
      count(kind);
      return prefix + quote + placeholder(kind) + quote;
    },
  },
  {
    // password: "x", "apiKey": 'x', PASSWORD="x", $token = "x", 'secret' => 'x', token := "x"
    name: "quoted-assignment",
    pattern:
      /(?<![A-Za-z0-9_])(["']?)([A-Za-z_][A-Za-z0-9_.\-]{0,80})\1(\]?[ \t]*(?::=|=>|:|=)[ \t]*)(["'`])((?:\\.|(?!\4)[^\\\n]){0,4000})\4/g,
    replace: replaceQuotedAssignment,
  },
  {
    // The same inside a JSON string (tool inputs are stored JSON-encoded): \"password\": \"x\"
    name: "escaped-quoted-assignment",
    pattern:
      /(?<![A-Za-z0-9_])(\\["']|)([A-Za-z_][A-Za-z0-9_.\-]{0,80})\1([ \t]*(?::=|=>|:|=)[ \t]*)(\\["'`])([^"'`\\\n]{0,4000})\4/g,
    replace: replaceQuotedAssignment,
  },
  {
    // A .env line `SECRET_KEY=<value to the end of the line>`: the value may hold `&`, `;`, `<`, brackets, which
    // would end a shell word, so on a line of its own the whole rest of the line is the value.
    name: "env-line",
    pattern:
      /(?<=^|\\n)([ \t]*(?:export[ \t]+)?)([A-Za-z_][A-Za-z0-9_.\-]{0,80})=(?![\s"'`])([^\s"'`\\][^\s\\]{0,4000})(?=$|\\[nr])/gm,
    replace: (count, match, [lead, key, value]) => {
      if (!key || !value) return match;
      const kind = secretKindOfKey(key);
      if (!kind || !shouldRedactValue(kind, value) || !isPunctuationSecret(value)) return match;
      count(kind);
      return `${lead ?? ""}${key}=${placeholder(kind)}`;
    },
  },
  {
    // Shell and .env: PGPASSWORD=x psql, export TOKEN=x, ?token=x&, ;Password=x; and any NAME=<high-entropy>.
    name: "shell-assignment",
    pattern:
      /(?<=^|[\s;&|?"']|\\[nrt])([A-Za-z_][A-Za-z0-9_.\-]{0,80})=(?![=\s"'`\\])([^\s"'`;&<>\\]{1,4000})(?=$|([\s;&"'`<>\\]))/gm,
    replace: (count, match, [key, value, after]) => {
      if (!key || !value) return match;
      const kind = secretKindOfKey(key);
      if (kind) {
        if (!shouldRedactValue(kind, value)) return match;
        if ((/\(/.test(value) || /[),]$/.test(value)) && !isPunctuationSecret(value)) return match;
        count(kind);
        return `${key}=${placeholder(kind)}`;
      }
      // Without a secret-named key only a free-standing NAME=value counts: `const kx=someIdentifier31;` is code.
      const freeStanding = after === undefined || /[\s"'`]/.test(after);
      if (freeStanding && !isPlaceholderText(value) && isHighEntropySecret(key, value)) {
        count("high-entropy");
        return `${key}=${placeholder("high-entropy")}`;
      }
      return match;
    },
  },
  {
    // YAML, ini, properties, HTTP headers: `password: hunter2`, `aws_secret_access_key = …`, `X-Api-Key: …`.
    name: "bare-assignment",
    pattern:
      /(?<=^|[\s{,"']|\\[nrt])(?<!\b(?:readonly|public|private|protected|static|declare|abstract|override|val|var|let|const)[ \t]+)([A-Za-z_][A-Za-z0-9_.\-]{0,80})([ \t]*=[ \t]*|[ \t]*:[ \t]+)([^\s"'`#\\][^\s"\\]{0,4000})((?:[ \t]+#[^\n\\]*)?[ \t]*)(?:$|(?=\\[nr]|"))/gm,
    // A key after `readonly`, `private`, `const` … is a declaration (`readonly password: Redacted`), never a value.
    replace: (count, match, [key, separator, value, tail]) => {
      if (!key || !value) return match;
      const kind = secretKindOfKey(key);
      if (
        !kind ||
        value.length < 4 ||
        !shouldRedactValue(kind, value) ||
        (looksLikeCode(value, key) && !isPunctuationSecret(value))
      )
        return match;
      count(kind);
      return `${key}${separator}${placeholder(kind)}${tail ?? ""}`;
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Entry points

// `<private>` spans, also an unclosed one (to the end of the text): the user said never store it. A tag written
// as inline code (`` `<private>` ``) is a mention of the feature, not markup, and is left alone.
const PRIVATE_SPAN = /(?<!`)<private(?:\s[^>]{0,200})?>[\s\S]*?(?:<\/private\s*>|$)/gi;

/** Removes `<private>…</private>` spans (case-insensitive, multi-line, unclosed to the end) → `[PRIVATE]`. */
export function stripPrivate(text: string): string {
  return stripPrivateCounted(text, () => {});
}

function stripPrivateCounted(text: string, count: Count): string {
  if (!/<private/i.test(text)) return text;
  return text.replace(PRIVATE_SPAN, () => {
    count("private");
    return PRIVATE_PLACEHOLDER;
  });
}

/**
 * Replaces the matches of one rule. A match the rule keeps is not skipped over: scanning resumes one character
 * later, so `"command": "… apiKey: 'x' …"` (kept: `command` is no secret) still lets the inner `apiKey` match.
 */
function applyRule(text: string, rule: Rule, count: Count): string {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  let out = "";
  let copied = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const replacement = rule.replace(count, match[0], match.slice(1));
    if (replacement === match[0]) {
      pattern.lastIndex = match.index + 1;
      continue;
    }
    out += text.slice(copied, match.index) + replacement;
    copied = match.index + match[0].length;
    pattern.lastIndex = Math.max(copied, match.index + 1);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// What every rule needs to see before it can match (a key word, a token's prefix, `://`, `=` before a long value, a
// private tag): text with none of them holds nothing to redact, and skips the ~30 rule passes. Every store's write
// goes through the redactor, so this keeps a bulk index or a state file rewrite cheap. The corpus tests run every
// secret through this gate.
const MAY_HOLD_SECRET =
  /pass|pwd|secret|token|key|<private|-----BEGIN|:\/\/|eyJ|sk-|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|cbt|soat)-|xox|xapp-|_live_|_test_|whsec_|AIza|GOCSPX-|ya29\.|npm_|SG\.|hf_|pypi-|shp|lin_api_|ops_ey|dckr_pat_|dapi|figd_|cf(?:k|ut|at)_|bearer|basic|identified by|(?:^|\s|\\[nrt])(?:-u|--user)\b|=[A-Za-z0-9+/=_\-.~]{24}/i;
const AWS_KEY_ID = /(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}/;

export function mayHoldSecret(text: string): boolean {
  return MAY_HOLD_SECRET.test(text) || AWS_KEY_ID.test(text);
}

/** Strips private spans and replaces every detected secret with a typed placeholder such as `[REDACTED:aws-key]`. */
export function redactSecrets(text: string): RedactionResult {
  if (typeof text !== "string" || text.length === 0)
    return { text: typeof text === "string" ? text : "", findings: [] };
  if (!mayHoldSecret(text)) return { text, findings: [] };
  const counts = new Map<string, number>();
  const count: Count = (kind) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
  let out = stripPrivateCounted(text, count);
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    out = applyRule(out, rule, count);
  }
  const findings = [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => ({ kind, count: n }));
  return { text: out, findings };
}

/** Convenience: the redacted text only. */
export function redact(text: string): string {
  return redactSecrets(text).text;
}
