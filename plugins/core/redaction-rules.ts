// The redaction rule table: each rule is one secret shape (a provider's token format, an assignment under a
// secret-named key, a private key block) with how to replace a match. The engine in redaction.ts applies them.
// Every pattern is bounded (no nested quantifiers over overlapping classes), so big inputs scan in linear time.
import {
  isBaseSkippable,
  isHighEntropySecret,
  isPlaceholderText,
  isPunctuationSecret,
  isReference,
  keyWords,
  looksLikeCode,
  placeholder,
  secretKindOfKey,
  shouldRedactValue,
} from "./redaction-values.ts";

export type Count = (kind: string) => void;

export interface Rule {
  name: string;
  pattern: RegExp;
  /** Returns the replacement for one match, or the match itself to keep it; calls `count` when it redacts. */
  replace: (count: Count, match: string, groups: string[]) => string;
}

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
export const RULES: Rule[] = [
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
