// The docs are a promise a newcomer acts on: every link and #anchor must lead somewhere, every command the README's
// first run quotes must be one the real CLI (or the pack's slash commands) knows, and every path the installer prints
// must be documented. Links and commands are read from the markdown itself, so a rename shows up here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../harness/env.ts";
import { capture } from "./helpers/cli.ts";

const run = promisify(execFile);
const CLI = join(REPO_ROOT, "plugins", "cli", "continuum.mjs");
const FIRST_RUN = "Your first five minutes";

/** README.md, CHANGELOG.md and docs/**\/*.md, except docs/_incoming/ (drafts the lead merges). */
function docFiles(): string[] {
  const files = ["README.md", "CHANGELOG.md"].map((f) => join(REPO_ROOT, f));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== "_incoming") walk(path);
      } else if (name.endsWith(".md")) files.push(path);
    }
  };
  if (existsSync(join(REPO_ROOT, "docs"))) walk(join(REPO_ROOT, "docs"));
  return files;
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function prose(text: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fenced = false;
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchor: the rendered text, lower-cased, punctuation dropped, each space a hyphen. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase();
  return rendered.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(/ /g, "-");
}

/** Every anchor a page offers; a repeated heading gets -1, -2, … as on GitHub. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Inline links and images of the prose, inline code removed first (a `[x](y)` inside backticks is no link). */
function links(text: string): { target: string; n: number }[] {
  const out: { target: string; n: number }[] = [];
  for (const { line, n } of prose(text)) {
    const bare = line.replace(/`[^`]*`/g, "``");
    for (const m of bare.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1]!, n });
  }
  return out;
}

test("docs: slugs follow GitHub's rules", () => {
  assert.equal(
    slug("Goal: `/goal <condition>` with an independent judge"),
    "goal-goal-condition-with-an-independent-judge",
  );
  assert.equal(slug("Headless: `continuum run --goal`"), "headless-continuum-run---goal");
  assert.equal(slug("Backups and `continuum restore`"), "backups-and-continuum-restore");
  assert.equal(
    slug("Configuration (`continuum.jsonc`, section `memory`)"),
    "configuration-continuumjsonc-section-memory",
  );
  assert.deepEqual([...anchors("# A\n## A\n```\n# not a heading\n```\n### A")], ["a", "a-1", "a-2"]);
  const found = links("[a](x.md#y) `[b](code.md)`\n```\n[c](fenced.md)\n```\n![d](img.png)").map((l) => l.target);
  assert.deepEqual(found, ["x.md#y", "img.png"]);
});

test("docs: every relative link and #anchor in README.md, CHANGELOG.md and docs/ resolves", () => {
  const files = docFiles();
  assert.ok(files.length >= 10, `expected the docs pages, found ${files.length} files`);
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    if (!cache.has(file)) cache.set(file, anchors(readFileSync(file, "utf8")));
    return cache.get(file)!;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { target, n } of links(readFileSync(file, "utf8"))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — outside the repository
      checked++;
      const [path, anchor] = target.split("#", 2) as [string, string | undefined];
      const where = `${relative(REPO_ROOT, file)}:${n} → ${target}`;
      const dest = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
      if (!dest.startsWith(REPO_ROOT + sep) && dest !== REPO_ROOT) broken.push(`${where}: leaves the repository`);
      else if (!existsSync(dest)) broken.push(`${where}: no such file`);
      else if (anchor !== undefined) {
        if (!dest.endsWith(".md")) broken.push(`${where}: an anchor into a file that is not markdown`);
        else if (!anchorsOf(dest).has(anchor)) broken.push(`${where}: no heading with that anchor`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} links checked: is the link reader broken?`);
  assert.deepEqual(broken, []);
});

test("docs: README.md stays under 250 lines and links every feature page and reference", () => {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  assert.ok(readme.split("\n").length < 250, `README.md has ${readme.split("\n").length} lines`);
  const targets = new Set(links(readme).map((l) => l.target.split("#")[0]));
  for (const page of [
    "memory",
    "checkpoints",
    "tasks",
    "goal",
    "max",
    "dream",
    "workflows",
    "compose",
    "agents",
    "safety",
    "reference/configuration",
    "reference/cli",
    "reference/data",
    "reference/benchmarks",
  ])
    assert.ok(targets.has(`docs/${page}.md`), `README.md links docs/${page}.md`);
});

test("docs: CHANGELOG.md has semantic versions, newest first, and the package's version among them", () => {
  const changelog = readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8");
  const versions = [...changelog.matchAll(/^## (\S+)/gm)].map((m) => m[1]!);
  assert.ok(versions.length >= 2, `versions: ${versions.join(", ")}`);
  for (const v of versions) assert.match(v, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, `"${v}" is a semantic version`);
  const key = (v: string) => v.split(/[.-]/).slice(0, 3).map(Number);
  const sorted = [...versions].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return y[0]! - x[0]! || y[1]! - x[1]! || y[2]! - x[2]!;
  });
  assert.deepEqual(versions, sorted, "newest first");
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version as string;
  assert.ok(versions.includes(pkg), `CHANGELOG.md has an entry for the package's version ${pkg}`);
});

test("docs: every key of continuum.jsonc is documented, on the page the configuration reference names for its section", () => {
  const schema = JSON.parse(readFileSync(join(REPO_ROOT, "plugins", "core", "continuum.schema.json"), "utf8")) as {
    properties: Record<string, { properties?: Record<string, unknown> }>;
  };
  const reference = readFileSync(join(REPO_ROOT, "docs", "reference", "configuration.md"), "utf8");
  const all = docFiles()
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  const pageOf = new Map<string, string>();
  for (const m of reference.matchAll(/^\| ((?:`\w+`,? ?)+) \| \[[^\]]*\]\(\.\.\/([^)#]+)/gm))
    for (const section of m[1]!.matchAll(/`(\w+)`/g)) pageOf.set(section[1]!, join(REPO_ROOT, "docs", m[2]!));
  const missing: string[] = [];
  for (const [section, value] of Object.entries(schema.properties)) {
    if (section === "$schema") continue;
    if (!value.properties) {
      if (!reference.includes(`\`${section}\``)) missing.push(section);
      continue;
    }
    const page = pageOf.has(section) ? readFileSync(pageOf.get(section)!, "utf8") : "";
    for (const key of Object.keys(value.properties)) {
      const full = `${section}.${key}`;
      // `<feature>.enabled` is one row of the reference for every section.
      if (key === "enabled" || all.includes(`\`${full}\``) || all.includes(`\`${full},`) || page.includes(`\`${key}\``))
        continue;
      missing.push(full);
    }
  }
  assert.deepEqual(missing, [], "keys with no documentation: add them to their feature's page (or the reference)");
});

/** The README's first-run section: from its heading to the next heading of the same level. */
function firstRunSection(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${FIRST_RUN}\n`);
  assert.ok(start >= 0, `README.md has a "## ${FIRST_RUN}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Shell words, quotes undone (enough for the commands a README quotes). */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Commands the section quotes: each line of its shell blocks, and inline code that starts like a command. */
function quotedCommands(section: string, inline = true): { shell: string[][]; slash: string[] } {
  const shell: string[][] = [];
  const slash: string[] = [];
  let block: string | undefined;
  for (const line of section.split("\n")) {
    const fence = /^\s*```(\w*)/.exec(line);
    if (fence) {
      block = block === undefined ? fence[1] : undefined;
      continue;
    }
    if (block !== undefined) {
      // Optional parts in [brackets] are quoted as options; `a && b` is two commands.
      const command = line
        .replace(/(^|\s)#.*$/, "")
        .replace(/[[\]]/g, "")
        .trim();
      if (!command || !/^(sh|bash|shell|console|)$/.test(block)) continue;
      for (const part of command.split("&&")) if (part.trim()) shell.push(words(part.trim()));
      continue;
    }
    if (!inline) continue;
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      const code = m[1]!.trim();
      if (/^\/[a-z]/.test(code)) slash.push(code);
      else if (/^(continuum|npx|\.\/install\.sh|npm)\s/.test(code) || code === "continuum") shell.push(words(code));
    }
  }
  return { shell, slash };
}

const helpCache = new Map<string, Promise<string>>();
type Captured = Awaited<ReturnType<typeof capture>>;
let helpQueue: Promise<Captured | undefined> = Promise.resolve(undefined);
/** The CLI's own --help for a command path: its real parser, run in-process (a spawned tsx start per path is slow). */
function help(path: string[]): Promise<string> {
  const key = path.join(" ");
  if (!helpCache.has(key))
    helpCache.set(
      key,
      // capture() swaps console.log for the call, so calls run one at a time.
      (helpQueue = helpQueue.then(() => capture([...path, "--help"]))).then((captured) => {
        const r = captured!;
        assert.equal(r.code, 0, `continuum ${key} --help exits 0`);
        return r.out;
      }),
    );
  return helpCache.get(key)!;
}

function subcommands(helpText: string): string[] {
  const section = helpText.split(/\nCommands:\n/)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!);
}

/** Walks `continuum a b --opt` down the CLI's own help: each word a listed subcommand, each option a listed one. */
async function checkContinuum(args: string[]): Promise<string[]> {
  const problems: string[] = [];
  const path: string[] = [];
  const texts = [await help(path)];
  let leaf = false;
  let skipValue = false;
  for (const word of args) {
    if (skipValue) {
      skipValue = false;
      continue;
    }
    if (word.startsWith("-")) {
      const name = word.split("=")[0]!;
      // Where it is defined: an option line of the deepest help that lists it (`  -p, --project <dir>  …`).
      const definition = new RegExp(`^ +(?:-\\w, )?${name}(?=[ ,]|$)(.*)$`, "m");
      const listed = [...texts].reverse().find((t) => definition.test(t));
      if (!listed)
        problems.push(`continuum ${args.join(" ")}: ${name} is not in the --help of continuum ${path.join(" ")}`);
      // An option listed as `--project <dir>` takes the next word as its value.
      else skipValue = !word.includes("=") && /^ [<[]/.test(definition.exec(listed)![1]!);
      continue;
    }
    if (leaf) continue;
    const text = texts.at(-1)!;
    if (!subcommands(text).includes(word)) {
      // A word that is no subcommand is an argument where the usage line takes one (a search word, a focus).
      const takesArguments = /^Usage: .*?(<[^>]+>|\[(?!options\]|command\])[^\]]+\])/m.test(text);
      if (!takesArguments)
        problems.push(`continuum ${args.join(" ")}: "${word}" is not a command of continuum ${path.join(" ")}`);
      leaf = true;
      continue;
    }
    path.push(word);
    texts.push(await help(path));
  }
  return problems;
}

/** Any quoted shell command: the CLI in any of its spellings, or a command whose existence is checked another way. */
async function checkShell(command: string[]): Promise<string[]> {
  const [first, ...rest] = command;
  if (first === "continuum") return checkContinuum(rest);
  if (first === "npx" && rest[0] === "opencode-continuum") return checkContinuum(rest.slice(1));
  if (first === "./install.sh") {
    const uninstall = rest.includes("--uninstall");
    return checkContinuum([uninstall ? "uninstall" : "install", ...rest.filter((w) => w !== "--uninstall")]);
  }
  if (first === "npm") {
    const scripts = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    const script = rest[0] === "run" ? rest[1] : rest[0];
    if (rest[0] === "ci" || (script && scripts[script])) return [];
    return [`npm ${rest.join(" ")}: no such script in package.json`];
  }
  if (first === "opencode" || first === "cd" || first === "git") return [];
  return [`${command.join(" ")}: not a command the docs test knows how to check`];
}

test("docs: every command in the README's first run is one the CLI or the pack knows", async () => {
  const { shell, slash } = quotedCommands(firstRunSection());
  assert.ok(shell.length >= 3, `the first run quotes ${shell.length} shell commands`);
  for (const feature of ["/memory", "/goal", "/max", "/dream"])
    assert.ok(
      slash.some((s) => s.split(/\s/)[0] === feature),
      `the first run exercises ${feature}`,
    );
  const shipped = new Set(
    readdirSync(join(REPO_ROOT, "plugins"), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, "plugins", d.name, "commands")))
      .flatMap((d) => readdirSync(join(REPO_ROOT, "plugins", d.name, "commands")))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `/${f.slice(0, -3)}`),
  );
  const problems = slash
    .map((s) => s.split(/\s/)[0]!)
    .filter((name) => !shipped.has(name))
    .map((name) => `${name}: no plugins/<feature>/commands/${name.slice(1)}.md`);
  for (const problem of await Promise.all(shell.map(checkShell))) problems.push(...problem);
  assert.deepEqual(problems, []);
});

test("docs: every shell command in the README's code blocks is one the CLI knows", async () => {
  const { shell } = quotedCommands(readFileSync(join(REPO_ROOT, "README.md"), "utf8"), false);
  assert.ok(shell.length >= 8, `the README quotes ${shell.length} shell commands`);
  const problems = (await Promise.all(shell.map(checkShell))).flat();
  assert.deepEqual(problems, []);
});

test("docs: the command checker refuses what the CLI does not know", async () => {
  assert.deepEqual(await checkContinuum(["memory", "list"]), []);
  assert.deepEqual(await checkContinuum(["memory", "search", "pnpm"]), []);
  assert.equal((await checkContinuum(["memroy", "list"])).length, 1);
  assert.equal((await checkContinuum(["memory", "lsit"])).length, 1);
  assert.equal((await checkContinuum(["stats", "--bogus"])).length, 1);
  assert.deepEqual(await checkContinuum(["install", "--project", "DIR", "--no-doctor"]), []);
  assert.equal((await checkContinuum(["memory", "--project", "x", "lsit"])).length, 1);
  assert.equal((await checkShell(["rm", "-rf", "x"])).length, 1);
});

/** Absolute paths the installer printed, each named the way the docs name it (relative to the root it lies under). */
function documentedNames(output: string, roots: { dir: string; name: string }[]): string[] {
  const byLength = [...roots].sort((a, b) => b.dir.length - a.dir.length);
  const names = new Set<string>();
  for (const m of output.matchAll(/\/[^\s()'"`]+/g)) {
    const path = m[0].replace(/[.,:;]+$/, "");
    const root = byLength.find((r) => path === r.dir || path.startsWith(r.dir + "/"));
    if (!root) continue;
    let rel = path.slice(root.dir.length + 1);
    // A generated file name (a hash) is documented by its folder.
    rel = rel.replace(/[^/]*[0-9a-f]{8,}[^/]*$/, "");
    names.add(rel === "" ? root.name : `${root.name === "~" ? "~/" : ""}${rel}`);
  }
  return [...names];
}

test("docs: every path the install and uninstall output names is documented, and no skill links are mentioned", async () => {
  const docs = docFiles()
    .map((f) => readFileSync(f, "utf8"))
    .join("\n");
  const root = realpathSync(mkdtempSync(join(tmpdir(), "continuum-docs-")));
  try {
    const home = join(root, "home");
    const project = join(root, "project");
    mkdirSync(home, { recursive: true });
    mkdirSync(project, { recursive: true });
    await run("git", ["init", "-q"], { cwd: project });
    const env = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_DATA_HOME: join(home, ".local", "share"),
      PATH: "/usr/bin:/bin",
    };
    const cli = async (...args: string[]) =>
      (await run(process.execPath, [CLI, ...args], { cwd: project, env, encoding: "utf8" })).stdout;
    // The project and the global install are separate targets: their round trips run side by side.
    const outputs = await Promise.all([
      (async () =>
        (await cli("install", "--project", project, "--no-doctor")) + (await cli("uninstall", "--project", project)))(),
      (async () => (await cli("install", "--no-doctor")) + (await cli("uninstall")))(),
    ]);
    const output = outputs.join("");
    assert.doesNotMatch(output, /skill link/i, "a fresh install links no skills, so it must not say it does");
    const names = documentedNames(output, [
      { dir: REPO_ROOT, name: "<checkout>" },
      { dir: home, name: "~" },
      { dir: join(home, ".config", "opencode"), name: "~/.config/opencode/" },
      { dir: join(home, ".local", "share", "opencode-continuum"), name: "opencode-continuum/" },
      { dir: project, name: "<project>" },
      { dir: join(project, ".opencode"), name: ".opencode/" },
    ]);
    assert.ok(names.length >= 6, `the install output names paths: ${names.join(", ")}`);
    const missing = names.filter((name) => !docs.includes(name));
    assert.deepEqual(missing, [], `paths the install output names but no doc does:\n${output}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
