// The validating asset writer of /distill and the inventory it checks against: OpenCode's skill-name rule, front
// matter that reads back, no collision, never an overwrite, extend with a backup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import matter from "gray-matter";
import { assetPath, SKILL_NAME, validateAsset, writeAsset, type AssetRequest } from "../../plugins/distill/assets.ts";
import { inventory } from "../../plugins/distill/inventory.ts";
import { parseDistillArgs } from "../../plugins/distill/index.ts";

function tempProject() {
  const root = mkdtempSync(join(tmpdir(), "distill-assets-"));
  const project = join(root, "project");
  const global = join(root, "config", "opencode");
  mkdirSync(project, { recursive: true });
  mkdirSync(global, { recursive: true });
  return { root, project, global, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const skill = (name: string, extra: Partial<AssetRequest> = {}): AssetRequest => ({
  form: "skill",
  name,
  description: "Use when tests fail.",
  body: "1. Run `npm test`.",
  action: "create",
  ...extra,
});
const NONE = new Set<string>();

test("a valid skill is written where OpenCode looks, with front matter that reads back", () => {
  const t = tempProject();
  try {
    const checked = validateAsset(
      skill("lint-test-fix", { description: "Use when: lint 'fails' # or \"tests\" --- break" }),
      t.project,
      [],
      NONE,
    );
    assert.deepEqual(checked.problems, []);
    writeAsset(checked.plan!);
    const file = assetPath(t.project, "skill", "lint-test-fix");
    assert.equal(file, join(t.project, ".opencode", "skills", "lint-test-fix", "SKILL.md"));
    const parsed = matter(readFileSync(file, "utf8"), {});
    assert.deepEqual(parsed.data, {
      name: "lint-test-fix",
      description: "Use when: lint 'fails' # or \"tests\" --- break",
    });
    assert.equal(parsed.content.trim(), "1. Run `npm test`.");
    assert.deepEqual(
      readdirSync(join(t.project, ".opencode", "skills", "lint-test-fix")),
      ["SKILL.md"],
      "no temp file left behind",
    );
  } finally {
    t.cleanup();
  }
});

test("refused: invalid names, empty or huge fields, a body with its own front matter, the pack's own names, collisions, an existing file", () => {
  const t = tempProject();
  try {
    for (const bad of [
      "Lint",
      "lint_test",
      "-lint",
      "lint-",
      "lint--test",
      "",
      "a".repeat(65),
      "../escape",
      "lint test",
      "línt",
    ]) {
      assert.match(validateAsset(skill(bad), t.project, [], NONE).problems.join(), /is invalid/, JSON.stringify(bad));
    }
    assert.match(
      validateAsset(skill("ok", { description: "  " }), t.project, [], NONE).problems.join(),
      /description is empty/,
    );
    assert.match(
      validateAsset(skill("ok", { body: "---\nname: x\n---\nhi" }), t.project, [], NONE).problems.join(),
      /front matter/,
    );
    assert.match(
      validateAsset(skill("ok", { body: "x".repeat(20001) }), t.project, [], NONE).problems.join(),
      /at most 20000/,
    );
    assert.match(
      validateAsset(skill("memory"), t.project, [], new Set(["memory"])).problems.join(),
      /used by opencode-continuum/,
    );
    const existing = [
      {
        form: "command" as const,
        name: "deploy",
        description: "",
        path: "/g/commands/deploy.md",
        scope: "global" as const,
      },
    ];
    assert.match(
      validateAsset(skill("deploy"), t.project, existing, NONE).problems.join(),
      /a command named "deploy" exists already/,
    );
    const plan = validateAsset(skill("twice"), t.project, [], NONE).plan!;
    writeAsset(plan);
    assert.match(
      validateAsset(skill("twice"), t.project, [], NONE, (p) => p === plan.path).problems.join(),
      /exists already: it is never overwritten \(use action "extend"/,
    );
    // A plan validated before someone else wrote the file still cannot overwrite it.
    const racing = validateAsset(skill("raced"), t.project, [], NONE).plan!;
    mkdirSync(join(t.project, ".opencode", "skills", "raced"), { recursive: true });
    writeFileSync(racing.path, "theirs");
    assert.throws(() => writeAsset(racing), /EEXIST/);
    assert.equal(readFileSync(racing.path, "utf8"), "theirs");
    assert.match(
      validateAsset(skill("nothing-here", { action: "extend" }), t.project, [], NONE).problems.join(),
      /nothing to extend/,
    );
  } finally {
    t.cleanup();
  }
});

test("extend keeps a backup byte for byte and appends; commands and agents get their own front matter", () => {
  const t = tempProject();
  try {
    const command = validateAsset(
      { form: "command", name: "ship", description: "Ship it", body: "Run the release.", action: "create" },
      t.project,
      [],
      NONE,
    ).plan!;
    writeAsset(command);
    const before = readFileSync(command.path);
    const extension = validateAsset(
      { form: "command", name: "ship", description: "Ship it", body: "Then tag it.", action: "extend" },
      t.project,
      [],
      NONE,
      (path) => path === command.path,
    ).plan!;
    const { backup } = writeAsset(extension);
    assert.ok(backup && readFileSync(backup).equals(before));
    assert.match(
      readFileSync(command.path, "utf8"),
      /Run the release\.\n\n## Added by \/distill \(\d{4}-\d{2}-\d{2}\)\n\nThen tag it\.\n$/,
    );
    const agent = validateAsset(
      { form: "agent", name: "reviewer", description: "Reviews diffs", body: "Review.", action: "create" },
      t.project,
      [],
      NONE,
    ).plan!;
    assert.deepEqual(matter(agent.content, {}).data, { description: "Reviews diffs", mode: "subagent" });
  } finally {
    t.cleanup();
  }
});

test("inventory: skills, commands and agents of the global and project config dirs, by front matter name", () => {
  const t = tempProject();
  try {
    mkdirSync(join(t.global, "skills", "folder-name"), { recursive: true });
    writeFileSync(join(t.global, "skills", "folder-name", "SKILL.md"), "---\nname: real-name\ndescription: d1\n---\nx");
    mkdirSync(join(t.project, ".opencode", "commands"), { recursive: true });
    writeFileSync(join(t.project, ".opencode", "commands", "deploy.md"), "---\ndescription: d2\n---\nx");
    mkdirSync(join(t.project, ".opencode", "agents"), { recursive: true });
    writeFileSync(join(t.project, ".opencode", "agents", "broken.md"), "---\n: : bad yaml [\n---\nx");
    mkdirSync(join(t.project, ".claude", "skills", "claude-skill"), { recursive: true });
    writeFileSync(join(t.project, ".claude", "skills", "claude-skill", "SKILL.md"), "no front matter");
    const items = inventory(t.global, t.project).map((i) => [i.form, i.name, i.scope, i.description]);
    assert.deepEqual(items, [
      ["agent", "broken", "project", ""],
      ["command", "deploy", "project", "d2"],
      ["skill", "claude-skill", "project", ""],
      ["skill", "real-name", "global", "d1"],
    ]);
    assert.deepEqual(inventory(join(t.root, "missing"), join(t.root, "missing2")), []);
  } finally {
    t.cleanup();
  }
});

test("property: a name passes validation exactly when it matches OpenCode's rule and fits", () => {
  const t = tempProject();
  try {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}$/)),
        (name) => {
          const valid = SKILL_NAME.test(name) && name.length <= 64;
          const problems = validateAsset(skill(name), t.project, [], NONE).problems;
          assert.equal(
            problems.some((p) => p.includes("is invalid")),
            !valid,
            name,
          );
        },
      ),
      { numRuns: 400 },
    );
  } finally {
    t.cleanup();
  }
});

test("property: any description and body either validate with front matter that reads back exactly, or are refused; never a throw", () => {
  const t = tempProject();
  try {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 200 }), (description, body) => {
        const checked = validateAsset(skill("prop-skill", { description, body }), t.project, [], NONE);
        if (!checked.plan) return assert.ok(checked.problems.length > 0);
        const parsed = matter(checked.plan.content, {});
        assert.equal(parsed.data.name, "prop-skill");
        assert.equal(parsed.data.description, description.replace(/\s+/g, " ").trim());
      }),
      { numRuns: 300 },
    );
  } finally {
    t.cleanup();
  }
});

test("/distill arguments", () => {
  assert.deepEqual(parseDistillArgs(" --dry-run testing "), { kind: "run", dryRun: true, focus: "testing" });
  assert.deepEqual(parseDistillArgs("status"), { kind: "status" });
  assert.equal(parseDistillArgs("--overwrite").kind, "error");
});

test("a linked .opencode, skills folder or asset file is refused (the message says symlink), nothing written outside", () => {
  const t = tempProject();
  try {
    const outside = join(t.root, "outside");
    mkdirSync(outside);
    symlinkSync(outside, join(t.project, ".opencode"));
    const checked = validateAsset(skill("via-link"), t.project, [], NONE);
    assert.match(checked.problems.join(), /\.opencode is a symlink, refused/);
    rmSync(join(t.project, ".opencode"));
    mkdirSync(join(t.project, ".opencode", "agents"), { recursive: true });
    writeFileSync(join(outside, "x.md"), "---\ndescription: d\n---\nbody\n");
    symlinkSync(join(outside, "x.md"), join(t.project, ".opencode", "agents", "x.md"));
    // A file /distill created and someone replaced by a link is not written through it.
    const linkPath = join(t.project, ".opencode", "agents", "x.md");
    const extend = validateAsset(
      { form: "agent", name: "x", description: "d", body: "more", action: "extend" },
      t.project,
      [],
      NONE,
      (p) => p === linkPath,
    );
    assert.match(extend.problems.join(), /symlink/);
    // One it did not create is never extended at all: the addition goes beside it.
    const beside = validateAsset(
      { form: "agent", name: "x", description: "d", body: "more", action: "extend" },
      t.project,
      [],
      NONE,
    );
    assert.equal(beside.plan?.name, "x-distilled");
    assert.deepEqual(readdirSync(outside), ["x.md"]);
    assert.equal(readFileSync(join(outside, "x.md"), "utf8"), "---\ndescription: d\n---\nbody\n");
  } finally {
    t.cleanup();
  }
});

test("extend never rewrites a file /distill did not create: a new asset <name>-distilled goes beside it, and the refusal to create never suggests extending yours", () => {
  const t = tempProject();
  try {
    const mine = assetPath(t.project, "skill", "deploy-steps");
    mkdirSync(join(t.project, ".opencode", "skills", "deploy-steps"), { recursive: true });
    writeFileSync(mine, "---\nname: deploy-steps\ndescription: my own\n---\nMy steps.\n");
    const before = readFileSync(mine);
    const created = new Set<string>();
    const extendMine = validateAsset(
      skill("deploy-steps", { action: "extend", body: "Then tag it." }),
      t.project,
      [],
      NONE,
      (p) => created.has(p),
    );
    assert.deepEqual(extendMine.problems, []);
    assert.equal(extendMine.plan!.name, "deploy-steps-distilled");
    assert.equal(extendMine.plan!.action, "create");
    assert.equal(extendMine.plan!.besides, mine);
    writeAsset(extendMine.plan!);
    created.add(extendMine.plan!.path);
    assert.ok(readFileSync(mine).equals(before), "the user's skill is byte for byte as it was");
    assert.deepEqual(
      readdirSync(join(t.project, ".opencode", "skills", "deploy-steps")),
      ["SKILL.md"],
      "no backup copy next to it either",
    );
    // A second extend adds to the asset beside it, which /distill created.
    const again = validateAsset(
      skill("deploy-steps", { action: "extend", body: "And push the tag." }),
      t.project,
      [],
      NONE,
      (p) => created.has(p),
    ).plan!;
    assert.equal(again.action, "extend");
    assert.equal(again.path, extendMine.plan!.path);
    const refusal = validateAsset(skill("deploy-steps"), t.project, [], NONE, (p) => created.has(p)).problems.join();
    assert.match(refusal, /is not one \/distill created: it is never changed; choose another name, or skip/);
    assert.doesNotMatch(refusal, /extend/);
  } finally {
    t.cleanup();
  }
});
