// Installs made before the pack offered its skills itself linked them into the config dir; the next install removes
// those links (they would compete with a user's override), keeps a link or folder the user put there instead, and
// uninstall then removes exactly what is left of the pack's.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACK_ROOT } from "../../plugins/core/assets.ts";
import {
  installFiles,
  manifestPath,
  readManifest,
  uninstallFiles,
  type InstallTarget,
} from "../../plugins/cli/install.ts";

test("re-install removes an earlier install's skill links, keeps the user's own skill, and uninstall leaves the user's alone", () => {
  const root = mkdtempSync(join(tmpdir(), "compose-links-"));
  try {
    const env = { HOME: join(root, "home"), XDG_DATA_HOME: join(root, "data"), XDG_CONFIG_HOME: join(root, "config") };
    const configDir = join(root, "config", "opencode");
    const target: InstallTarget = { scope: "global", configDir };
    const lines: string[] = [];
    installFiles(target, (l) => lines.push(l), env);
    assert.ok(!existsSync(join(configDir, "skills")), "a fresh install links no skills");

    // What an earlier version left: a skills dir it created, a link it made, and a link the user has since replaced.
    const skills = join(configDir, "skills");
    mkdirSync(skills);
    symlinkSync(join(PACK_ROOT, "skills", "continuum-memory"), join(skills, "continuum-memory"));
    mkdirSync(join(skills, "compose-tdd"));
    writeFileSync(join(skills, "compose-tdd", "SKILL.md"), "---\nname: compose-tdd\ndescription: mine\n---\n");
    const manifest = readManifest(target, env)!;
    manifest.created.push({ path: skills, kind: "dir" });
    manifest.created.push({
      path: join(skills, "continuum-memory"),
      kind: "link",
      target: join(PACK_ROOT, "skills", "continuum-memory"),
    });
    manifest.created.push({
      path: join(skills, "compose-tdd"),
      kind: "link",
      target: join(PACK_ROOT, "skills", "compose-tdd"),
    });
    writeFileSync(manifestPath(target, env), JSON.stringify(manifest));

    lines.length = 0;
    installFiles(target, (l) => lines.push(l), env);
    assert.ok(!existsSync(join(skills, "continuum-memory")), "the pack's old link is gone");
    assert.ok(lstatSync(join(skills, "compose-tdd")).isDirectory(), "the user's own skill stays");
    assert.ok(
      lines.some((l) => /removed 1 skill link\(s\) of an earlier install/.test(l)),
      lines.join("\n"),
    );
    assert.ok(!readManifest(target, env)!.created.some((e) => e.kind === "link"), "no link recorded any more");

    const report = uninstallFiles(target, () => {}, env);
    assert.equal(readFileSync(join(skills, "compose-tdd", "SKILL.md"), "utf8").includes("mine"), true);
    assert.ok(report.kept.includes(skills), "the skills dir holding the user's skill is kept");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
