// The plugin shim: the one small file written into the OpenCode config dir, importing the entry from this checkout
// (nothing is fetched at start-up), and the manifest entry that records it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACK_ROOT } from "../core/assets.ts";
import { PACK_VERSION } from "../core/version.ts";
import { excludeFromGit } from "./install-git-exclude.ts";
import {
  listNames,
  manifestPath,
  readManifest,
  sha256,
  writeManifest,
  type InstallTarget,
  type Manifest,
  type ManifestEntry,
} from "./install-manifest.ts";
import { removeLinks, type UninstallReport } from "./install-uninstall.ts";

export const SHIM_MARKER = "// installed by opencode-continuum";

/**
 * The plugin file OpenCode loads. It imports this checkout at start-up; when the checkout was moved, deleted or
 * broken, the import fails, and instead of OpenCode silently running without the pack the shim tells the user
 * (OpenCode's log and one toast) what happened and how to fix it.
 */
export function shimSource(packRoot = PACK_ROOT): string {
  const entry = join(packRoot, "plugins", "continuum.ts");
  return `${SHIM_MARKER} ${PACK_VERSION}; remove with: ${join(packRoot, "install.sh")} --uninstall
// Machine-local: it imports the pack from this machine's checkout, so it is kept out of git (.git/info/exclude).
const entry = ${JSON.stringify(entry)};
const server = async (input, options) => {
  try {
    const pack = await import(entry);
    return await pack.default.server(input, options);
  } catch (error) {
    const message = \`opencode-continuum is installed but could not load from \${entry}: \${error instanceof Error ? error.message : String(error)}. Memory, checkpoints, tasks and goals are off. Run install.sh again from the checkout you keep (or ${join(packRoot, "install.sh")} --uninstall).\`;
    // Never awaited: the client calls back into the OpenCode server that is still starting this plugin.
    const quietly = (call) => { try { Promise.resolve(call()).catch(() => {}); } catch {} };
    quietly(() => input.client.app.log({ body: { service: "opencode-continuum", level: "error", message } }));
    // The toast waits for the first session activity, so a TUI that connects after start-up still shows it, once.
    let told = false;
    return {
      event: async ({ event }) => {
        if (told || !/^(session|message|tui|command)\\\./.test(event.type)) return;
        told = true;
        quietly(() => input.client.tui.showToast({ body: { title: "continuum", message, variant: "error" } }));
      },
    };
  }
};
export default { id: "opencode-continuum", server };
`;
}

/** Writes the plugin shim; returns the manifest. Refuses to overwrite a file the pack did not write. */
export function installFiles(target: InstallTarget, log: (line: string) => void, env = process.env): Manifest {
  const previous = readManifest(target, env);
  const before = previous?.before ?? listNames(target.configDir);
  const created: ManifestEntry[] = previous?.created.filter((e) => e.kind === "dir") ?? [];
  const pluginsDir = join(target.configDir, "plugins");
  for (const dir of [target.configDir, pluginsDir]) {
    if (existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true });
    created.push({ path: dir, kind: "dir" });
    log(`created ${dir}/`);
  }
  const shimPath = join(pluginsDir, "continuum.ts");
  if (existsSync(shimPath) && !readFileSync(shimPath, "utf8").startsWith(SHIM_MARKER)) {
    throw new Error(`${shimPath} exists and was not written by opencode-continuum; move it away and run again`);
  }
  const source = shimSource();
  const unchanged = existsSync(shimPath) && readFileSync(shimPath, "utf8") === source;
  writeFileSync(shimPath, source);
  log(
    unchanged
      ? `kept ${shimPath} (already current)`
      : `wrote ${shimPath} → ${join(PACK_ROOT, "plugins", "continuum.ts")}`,
  );
  dropOldSkillLinks(previous, log);
  const manifest: Manifest = {
    pack: "opencode-continuum",
    version: PACK_VERSION,
    packRoot: PACK_ROOT,
    target,
    installedAt: new Date().toISOString(),
    created: [...created.filter((e) => e.path !== shimPath), { path: shimPath, kind: "file", sha256: sha256(source) }],
    hostByproducts: previous?.hostByproducts ?? [],
    before,
    gitExclude: previous?.gitExclude,
  };
  if (target.projectDir) manifest.gitExclude = excludeFromGit(target.projectDir, manifest, log) ?? manifest.gitExclude;
  writeManifest(target, manifest, env);
  log(`recorded what was added in ${manifestPath(target, env)}`);
  return manifest;
}

/**
 * The pack's skills are not linked into the config dir: the plugin offers them itself (skills.paths, see
 * core/skills.ts), so a user's skill of the same name anywhere always wins. Links an earlier install made are
 * removed here (if still the pack's), so they no longer compete with a user's override.
 */
function dropOldSkillLinks(previous: Manifest | undefined, log: (line: string) => void): void {
  const links = previous?.created.filter((e) => e.kind === "link") ?? [];
  if (links.length === 0) return;
  const report: UninstallReport = { removed: [], kept: [] };
  removeLinks(links, report, log);
  if (report.removed.length)
    log(
      `the pack's skills are now offered by the plugin itself: removed ${report.removed.length} skill link(s) of an earlier install`,
    );
}
