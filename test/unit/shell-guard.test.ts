// The git guard's parser side: every committed bypass is caught as destructive, safe commands pass, writes and
// run-time commands are told apart, generated variants (global options, wrappers, compound positions, quoting) are
// all caught, and the decision asks (compose, max) or refuses (hidden helpers) with the command named.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parse } from "unbash";
import { CONFIRM_MARKER, guardPolicy, guardShell, inspectShell } from "../../plugins/core/shell-guard.ts";
import { BYPASSES, DYNAMIC_CASES, SAFE, WRITES } from "./fixtures/git-guard-cases.ts";

const risks = (command: string) => inspectShell(command).map((f) => f.risk);

test("every committed bypass is caught as destructive", () => {
  const missed = BYPASSES.filter((command) => !risks(command).includes("destructive"));
  assert.deepEqual(missed, [], "these ran unasked");
  assert.ok(BYPASSES.length >= 150, `the list keeps growing, never shrinking (${BYPASSES.length})`);
});

test("safe commands are left alone: nothing found in them", () => {
  const flagged = SAFE.map((command) => [command, inspectShell(command)] as const).filter(
    ([, findings]) => findings.length > 0,
  );
  assert.deepEqual(flagged, []);
});

test("commands that write the repository's shared state are writes, not destructive", () => {
  for (const command of WRITES) assert.deepEqual(risks(command), ["writes"], command);
});

test("a program or subcommand only known at run time, an unknown subcommand or option, and a parse error are dynamic", () => {
  for (const command of DYNAMIC_CASES) {
    const found = risks(command);
    assert.ok(found.includes("dynamic") && !found.includes("destructive"), `${command}: ${JSON.stringify(found)}`);
  }
});

test("a command too deeply nested to parse or walk is dynamic, never safe", () => {
  for (const source of [
    "$(".repeat(3000) + "git status" + ")".repeat(3000),
    "(".repeat(5000) + "ls" + ")".repeat(5000),
  ]) {
    const found = risks(source);
    assert.ok(found.length > 0 && found.every((r) => r === "dynamic"), JSON.stringify(found));
  }
});

test("the finding names the command as git sees it and why", () => {
  assert.deepEqual(inspectShell("cd x && env -i A=1 git --no-pager -C . reset --hard"), [
    { risk: "destructive", command: "git --no-pager -C . reset --hard", reason: "discards uncommitted changes" },
  ]);
  assert.deepEqual(inspectShell('for f in a; do git checkout -- "$f"; done')[0]!.command, "git checkout -- …");
  assert.equal(inspectShell("git stash; git stash").length, 1, "one finding per distinct command");
});

// ---- generated variants ----
const DESTRUCTIVE = [
  "reset --hard",
  "reset --merge HEAD~1",
  "stash",
  "stash pop",
  "stash drop",
  "clean -fdx",
  "clean --force",
  "checkout -- a.txt",
  "checkout .",
  "restore a.txt",
  "branch -D x",
  "push --force",
  "push origin +main",
  "rebase main",
  "tag -d t",
  "commit --amend",
  "update-ref -d refs/heads/x",
  "worktree remove w",
  "reflog expire --all",
  "gc --prune=now",
  "switch -f main",
  "rm a.txt",
];
const GLOBALS = [
  "-C .",
  "-C /tmp/x",
  "-c core.quotepath=off",
  "-c user.name=x",
  "--git-dir=.git",
  "--git-dir .git",
  "--work-tree=.",
  "--work-tree .",
  "--no-pager",
  "-P",
  "-p",
  "--paginate",
  "--namespace=n",
  "--namespace n",
  "--bare",
  "--literal-pathspecs",
  "--no-optional-locks",
  "--glob-pathspecs",
  "--no-replace-objects",
  "--exec-path",
];
const WRAPPERS = [
  "",
  "env ",
  "env -i ",
  "env FOO=1 ",
  "env -u X A=b ",
  "command ",
  "exec ",
  "nohup ",
  "time ",
  "nice ",
  "nice -n 5 ",
  "timeout 5 ",
  "timeout -s TERM 9 ",
  "sudo ",
  "sudo -u x ",
  "sudo -E -- ",
  "xargs ",
  "xargs -n1 ",
  "stdbuf -oL ",
  "setsid ",
  "/usr/bin/env ",
];
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
const POSITIONS: ((c: string) => string)[] = [
  (c) => c,
  (c) => `cd sub && ${c}`,
  (c) => `${c}; echo done`,
  (c) => `echo a\n${c}`,
  (c) => `(${c})`,
  (c) => `{ ${c}; }`,
  (c) => `echo $(${c})`,
  (c) => `echo "\`${c}\`"`,
  (c) => `true || ${c}`,
  (c) => `ls | ${c}`,
  (c) => `${c} &`,
  (c) => `f() { ${c}; }; f`,
  (c) => `if true; then ${c}; fi`,
  (c) => `for i in 1; do ${c}; done`,
  (c) => `while false; do ${c}; done`,
  (c) => `case a in a) ${c};; esac`,
  (c) => `bash -c ${quote(c)}`,
  (c) => `sh -c ${quote(c)}`,
  (c) => `eval ${quote(c)}`,
  (c) => `bash <<'EOF'\n${c}\nEOF`,
  (c) => `x=$(${c})`,
  (c) => `cat <(${c})`,
];
const spellGit = fc.constantFrom("git", '"git"', "'git'", "/usr/bin/git", "\\git", "g\\it");
const space = fc.constantFrom(" ", "  ", "\t");

test("property: any global options, wrapper, compound position and spelling of a destructive git command is caught", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...DESTRUCTIVE),
      fc.array(fc.constantFrom(...GLOBALS), { maxLength: 4 }),
      fc.constantFrom(...WRAPPERS),
      fc.constantFrom(...POSITIONS),
      spellGit,
      space,
      fc.boolean(),
      (core, globals, wrapper, position, git, gap, quoteSub) => {
        const [sub, ...rest] = core.split(" ");
        const subWord = quoteSub ? `"${sub}"` : sub!;
        const command = position(`${wrapper}${[git, ...globals, subWord, ...rest].join(gap)}`);
        const found = risks(command);
        assert.ok(found.includes("destructive"), `missed: ${JSON.stringify(command)} → ${JSON.stringify(found)}`);
      },
    ),
    { numRuns: 3000 },
  );
});

test("property: read-only git in the same positions stays unflagged", () => {
  const READS = ["status", "diff --stat", "log --oneline", "show HEAD", "stash list", "branch -a", "rev-parse HEAD"];
  const plain = POSITIONS.filter((p) => !p("X").includes("<(") && !p("X").startsWith("ls |"));
  fc.assert(
    fc.property(
      fc.constantFrom(...READS),
      fc.array(fc.constantFrom(...GLOBALS.filter((g) => !g.startsWith("-c"))), { maxLength: 3 }),
      fc.constantFrom(...WRAPPERS),
      fc.constantFrom(...plain),
      (core, globals, wrapper, position) => {
        const command = position(`${wrapper}git ${[...globals, core].join(" ")}`);
        assert.deepEqual(inspectShell(command), [], command);
      },
    ),
    { numRuns: 1000 },
  );
});

// ---- the decision ----
test("ask: the original command stays intact behind one marker line that names the danger", () => {
  const original = "git -C . stash && echo 'it''s done'";
  const decision = guardShell(original, "ask");
  assert.equal(decision.action, "ask");
  if (decision.action !== "ask") return;
  assert.ok(decision.command.startsWith(`${CONFIRM_MARKER} '`));
  assert.ok(decision.command.endsWith(`\n${original}`));
  const firstLine = decision.command.slice(0, decision.command.indexOf("\n"));
  assert.match(firstLine, /git -C \. stash: takes work out of the working tree/);
  const script = parse(firstLine);
  assert.equal(script.errors, undefined);
  assert.equal(script.commands.length, 1, "the marker is one harmless `:` command");
  // Quotes and newlines in what is shown cannot break out of the marker line.
  const tricky = guardShell('git checkout -- "it\'s\nthere"', "ask");
  assert.equal(tricky.action, "ask");
  if (tricky.action === "ask")
    assert.equal(parse(tricky.command.slice(0, tricky.command.indexOf("\n"))).commands.length, 1);
});

test("ask runs writes and safe commands untouched; refuse refuses writes and dynamic too, naming each command", () => {
  assert.deepEqual(guardShell("git commit -m x && git push", "ask"), { action: "run" });
  assert.deepEqual(guardShell("git status", "refuse"), { action: "run" });
  assert.equal(guardShell("$GIT log", "ask").action, "ask", "a run-time program asks in compose");
  const refused = guardShell("git --no-pager tag t; env git stash", "refuse");
  assert.equal(refused.action, "refuse");
  if (refused.action !== "refuse") return;
  assert.match(refused.message, /Refused by the pack's git guard \(nothing ran\)/);
  assert.match(refused.message, /`git --no-pager tag t`: writes the repository's shared git state: creates a tag/);
  assert.match(refused.message, /`git stash`: discards work or rewrites history: takes work out/);
  assert.match(
    guardShell("$X stash", "refuse").action === "refuse"
      ? (guardShell("$X stash", "refuse") as { message: string }).message
      : "",
    /only known at run time/,
  );
});

test("policy: compose and max ask, hidden pack agents and helper sessions are refused, the user's agents are untouched", () => {
  assert.equal(guardPolicy({ helper: false, agent: "compose", ancestorGuarded: false }), "ask");
  assert.equal(guardPolicy({ helper: false, agent: "max", ancestorGuarded: false }), "ask");
  for (const agent of [
    "max-builder",
    "max-candidate",
    "max-judge",
    "dream",
    "distill",
    "goal-judge",
    "checkpoint-writer",
  ]) {
    assert.equal(guardPolicy({ helper: false, agent, ancestorGuarded: false }), "refuse", agent);
  }
  assert.equal(
    guardPolicy({ helper: true, agent: "build", ancestorGuarded: false }),
    "refuse",
    "a workflow agent on the user's build agent is still a hidden helper",
  );
  assert.equal(guardPolicy({ helper: false, agent: "build", ancestorGuarded: false }), undefined);
  assert.equal(guardPolicy({ helper: false, agent: "plan", ancestorGuarded: false }), undefined);
  assert.equal(guardPolicy({ helper: false, agent: undefined, ancestorGuarded: false }), undefined);
  assert.equal(
    guardPolicy({ helper: false, agent: "general", ancestorGuarded: true }),
    "refuse",
    "a subagent compose started cannot ask",
  );
});
