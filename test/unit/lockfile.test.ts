// `npm ci` (the first step of CI and of the README's install) refuses a lock without entries for every optional
// platform package; this workplace's registry mirror omits some, so a lock written here must be completed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/env.ts";
// @ts-expect-error: a plain .mjs helper without type declarations
import { missingOptionalEntries } from "../harness/complete-lockfile.mjs";

test("package-lock.json has an entry for every optional platform package (run test/harness/complete-lockfile.mjs)", () => {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8"));
  assert.deepEqual(
    (missingOptionalEntries(lock) as { dep: string }[]).map((m) => m.dep),
    [],
  );
});
