// A hand-damaged record of the last dream or distill: /dream status and /distill status answer as if none ran (the
// file is moved aside, nothing lost, and the log says so) instead of failing inside the command.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withFakeHost } from "../harness/fake-host.ts";

test("/dream status and /distill status over a hand-damaged last.json: a clear answer, the file kept aside", async () => {
  await withFakeHost({}, async (host) => {
    const session = await host.createSession();
    const root = host.context.projectPaths.root;
    for (const kind of ["dream", "distill"]) {
      const dir = join(root, kind);
      mkdirSync(dir, { recursive: true });
      for (const bad of [
        '{"status":"done","message":5,"mined":"x"}',
        "[1,2]",
        '{"status":"running","pid":"abc"}',
        "{not json",
      ]) {
        writeFileSync(join(dir, "last.json"), bad);
        host.logs.length = 0;
        await host.command(session, kind, "status");
        assert.match(host.reports.at(-1)!, new RegExp(`No ${kind} has run in this project yet`), `${kind} over ${bad}`);
        assert.ok(
          host.logs.some((l) => /last\.json was unreadable .* moved to .*damaged-/.test(l.message)),
          `${kind}: the log says where it went`,
        );
        assert.ok(
          !host.logs.some((l) => /execute\.before failed/.test(l.message)),
          `${kind}: no failure inside the command: ${JSON.stringify(host.logs)}`,
        );
      }
      assert.equal(readdirSync(dir).filter((n) => n.startsWith("last.json.damaged-")).length >= 1, true, "kept aside");
    }
  });
});
