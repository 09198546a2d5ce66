// services.checkpoint.latest: the session's checkpoint.md with when it was written; none, a folder or a symlink in
// its place (it could point anywhere, out of the project too) is undefined, never read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointService } from "../../plugins/checkpoint/service.ts";
import { renderCheckpoint, SECTIONS, type SectionKey } from "../../plugins/checkpoint/sections.ts";

test("latest() reads the session's checkpoint.md; missing, a folder or a symlink is undefined", () => {
  const root = mkdtempSync(join(tmpdir(), "checkpoint-service-"));
  try {
    const sessionDir = (id: string) => join(root, "sessions", id);
    const service = checkpointService(sessionDir);
    for (const id of ["ses_ok", "ses_dir", "ses_link"]) mkdirSync(sessionDir(id), { recursive: true });
    writeFileSync(join(sessionDir("ses_ok"), "checkpoint.md"), "# Checkpoint\n1. Goal: ship\n");
    mkdirSync(join(sessionDir("ses_dir"), "checkpoint.md"));
    writeFileSync(join(root, "secret.txt"), "outside the session");
    symlinkSync(join(root, "secret.txt"), join(sessionDir("ses_link"), "checkpoint.md"));

    const latest = service.latest("ses_ok");
    assert.deepEqual(latest, {
      text: "# Checkpoint\n1. Goal: ship\n",
      writtenAt: statSync(join(sessionDir("ses_ok"), "checkpoint.md")).mtimeMs,
    });
    assert.equal(service.latest("ses_none"), undefined);
    assert.equal(service.latest("ses_dir"), undefined);
    assert.equal(service.latest("ses_link"), undefined, "a symlinked checkpoint.md is not followed");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("sections() gives the rendered sections by key; (none), unknown headings and a missing file give nothing", () => {
  const root = mkdtempSync(join(tmpdir(), "checkpoint-service-"));
  try {
    const sessionDir = (id: string) => join(root, "sessions", id);
    const service = checkpointService(sessionDir);
    mkdirSync(sessionDir("ses_a"), { recursive: true });
    const sections = Object.fromEntries(SECTIONS.map((s) => [s.key, ""])) as Record<SectionKey, string>;
    sections.active_intent = 'Ship the parser.\n> "make it fast"';
    sections.directives = "- never touch vendor/";
    sections.decisions = "- SQLite over JSON files";
    const markdown = renderCheckpoint({ sessionId: "ses_a", seq: 1, writtenAt: "now", watermark: null }, sections);
    writeFileSync(join(sessionDir("ses_a"), "checkpoint.md"), `${markdown}\n## 99. Something a person added\n\nx\n`);

    const found = service.sections("ses_a");
    assert.ok(found);
    assert.deepEqual(found.sections, {
      active_intent: 'Ship the parser.\n> "make it fast"',
      directives: "- never touch vendor/",
      decisions: "- SQLite over JSON files",
    });
    assert.equal(service.sections("ses_none"), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
