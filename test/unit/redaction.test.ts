import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { redactSecrets, redact, stripPrivate, secretKindOfKey, shannonEntropy } from "../../plugins/core/redaction.ts";
import { SECRET_CASES, BENIGN_LINES } from "./fixtures/redaction-corpus.ts";

describe("redaction corpus", () => {
  test("the corpus is as large as the issue asks", () => {
    assert.ok(SECRET_CASES.length >= 40, `${SECRET_CASES.length} secrets`);
    assert.ok(new Set(SECRET_CASES.map((c) => c.kind)).size >= 15, "at least 15 kinds");
    assert.ok(BENIGN_LINES.length >= 200, `${BENIGN_LINES.length} benign lines`);
  });

  for (const [index, sample] of SECRET_CASES.entries()) {
    test(`secret #${index} (${sample.kind}) is redacted with its kind`, () => {
      const { text, findings } = redactSecrets(sample.line);
      assert.ok(!text.includes(sample.secret), `secret survived: ${text}`);
      assert.ok(text.includes(`[REDACTED:${sample.kind}]`), `expected [REDACTED:${sample.kind}] in ${text}`);
      assert.ok(
        findings.some((f) => f.kind === sample.kind && f.count >= 1),
        JSON.stringify(findings),
      );
    });
  }

  test("every benign line survives byte for byte, one by one and as one text", () => {
    const changed = BENIGN_LINES.map((line) => [line, redactSecrets(line)] as const).filter(
      ([line, r]) => r.text !== line || r.findings.length > 0,
    );
    assert.deepEqual(
      changed.map(([line, r]) => ({ line, out: r.text })),
      [],
    );
    const joined = BENIGN_LINES.join("\n");
    assert.equal(redact(joined), joined);
  });

  test("JSON-encoded text (how tool inputs are stored) gets the same treatment and stays valid JSON", () => {
    for (const sample of SECRET_CASES) {
      const encoded = JSON.stringify({ tool: "bash", input: { command: sample.line } });
      const decoded = JSON.parse(redact(encoded)) as { input: { command: string } };
      assert.ok(
        !decoded.input.command.includes(sample.secret),
        `${sample.kind} survived JSON encoding: ${decoded.input.command}`,
      );
      assert.ok(decoded.input.command.includes("[REDACTED:"), decoded.input.command);
    }
    const benign = JSON.stringify({ content: BENIGN_LINES.join("\n") });
    assert.equal(redact(benign), benign);
  });

  test("all secrets in one text: none survives and the findings add up", () => {
    const joined = SECRET_CASES.map((c) => c.line).join("\n");
    const { text, findings } = redactSecrets(joined);
    for (const sample of SECRET_CASES)
      assert.ok(!text.includes(sample.secret), `${sample.kind} survived in the joined text`);
    const total = findings.reduce((sum, f) => sum + f.count, 0);
    assert.ok(total >= SECRET_CASES.length, `${total} findings for ${SECRET_CASES.length} secrets`);
  });
});

describe("private spans", () => {
  test("a closed span is replaced, case-insensitive and across lines", () => {
    assert.equal(stripPrivate("before <PRIVATE>my home\naddress</Private> after"), "before [PRIVATE] after");
    assert.equal(redact('a <private>x</private> b <private class="n">y\nz</private> c'), "a [PRIVATE] b [PRIVATE] c");
  });

  test("an unclosed span removes everything to the end of the text", () => {
    assert.equal(redact("keep this\n<private>\nnever store\nthis either"), "keep this\n[PRIVATE]");
  });

  test("the span is removed before anything else, so nothing of it is stored and findings count it", () => {
    const { text, findings } = redactSecrets("x <private>PGPASSWORD=abc123</private> y");
    assert.equal(text, "x [PRIVATE] y");
    assert.deepEqual(findings, [{ kind: "private", count: 1 }]);
  });

  test("a tag mentioned as inline code is documentation, not markup", () => {
    const line = "Wrap it in `<private>` and it is never stored; `</private>` closes it.";
    assert.equal(redact(line), line);
  });

  test("stripPrivate only strips spans, it does not redact secrets", () => {
    assert.equal(stripPrivate("PGPASSWORD=abc123"), "PGPASSWORD=abc123");
  });
});

describe("exact forms", () => {
  test("URL credentials keep scheme, user, host, port and path", () => {
    assert.equal(redact("postgres://app:hunter2x@db:5432/x"), "postgres://app:[REDACTED:url-password]@db:5432/x");
    assert.equal(redact("redis://:p4ss@cache:6379/0"), "redis://:[REDACTED:url-password]@cache:6379/0");
    assert.equal(
      redact("jdbc:mysql://root:pw9@127.0.0.1:3306/shop?ssl=true"),
      "jdbc:mysql://root:[REDACTED:url-password]@127.0.0.1:3306/shop?ssl=true",
    );
  });

  test("URLs whose password is a reference, or that have no password, are untouched", () => {
    for (const url of [
      "postgres://app:${PGPASSWORD}@db:5432/x",
      "postgres://app@db:5432/x",
      "https://host:8443/a@b",
      "ssh://git@host:22/repo.git",
    ]) {
      assert.equal(redact(url), url);
    }
  });

  test("assignments keep the key and everything around the value", () => {
    assert.equal(
      redact("PGPASSWORD=hunter2 psql -h db -p 5432 -U app"),
      "PGPASSWORD=[REDACTED:password] psql -h db -p 5432 -U app",
    );
    assert.equal(redact('export API_TOKEN="abc123def456"'), 'export API_TOKEN="[REDACTED:token]"');
    assert.equal(redact("  password: s3cr3t # local only"), "  password: [REDACTED:password] # local only");
    assert.equal(redact('{"password": "s3cr3t!", "port": 5432}'), '{"password": "[REDACTED:password]", "port": 5432}');
    assert.equal(redact("Server=db;Password=Pw1!x;Port=1433"), "Server=db;Password=[REDACTED:password];Port=1433");
  });

  test("a .env file: secrets go, everything else stays exactly", () => {
    const env = [
      "# local development",
      "NODE_ENV=development",
      "PORT=3000",
      "DATABASE_URL=postgres://app:devpass1@localhost:5432/app",
      "export SESSION_SECRET=kd8Fh2Lq9Zx",
      "SMTP_PASSWORD='mail pass 42'",
      "LOG_LEVEL=debug",
      "GIT_SHA=3f2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
    ].join("\n");
    const expected = [
      "# local development",
      "NODE_ENV=development",
      "PORT=3000",
      "DATABASE_URL=postgres://app:[REDACTED:url-password]@localhost:5432/app",
      "export SESSION_SECRET=[REDACTED:secret]",
      "SMTP_PASSWORD='[REDACTED:password]'",
      "LOG_LEVEL=debug",
      "GIT_SHA=3f2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b",
    ].join("\n");
    const { text, findings } = redactSecrets(env);
    assert.equal(text, expected);
    // The same file written by a tool call is stored JSON-encoded: same result, byte for byte.
    assert.equal(
      redact(JSON.stringify({ filePath: ".env", content: env })),
      JSON.stringify({ filePath: ".env", content: expected }),
    );
    assert.deepEqual(findings, [
      { kind: "password", count: 1 },
      { kind: "secret", count: 1 },
      { kind: "url-password", count: 1 },
    ]);
  });

  test("a private key block is replaced whole, headers included", () => {
    const block = [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
      "-----END OPENSSH PRIVATE KEY-----",
    ].join("\n");
    assert.equal(redact(`key:\n${block}\ndone`), "key:\n[REDACTED:private-key]\ndone");
  });
});

describe("findings and idempotence", () => {
  test("findings count each kind, sorted by kind", () => {
    const key = "AKIA" + "IOSFODNN7" + "EXAMPLE";
    const gh = "ghp" + "_" + "FAKE".repeat(9);
    const { findings } = redactSecrets(`a=${key}\nb=${key}\ntoken ${gh}\n<private>x</private>`);
    assert.deepEqual(findings, [
      { kind: "aws-key", count: 2 },
      { kind: "github-token", count: 1 },
      { kind: "private", count: 1 },
    ]);
  });

  test("redacting redacted text changes nothing and finds nothing", () => {
    const all = [
      ...SECRET_CASES.map((c) => c.line),
      ...BENIGN_LINES,
      "x <private>y</private>",
      "tail <private> unclosed",
    ].join("\n");
    const once = redactSecrets(all);
    const twice = redactSecrets(once.text);
    assert.equal(twice.text, once.text);
    assert.deepEqual(twice.findings, []);
    for (const sample of SECRET_CASES) assert.equal(redact(redact(sample.line)), redact(sample.line));
  });

  test("empty and secret-free text comes back as is", () => {
    assert.deepEqual(redactSecrets(""), { text: "", findings: [] });
    assert.equal(redact("plain words only"), "plain words only");
  });
});

describe("classification helpers", () => {
  test("only the last word of a key names a secret", () => {
    const cases: [string, string | null][] = [
      ["PGPASSWORD", "password"],
      ["db.password", "password"],
      ["clientSecret", "secret"],
      ["GITHUB_TOKEN", "token"],
      ["x-api-key", "api-key"],
      ["aws_secret_access_key", "aws-secret"],
      ["SecretAccessKey", "aws-secret"],
      ["password_file", null],
      ["secretName", null],
      ["token_type", null],
      ["max_tokens", null],
      ["tokenizer", null],
      ["passwordHash", null],
      ["bypass", null],
      ["key", null],
    ];
    for (const [key, kind] of cases) assert.equal(secretKindOfKey(key), kind, key);
  });

  test("entropy separates random strings from words", () => {
    assert.ok(shannonEntropy("aaaaaaaa") === 0);
    assert.ok(shannonEntropy("Zx8Kq2Lm9Np4Rt7Vw1Ys3Bc6") > 4);
    assert.ok(shannonEntropy("passwordpassword") < 3);
  });
});

describe("speed on large and hostile input", () => {
  const time = (text: string) => {
    const started = performance.now();
    const result = redactSecrets(text);
    return { ms: performance.now() - started, result };
  };

  test("5 MB of mixed tool output finishes well within a generous bound", () => {
    const chunk = [...BENIGN_LINES, ...SECRET_CASES.map((c) => c.line)].join("\n") + "\n";
    const text = chunk.repeat(Math.ceil(5_000_000 / chunk.length));
    const { ms, result } = time(text);
    console.log(`  mixed ${(text.length / 1e6).toFixed(1)} MB: ${ms.toFixed(0)} ms`);
    // No match may span chunks (a truncated key block must not swallow text up to a later END line).
    assert.equal(result.text, redact(chunk).repeat(Math.ceil(5_000_000 / chunk.length)));
    assert.ok(ms < 5000, `${ms} ms`);
  });

  test("pathological shapes stay linear", () => {
    const hostile: [string, string][] = [
      ["one 5 MB base64 line", "data:image/png;base64," + "QUJD".repeat(1_250_000)],
      ["unclosed quotes after secret keys", 'password: "'.repeat(200_000)],
      ["many NAME= without values", "a= ".repeat(500_000)],
      ["eyJ runs without dots", ("eyJ" + "x".repeat(60) + " ").repeat(60_000)],
      ["BEGIN without END", "-----BEGIN PRIVATE KEY-----\n".repeat(100) + "A".repeat(1_000_000)],
      ["private tags without >", "<private".repeat(300_000)],
      ["long key-like run", "k".repeat(2_000_000) + "=v"],
      ["url-ish without @", ("https://u:" + "p".repeat(400) + " ").repeat(10_000)],
    ];
    for (const [name, text] of hostile) {
      const { ms } = time(text);
      console.log(`  ${name} (${(text.length / 1e6).toFixed(1)} MB): ${ms.toFixed(0)} ms`);
      assert.ok(ms < 5000, `${name}: ${ms} ms`);
    }
  });
});
