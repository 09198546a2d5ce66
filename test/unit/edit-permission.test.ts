// Script writes follow the user's OpenCode `edit` permission: OpenCode's wildcard, the last matching rule wins,
// the calling agent's rules after the global ones; deny and ask refuse (ask says which key to set). Then through
// the real entry on the fake host: the config hook hands the live config over, a workflow's writeFile obeys it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { editPermissions, scriptWriteRefusal, wildcardMatch } from "../../plugins/core/edit-permission.ts";
import { withFakeHost } from "../harness/fake-host.ts";

test("wildcardMatch: * spans folders, ? is one character, everything else is literal", () => {
  assert.ok(wildcardMatch("docs/a/b.md", "*.md"));
  assert.ok(wildcardMatch("a.md", "?.md"));
  assert.ok(!wildcardMatch("ab.md", "?.md"));
  assert.ok(!wildcardMatch("a.mdx", "*.md"));
  assert.ok(!wildcardMatch("aXmd", "a.md"));
  assert.ok(wildcardMatch("src/(x)[1]+.ts", "src/(x)[1]+.ts"));
});

test("decide: global then agent rules, last match wins; a bare string applies to every tool; plan denies by default", () => {
  const p = editPermissions({
    permission: { edit: { "*.md": "allow", "*": "ask" } },
    agent: { docs: { permission: { edit: { "*": "deny", "*.md": "allow" } } }, free: { permission: "allow" } },
  });
  assert.equal(p.decide("README.md").action, "ask", "the later * wins over *.md");
  assert.equal(p.decide("src/a.ts").action, "ask");
  assert.equal(p.decide("README.md", "docs").action, "allow");
  assert.equal(p.decide("src/a.ts", "docs").action, "deny");
  assert.equal(p.decide("src/a.ts", "free").action, "allow");
  assert.equal(editPermissions({}).decide("x").action, "allow");
  assert.equal(editPermissions({}).decide("x", "plan").action, "deny");
  assert.equal(editPermissions({ permission: { edit: "bogus", bash: "deny" } }).decide("x").action, "allow");
  assert.equal(editPermissions({ permission: "deny" }).decide("x").action, "deny");
  assert.match(
    scriptWriteRefusal(editPermissions({ permission: { edit: "ask" } }), "notes/a.md")!,
    /"ask" .*"permission": \{ "edit": \{ "notes\/a\.md": "allow" \} \}/,
  );
  assert.match(scriptWriteRefusal(editPermissions({ permission: { edit: "deny" } }), "a")!, /denies it/);
  assert.equal(scriptWriteRefusal(editPermissions({ permission: { edit: "allow" } }), "a"), undefined);
  assert.equal(scriptWriteRefusal(undefined, "a"), undefined);
});

test("through the entry: edit deny / ask in the live config refuse a workflow's writeFile with the message; an allowed pattern writes", async () => {
  await withFakeHost({}, async (host) => {
    const dir = join(host.projectDir, ".opencode", "workflows");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "w.js"),
      `export const meta = { name: "w", description: "writes" };\nexport default async function (args) { writeFile(args.path, "x"); return "wrote " + args.path; }`,
    );
    const session = await host.createSession();
    const run = (path: string) => host.callTool("workflow", { action: "run", name: "w", args: { path } }, session);
    await host.hooks.config?.({
      agent: {},
      command: {},
      permission: { edit: { "*": "ask", "docs/*.md": "allow", "secret/*": "deny" } },
    } as never);
    assert.match(
      await run("src/a.ts"),
      /failed[\s\S]*edit permission is "ask" for it[\s\S]*"permission": \{ "edit": \{ "src\/a\.ts": "allow" \} \}/,
    );
    assert.match(await run("secret/k.txt"), /failed[\s\S]*edit permission denies it/);
    assert.match(await run("docs/x.md"), /· done[\s\S]*wrote docs\/x\.md/);
    assert.equal(existsSync(join(host.projectDir, "src", "a.ts")), false);
    assert.equal(existsSync(join(host.projectDir, "secret")), false);
    assert.equal(existsSync(join(host.projectDir, "docs", "x.md")), true);
  });
});
