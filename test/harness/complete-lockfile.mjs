#!/usr/bin/env node
// Completes package-lock.json with entries for other platforms' optional packages (opencode-darwin-*, …).
// The npm registry mirror of this workplace does not serve those packages, so a lock written here omits them,
// and `npm ci` then refuses the lock on every machine ("Missing: … from lock file"). An entry with version and
// os/cpu/libc is all npm needs: it skips it on other platforms and fetches it by version where it applies.
// Run after `npm install` changes the lock: `node test/harness/complete-lockfile.mjs [--check]`.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const LOCK = fileURLToPath(new URL("../../package-lock.json", import.meta.url));

function platformOf(name) {
  const base = name.split("/").pop();
  const os = base.includes("darwin") ? "darwin" : /windows|win32/.test(base) ? "win32" : "linux";
  const cpu = base.includes("arm64") ? "arm64" : /-arm($|-)/.test(base) ? "arm" : "x64";
  return { os: [os], cpu: [cpu], ...(base.includes("musl") ? { libc: ["musl"] } : {}) };
}

/** The optional dependencies a lock names but has no entry for. */
export function missingOptionalEntries(lock) {
  const missing = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
      if (!lock.packages[`node_modules/${dep}`]) missing.push({ dep, version, parentKey: key });
    }
  }
  return missing;
}

export function completeLock(lock) {
  for (const { dep, version, parentKey } of missingOptionalEntries(lock)) {
    const parent = lock.packages[parentKey];
    lock.packages[`node_modules/${dep}`] = {
      version,
      ...(parent.dev ? { dev: true } : {}),
      optional: true,
      ...platformOf(dep),
    };
  }
  const sorted = Object.entries(lock.packages).sort(([a], [b]) =>
    a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return { ...lock, packages: Object.fromEntries(sorted) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lock = JSON.parse(readFileSync(LOCK, "utf8"));
  const missing = missingOptionalEntries(lock);
  if (process.argv.includes("--check")) {
    if (missing.length)
      console.error(
        `package-lock.json lacks ${missing.length} optional entries; run: node test/harness/complete-lockfile.mjs`,
      );
    process.exit(missing.length ? 1 : 0);
  }
  writeFileSync(LOCK, JSON.stringify(completeLock(lock), null, 2) + "\n");
  console.log(missing.length ? `added ${missing.map((m) => m.dep).join(", ")}` : "package-lock.json already complete");
}
