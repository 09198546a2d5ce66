// Pack skills offered through skills.paths, each unless the user has a skill of that name anywhere OpenCode looks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packSkillNames, registerPackSkills } from "../../plugins/core/skills.ts";
import { PACK_ROOT } from "../../plugins/core/assets.ts";

function world() {
  const root = mkdtempSync(join(tmpdir(), "compose-skills-"));
  const pack = join(root, "pack");
  for (const name of ["compose-tdd", "compose-plan", "continuum-memory"]) writeSkill(join(pack, "skills"), name);
  mkdirSync(join(pack, "skills", "not-a-skill"), { recursive: true });
  const home = join(root, "home");
  const project = join(root, "repo");
  const sub = join(project, "packages", "app");
  mkdirSync(sub, { recursive: true });
  const env = { HOME: home, XDG_CONFIG_HOME: join(root, "xdg") };
  return { root, pack, home, project, sub, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function writeSkill(dir: string, name: string) {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, "SKILL.md"), `---\nname: ${name}\ndescription: ${name}\n---\n`);
}

test("the shipped skills include the eleven compose skills and continuum-memory", () => {
  const names = packSkillNames(PACK_ROOT);
  for (const step of [
    "brainstorm",
    "spec",
    "plan",
    "tdd",
    "debug",
    "review",
    "verify",
    "worktree",
    "parallel",
    "merge",
    "report",
  ])
    assert.ok(names.includes(`compose-${step}`));
  assert.ok(names.includes("continuum-memory"));
});

test("with no override every pack skill folder is added after the user's own paths", () => {
  const w = world();
  try {
    const cfg = { skills: { paths: ["my/skills"] } };
    const result = registerPackSkills(cfg, { directory: w.sub, worktree: w.project, env: w.env }, () => true, w.pack);
    assert.deepEqual(result.registered, ["compose-plan", "compose-tdd", "continuum-memory"]);
    assert.deepEqual(cfg.skills.paths, ["my/skills", ...result.registered.map((n) => join(w.pack, "skills", n))]);
  } finally {
    w.cleanup();
  }
});

test("an override anywhere OpenCode looks keeps the pack's copy out", () => {
  const w = world();
  try {
    const places = [
      join(w.project, ".opencode", "skills"),
      join(w.sub, ".opencode", "skill"),
      join(w.project, ".claude", "skills"),
      join(w.sub, ".agents", "skills"),
      join(w.env.XDG_CONFIG_HOME, "opencode", "skills"),
      join(w.home, ".claude", "skills"),
      join(w.home, ".opencode", "skills"),
    ];
    for (const place of places) {
      const dir = join(place, "compose-tdd");
      writeSkill(place, "compose-tdd");
      const cfg: { skills?: { paths?: unknown } } = {};
      const result = registerPackSkills(cfg, { directory: w.sub, worktree: w.project, env: w.env }, () => true, w.pack);
      assert.deepEqual(result.overridden, [{ name: "compose-tdd", by: dir }], place);
      assert.ok(!result.registered.includes("compose-tdd"));
      rmSync(dir, { recursive: true });
    }
  } finally {
    w.cleanup();
  }
});

test("a user's skills.paths entry holding the name overrides; a link to the pack's own folder does not", () => {
  const w = world();
  try {
    writeSkill(join(w.project, "team-skills"), "compose-plan");
    const cfg = { skills: { paths: ["../../team-skills"] } };
    const result = registerPackSkills(cfg, { directory: w.sub, worktree: w.project, env: w.env }, () => true, w.pack);
    assert.deepEqual(
      result.overridden.map((o) => o.name),
      ["compose-plan"],
    );
    mkdirSync(join(w.project, ".opencode", "skills"), { recursive: true });
    symlinkSync(join(w.pack, "skills", "compose-tdd"), join(w.project, ".opencode", "skills", "compose-tdd"));
    const again = registerPackSkills({}, { directory: w.sub, worktree: w.project, env: w.env }, () => true, w.pack);
    assert.ok(again.registered.includes("compose-tdd"), "an old install's link is the pack's own copy");
  } finally {
    w.cleanup();
  }
});

test("skills of a feature that is off are not offered; with nothing to add the config is untouched", () => {
  const w = world();
  try {
    const cfg: Record<string, unknown> = {};
    const result = registerPackSkills(
      cfg,
      { directory: w.sub, env: w.env },
      (name) => !name.startsWith("compose-"),
      w.pack,
    );
    assert.deepEqual(result.registered, ["continuum-memory"]);
    const none: Record<string, unknown> = {};
    registerPackSkills(none, { directory: w.sub, env: w.env }, () => false, w.pack);
    assert.deepEqual(none, {});
  } finally {
    w.cleanup();
  }
});

test("switched-off external skill dirs are no override; hostile skills.paths values are kept as they were", () => {
  const w = world();
  try {
    writeSkill(join(w.project, ".claude", "skills"), "compose-tdd");
    const off = registerPackSkills(
      {},
      { directory: w.project, env: { ...w.env, OPENCODE_DISABLE_EXTERNAL_SKILLS: "1" } },
      () => true,
      w.pack,
    );
    assert.ok(off.registered.includes("compose-tdd"));
    const cfg = { skills: { paths: [42, null, "x"] as unknown } };
    registerPackSkills(cfg, { directory: w.project, env: w.env }, () => true, w.pack);
    assert.deepEqual((cfg.skills.paths as unknown[]).slice(0, 3), [42, null, "x"]);
  } finally {
    w.cleanup();
  }
});
