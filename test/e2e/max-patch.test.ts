// Max patch mode in real OpenCode: three builders change their own worktrees; code runs the configured check on
// each diff; only builder 2's change passes, so its diff is applied to the user's tree although the judge
// preferred builder 3; no worktree is left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelScript } from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import { createSession, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import { builderLane, busyChildren, maxEnv, maxJudgeLane } from "./max-support.ts";

const git = (env: IsolatedEnv, ...args: string[]) =>
  execFileSync("git", args, {
    cwd: env.projectDir,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });

function leftoverWorktrees(env: IsolatedEnv): string[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  return readdirSync(projects).flatMap((p) => {
    const dir = join(projects, p, "worktrees");
    return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith("wt-") && !n.endsWith(".owner.json")) : [];
  });
}

function checkedProject(env: IsolatedEnv) {
  // The check passes only when value.txt says "right".
  writeFileSync(
    join(env.projectDir, "check.cjs"),
    'const fs = require("fs");\nconst v = fs.existsSync("value.txt") ? fs.readFileSync("value.txt", "utf8").trim() : "";\nif (v !== "right") { console.error(`value.txt is "${v}", expected "right"`); process.exit(1); }\nconsole.log("check ok");\n',
  );
  git(env, "add", "check.cjs");
  git(env, "commit", "-q", "-m", "check");
}

test("/max --patch: only builder 2 passes the check; its diff is applied though the judge preferred builder 3; no worktree left", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      builderLane("value.txt", (i) => (i === 2 ? "right\n" : `wrong-${i}\n`), { firstBash: "git --no-pager stash" }),
      maxJudgeLane(3),
    ],
    main: [{ text: "Reviewed the applied change." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 3, scouts: 2, checks: ["node check.cjs"] }) },
      install: false,
    },
    async ({ env, model, serve }) => {
      checkedProject(env);
      installPack(env);
      let served = await serve();
      const before = git(env, "status", "--porcelain").split("\n").filter(Boolean);
      const session = await createSession(served);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "make value.txt right --patch" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));

      assert.equal(
        readFileSync(join(env.projectDir, "value.txt"), "utf8"),
        "right\n",
        "builder 2's change is in the user's tree",
      );
      const stash = model
        .lane("builder")
        .find(
          (r) =>
            r.body.messages.at(-1)?.role === "tool" && JSON.stringify(r.body.messages).includes("git --no-pager stash"),
        );
      assert.match(
        String(stash?.body.messages.at(-1)?.content),
        /Refused by the pack's git guard[^]*`git --no-pager stash`/,
        "a builder's git stash (shared with the user's repository) is refused, options before it or not",
      );
      assert.equal(git(env, "stash", "list"), "", "the user's stash is untouched");
      const judge = model.lane("max-judge")[0]!;
      const judgeText = judge.lastUserText;
      assert.ok(
        /<candidate-2>[^]*`node check\.cjs` passed[^]*<\/candidate-2>/.test(judgeText),
        judgeText.slice(0, 3000),
      );
      assert.ok(
        /<candidate-1>[^]*failed \(exit 1\):\nvalue\.txt is "wrong-1"/.test(judgeText),
        "the judge sees the failing check's output",
      );
      const main = model.lane("main");
      assert.equal(main.length, 1);
      const mainText = main[0]!.lastUserText;
      assert.ok(
        /Max Mode applied the change of candidate 2 of 3 to the working tree \(the judge preferred candidate 3, whose checks failed; candidate 2 passed them/.test(
          mainText,
        ),
        mainText,
      );
      assert.ok(/Files changed: value\.txt/.test(mainText), mainText);
      assert.deepEqual(leftoverWorktrees(env), [], "every worktree was removed");
      assert.equal(
        git(env, "worktree", "list", "--porcelain")
          .split("\n")
          .filter((l) => l.startsWith("worktree ")).length,
        1,
      );
      const after = git(env, "status", "--porcelain").split("\n").filter(Boolean);
      assert.deepEqual(
        after.filter((l) => !before.includes(l)),
        ["?? value.txt"],
        "only the applied change, not staged: the user's index is untouched",
      );
    },
  );
});

test("/max --patch: the checks fail on every builder's change, so nothing is applied whatever the judge says; each diff is shown with its check output; /max apply 2 takes one at the user's word", {
  timeout: 240000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [builderLane("value.txt", (i) => `wrong-${i}\n`), maxJudgeLane(3)],
    main: [{ text: "None of the changes passed; here they are." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 3, scouts: 2, checks: ["node check.cjs"] }) },
      install: false,
    },
    async ({ env, model, serve }) => {
      checkedProject(env);
      installPack(env);
      let served = await serve();
      const session = await createSession(served);
      const ran = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "make value.txt right --patch" },
      });
      assert.equal(ran.error, undefined, JSON.stringify(ran.error));
      assert.equal(
        existsSync(join(env.projectDir, "value.txt")),
        false,
        "no change whose checks failed reached the user's tree",
      );
      const mainText = model.lane("main")[0]!.lastUserText;
      assert.match(
        mainText,
        /Max Mode applied NOTHING: the project's checks failed on every candidate's change \(3 of 3/,
      );
      for (const i of [1, 2, 3])
        assert.ok(
          new RegExp(
            `<candidate-${i}>[^]*failed \\(exit 1\\):\\nvalue\\.txt is "wrong-${i}"[^]*\\+wrong-${i}[^]*</candidate-${i}>`,
          ).test(mainText),
          mainText,
        );
      assert.match(mainText, /\/max apply N/);
      const applied = await served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "apply 2" },
      });
      assert.equal(applied.error, undefined, JSON.stringify(applied.error));
      await until(() => existsSync(join(env.projectDir, "value.txt")), 10000, "the change applied");
      assert.equal(
        readFileSync(join(env.projectDir, "value.txt"), "utf8"),
        "wrong-2\n",
        "the user's pick, applied at their word",
      );
      assert.deepEqual(leftoverWorktrees(env), []);
    },
  );
});

test("/max --patch aborted while the builders run: no busy child, no worktree, nothing applied", {
  timeout: 240000,
}, async () => {
  const calls: { index: number; at: number }[] = [];
  const modelScript: ModelScript = {
    lanes: [builderLane("value.txt", () => "right\n", { delayMs: 20000, calls }), maxJudgeLane(1)],
    main: [{ text: "Cancelled." }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 3, consensus: "off", checks: ["node check.cjs"] }) },
      install: false,
    },
    async ({ env, model, serve }) => {
      checkedProject(env);
      installPack(env);
      let served = await serve();
      const session = await createSession(served);
      const running = served.client.session.command({
        path: { id: session },
        body: { command: "max", arguments: "--patch make value.txt right" },
      });
      await until(() => calls.length === 3, 60000, "three builders' first calls");
      assert.equal(leftoverWorktrees(env).length, 3, "each builder has its worktree");
      await served.client.session.abort({ path: { id: session } });
      const deadline = Date.now() + 20000;
      while ((await busyChildren(served, session)).length > 0 || leftoverWorktrees(env).length > 0) {
        if (Date.now() > deadline)
          throw new Error(
            `20 s after the abort: busy ${JSON.stringify(await busyChildren(served, session))}, worktrees ${JSON.stringify(leftoverWorktrees(env))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
      await running;
      assert.equal(existsSync(join(env.projectDir, "value.txt")), false, "nothing was applied");
      assert.equal(model.lane("max-judge").length, 0);
    },
  );
});

test("OpenCode killed (-9) while builders run: the next start removes their worktrees", {
  timeout: 240000,
}, async () => {
  const calls: { index: number; at: number }[] = [];
  const modelScript: ModelScript = {
    lanes: [builderLane("value.txt", () => "right\n", { delayMs: 20000, calls }), maxJudgeLane(1)],
    main: [{ text: "ok" }],
    exhausted: { text: "nothing more scripted" },
  };
  await withOpencode(
    {
      model: modelScript,
      env: { ...maxEnv({ candidates: 2, consensus: "off", checks: ["node check.cjs"] }) },
      install: false,
    },
    async ({ env, serve }) => {
      checkedProject(env);
      installPack(env);
      let served = await serve();
      const session = await createSession(served);
      void served.client.session
        .command({ path: { id: session }, body: { command: "max", arguments: "--patch make value.txt right" } })
        .catch(() => undefined);
      await until(() => calls.length === 2, 60000, "two builders' first calls");
      assert.equal(leftoverWorktrees(env).length, 2);
      process.kill(served.pid, "SIGKILL");
      await until(() => served!.exited(), 10000, "the killed OpenCode to exit");
      assert.equal(leftoverWorktrees(env).length, 2, "a crash leaves the worktrees behind");
      // Its event stream and client go too (they would keep reconnecting).
      await served.stop();

      served = await serve();
      await createSession(served);
      await until(() => leftoverWorktrees(env).length === 0, 30000, "the next start to sweep the worktrees");
      assert.equal(
        git(env, "worktree", "list", "--porcelain")
          .split("\n")
          .filter((l) => l.startsWith("worktree ")).length,
        1,
        "git's registrations are pruned too",
      );
      assert.equal(existsSync(join(env.projectDir, "value.txt")), false);
    },
  );
});
