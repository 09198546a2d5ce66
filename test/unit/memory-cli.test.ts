// `continuum memory …` under Node (better-sqlite3): the same memory outside OpenCode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capture, withIsolatedDirs } from "./helpers/cli.ts";

test("memory list/search/show/forget/path/reindex/status work on hand-written files", async () => {
  const root = mkdtempSync(join(tmpdir(), "continuum-cli-"));
  const saved = { data: process.env.XDG_DATA_HOME, config: process.env.XDG_CONFIG_HOME };
  process.env.XDG_DATA_HOME = join(root, "data");
  process.env.XDG_CONFIG_HOME = join(root, "config");
  try {
    const project = join(root, "proj");
    mkdirSync(project);
    const git = (...a: string[]) =>
      execFileSync("git", a, {
        cwd: project,
        encoding: "utf8",
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@t",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@t",
        },
      }).trim();
    git("init", "-q");
    git("commit", "-q", "--allow-empty", "-m", "init");
    const file = join(
      root,
      "data",
      "opencode-continuum",
      "projects",
      git("rev-list", "--max-parents=0", "HEAD"),
      "memory",
      "MEMORY.md",
    );
    const path = await capture(["memory", "path", "--project", project]);
    assert.equal(path.code, 0);
    assert.ok(path.out.includes(file));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(
      file,
      "# Project memory\n\n## Rules\n\n- Ship with feature flags <!-- id:m-flags001 · 2026-11-20 · ses_a -->\n- Review every migration\n",
    );
    const list = await capture(["memory", "list", "--project", project]);
    assert.match(list.out, /\[m-flags001\] Rules · Ship with feature flags \(2026-11-20\)/);
    const search = await capture(["memory", "search", "migration", "--project", project]);
    assert.equal(search.code, 0);
    assert.match(search.out, /Review every migration/);
    const miss = await capture(["memory", "search", "kubernetes", "--project", project]);
    assert.equal(miss.code, 1);
    assert.match(miss.out, /To widen the search/);
    const show = await capture(["memory", "show", "m-flags001", "--project", project]);
    assert.match(show.out, /MEMORY\.md:5-5 · Project memory > Rules · 2026-11-20 · ses_a/);
    const status = await capture(["memory", "status", "--project", project]);
    assert.match(status.out, /A new session would get: 2 entries, \d+ of 4000 tokens/);
    const forget = await capture(["memory", "forget", "m-flags001", "--project", project]);
    assert.equal(forget.code, 0);
    assert.ok(!readFileSync(file, "utf8").includes("feature flags"));
    const unknown = await capture(["memory", "forget", "m-flags001", "--project", project]);
    assert.equal(unknown.code, 1, "an id that does not exist is an error naming it (exit 1), not a usage error");
    assert.match(
      unknown.err,
      /continuum memory forget: no memory entry with id "m-flags001" \(continuum memory list shows the ids\)/,
    );
    const reindex = await capture(["memory", "reindex", "--project", project]);
    assert.match(reindex.out, /reindexed 1 files/);
  } finally {
    for (const [key, value] of [
      ["XDG_DATA_HOME", saved.data],
      ["XDG_CONFIG_HOME", saved.config],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(root, { recursive: true, force: true });
  }
});

test("options in another order: a group's shared option works before or after the subcommand, the last one wins", async () => {
  await withIsolatedDirs(async (root) => {
    const projects = ["one", "two"].map((name) => {
      const dir = join(root, name);
      mkdirSync(dir);
      const git = (...a: string[]) =>
        execFileSync("git", a, {
          cwd: dir,
          encoding: "utf8",
          env: {
            ...process.env,
            GIT_AUTHOR_NAME: "t",
            GIT_AUTHOR_EMAIL: "t@t",
            GIT_COMMITTER_NAME: "t",
            GIT_COMMITTER_EMAIL: "t@t",
          },
        });
      git("init", "-q");
      git("commit", "-q", "--allow-empty", "-m", name);
      return dir;
    });
    const after = await capture(["memory", "list", "--project", projects[0]!, "--json"]);
    const before = await capture(["memory", "--project", projects[0]!, "list", "--json"]);
    assert.equal(before.code, 0, before.err);
    assert.equal(before.out, after.out);
    const pathOf = async (args: string[]) => /project memory: (\S+)/.exec((await capture(args)).out)?.[1];
    const second = await pathOf(["memory", "path", "--project", projects[1]!]);
    assert.notEqual(second, await pathOf(["memory", "path", "--project", projects[0]!]));
    assert.equal(
      await pathOf(["memory", "--project", projects[0]!, "path", "--project", projects[1]!]),
      second,
      "the later --project wins",
    );
    const missing = await capture(["goal", "--project", join(root, "nowhere"), "list"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /continuum goal list: --project .*nowhere: no such directory/);
    const unshared = await capture(["memory", "--scope", "project", "search", "x"]);
    assert.equal(unshared.code, 2, "an option only one subcommand takes stays with it");
  });
});

test("duplicate entry ids: memory list reports them, each entry stays addressable (the copy as <id>~2), and status says what it ranked for", async () => {
  const root = mkdtempSync(join(tmpdir(), "continuum-cli-"));
  const saved = { data: process.env.XDG_DATA_HOME, config: process.env.XDG_CONFIG_HOME };
  process.env.XDG_DATA_HOME = join(root, "data");
  process.env.XDG_CONFIG_HOME = join(root, "config");
  try {
    const project = join(root, "proj");
    mkdirSync(join(project, ".opencode"), { recursive: true });
    // A budget that holds the block's explanation and about one entry: which entry fits depends on the ranking.
    writeFileSync(
      join(project, ".opencode", "continuum.jsonc"),
      '{ "memory": { "location": "repo", "injectBudgetTokens": 192 } }',
    );
    const file = join(project, ".opencode", "memory", "MEMORY.md");
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(
      file,
      [
        "# Project memory",
        "",
        "## Rules",
        "",
        "- Ship with feature flags <!-- id:m-dup00001 · 2026-11-20 · ses_a -->",
        "- Deploy kubernetes clusters with helm charts only <!-- id:m-dup00001 · 2026-11-21 · ses_b -->",
        "- Postgres migrations run in a transaction <!-- id:m-pg000001 · 2026-11-22 · ses_c -->",
        "",
      ].join("\n"),
    );
    const list = await capture(["memory", "list", "--project", project]);
    assert.match(list.out, /\[m-dup00001\] Rules · Ship with feature flags/);
    assert.match(list.out, /\[m-dup00001~2\] Rules · Deploy kubernetes clusters/);
    assert.match(
      list.out,
      /duplicate id m-dup00001 in .*MEMORY\.md: line 5 is \[m-dup00001\], line 6 is \[m-dup00001~2\]/,
    );
    const json = JSON.parse((await capture(["memory", "list", "--json", "--project", project])).out) as {
      duplicates: { id: string }[];
    };
    assert.deepEqual(
      json.duplicates.map((d) => d.id),
      ["m-dup00001"],
    );
    const show = await capture(["memory", "show", "m-dup00001~2", "--project", project]);
    assert.match(show.out, /Deploy kubernetes clusters/);
    const status = await capture(["memory", "status", "--project", project]);
    assert.match(status.out, /Ranked with no first message: a session ranks by its first message/);
    const unranked = JSON.parse((await capture(["memory", "status", "--json", "--project", project])).out) as {
      rankedFor: string;
      block: { entries: { id: string }[] };
    };
    assert.equal(unranked.rankedFor, "");
    assert.ok(
      !unranked.block.entries.some((e) => e.id === "m-dup00001~2"),
      "with no first message the newest entry wins the one place",
    );
    const ranked = JSON.parse(
      (
        await capture([
          "memory",
          "status",
          "--json",
          "--first-message",
          "how do we deploy kubernetes with helm",
          "--project",
          project,
        ])
      ).out,
    ) as { rankedFor: string; block: { entries: { id: string }[] } };
    assert.equal(ranked.rankedFor, "how do we deploy kubernetes with helm");
    assert.ok(
      ranked.block.entries.some((e) => e.id === "m-dup00001~2"),
      JSON.stringify(ranked.block.entries.map((e) => e.id)),
    );
    const forget = await capture(["memory", "forget", "m-dup00001~2", "--project", project]);
    assert.equal(forget.code, 0, forget.err);
    const after = readFileSync(file, "utf8");
    assert.ok(after.includes("Ship with feature flags") && !after.includes("kubernetes"), "only the copy went");
  } finally {
    for (const [key, value] of [
      ["XDG_DATA_HOME", saved.data],
      ["XDG_CONFIG_HOME", saved.config],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(root, { recursive: true, force: true });
  }
});
