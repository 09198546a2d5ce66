// services.checkpoint.latest: the session's checkpoint.md with when it was written; none, a folder or a symlink in
// its place (it could point anywhere, out of the project too) is undefined, never read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointService } from "../../plugins/checkpoint/service.ts";

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
