// core/tool.ts on its own: the wrapper every pack tool is defined through.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { z } from "zod";
import { ToolInputError } from "../../plugins/core/tool.ts";
import { abbreviate, actionRules, capOutput, defineTool, type ToolCallContext } from "../../plugins/core/tool.ts";

const ctx: ToolCallContext = { sessionID: "s", messageID: "m", agent: "build", abort: new AbortController().signal };

const echo = defineTool("echo", {
  description: "test tool",
  args: {
    action: z.enum(["say", "shout"]),
    text: z.string().max(50).optional(),
    times: z.number().int().min(1).max(3).optional(),
  },
  maxOutputChars: 100,
  check: actionRules({ say: { needs: ["text"], takes: ["times"] }, shout: { needs: ["text"] } }),
  execute: (args) => (args.text ?? "").repeat(args.action === "shout" ? 40 : (args.times ?? 1)),
});

const refusal = async (args: unknown) => {
  try {
    await echo.execute(args, ctx);
  } catch (error) {
    assert.ok(error instanceof ToolInputError, String(error));
    return error.message;
  }
  return assert.fail("expected a refusal");
};

test("execute runs only on valid arguments; refusals name the argument and list what the tool takes", async () => {
  assert.equal(await echo.execute({ action: "say", text: "hi", times: 2 }, ctx), "hihi");
  assert.equal(await echo.execute('{"action":"say","text":"yo"}', ctx), "yo", "arguments sent as a JSON string");
  assert.equal(await echo.execute({ action: "say", text: "ok", times: null }, ctx), "ok", "null means not given");
  const message = await refusal({ action: "shout", text: "x", times: 2 });
  assert.match(
    message,
    /^Invalid arguments for echo:\n- times: not used by action "shout" \(it takes text\)\necho takes: action, text, times\. Fix the call and try again\.$/,
  );
  assert.match(await refusal({ action: "say" }), /- text: required for action "say"/);
  assert.match(await refusal({}), /- action: required \(expected one of "say"\|"shout"\)/);
  assert.match(await refusal(undefined), /- action: required/);
  assert.match(await refusal(42), /the arguments must be an object with named fields, got number 42/);
  assert.match(
    await refusal({ action: "say", text: "a\u0000b".repeat(30) }),
    /got a string of 90 characters "a\\u0000ba\\u0000b/,
    "control characters made visible",
  );
  const many = await refusal({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, action: 7 });
  assert.match(many, /unknown arguments "a", "b", "c", "d", "e", "f"/);
});

test("output over the cap is cut with a note saying how much there was", async () => {
  const out = await echo.execute({ action: "shout", text: "abcdefghij" }, ctx);
  assert.equal(out.length, 100);
  assert.match(out, /\[… output cut at 100 of 400 characters\]$/);
  assert.equal(capOutput("short", 100), "short");
});

test("property: abbreviate never returns more than max plus its note, and keeps short text as it is", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 500 }), fc.integer({ min: 1, max: 100 }), (text, max) => {
      const out = abbreviate(text, max);
      assert.ok(out.length <= max + 30, `${out.length} > ${max} + note`);
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(out), "no raw control characters");
    }),
    { seed: 14 },
  );
  assert.equal(abbreviate("plain", 10), "plain");
});

test("property: any JSON value gives a result or a ToolInputError of bounded size, never another error", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue(),
        fc.json(),
        fc.record({ action: fc.jsonValue(), text: fc.jsonValue(), times: fc.jsonValue() }, { requiredKeys: [] }),
      ),
      async (args) => {
        try {
          assert.equal(typeof (await echo.execute(args, ctx)), "string");
        } catch (error) {
          assert.ok(error instanceof ToolInputError, `${JSON.stringify(args)?.slice(0, 100)}: ${String(error)}`);
          assert.ok(error.message.length < 1500);
        }
      },
    ),
    { numRuns: 500, seed: 8 },
  );
});
