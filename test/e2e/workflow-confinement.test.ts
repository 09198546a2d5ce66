// What a workflow script cannot do to the user or the host, in real OpenCode with the scripted model and one
// server for every assertion: writes to the places OpenCode and git run code from (.opencode/plugins,
// opencode.json, a nested .git hook) or through a symlink are refused, nothing written; the project's
// `permission.edit` rules ("ask", "deny") refuse script writes with the key to set; the allocation loop of the issue
// keeps OpenCode answering within 1.5 s and gives its memory back; an agent a workflow started cannot start one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest, ScriptedReply, ModelScript } from "../harness/scripted-model.ts";
import type { IsolatedEnv } from "../harness/env.ts";
import type { Served } from "../harness/opencode.ts";
import { createSession, sleep, until } from "../harness/session.ts";
import { withOpencode } from "../harness/fixture.ts";
import { installPack } from "../harness/install.ts";
import type { RunRecord } from "../../plugins/workflow/journal.ts";

function writeWorkflow(env: IsolatedEnv, name: string, body: string): void {
  const dir = join(env.projectDir, ".opencode", "workflows");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.js`),
    `export const meta = { name: "${name}", description: "${name}" };\nexport default async function (args) {\n${body}\n}\n`,
  );
}

function runs(env: IsolatedEnv): RunRecord[] {
  const projects = join(env.packDataDir, "projects");
  if (!existsSync(projects)) return [];
  return readdirSync(projects).flatMap((project) => {
    const dir = join(projects, project, "workflows");
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((id) => {
      const file = join(dir, id, "run.json");
      return existsSync(file) ? [JSON.parse(readFileSync(file, "utf8")) as RunRecord] : [];
    });
  });
}

async function runWorkflow(
  served: Served,
  env: IsolatedEnv,
  session: string,
  args: string,
  whileRunning?: () => Promise<void>,
): Promise<RunRecord> {
  const before = new Set(runs(env).map((r) => r.id));
  const ran = await served.client.session.command({
    path: { id: session },
    body: { command: "workflow", arguments: args },
  });
  assert.ok(!ran.error, JSON.stringify(ran.error));
  const started = await until(() => runs(env).find((r) => !before.has(r.id)), 10000, `a run of /workflow ${args}`);
  await whileRunning?.();
  return until(
    () => runs(env).find((r) => r.id === started.id && r.status !== "running"),
    60000,
    `run ${started.id} to end`,
  );
}

/** The server's resident memory (Linux /proc), in MiB. */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.replace(/\D+/g, "")) / 1024;
}

const PROTECTED = [
  ".opencode/plugins/x.ts",
  "opencode.json",
  "a/.git/hooks/pre-commit",
  "linked/pwned.txt",
  "sub/opencode.jsonc",
];

test("workflow confinement in real OpenCode: protected paths and symlinks refused, edit permission obeyed, the allocation loop harmless, no nested workflows", {
  timeout: 300000,
}, async () => {
  const modelScript: ModelScript = {
    lanes: [
      {
        name: "nest",
        match: (r: Pick<RecordedRequest, "lastUserText">) => r.lastUserText.startsWith("NEST "),
        // The scripted model calls the workflow tool whether offered or not; OpenCode must not run it.
        replies: (request): ScriptedReply =>
          request.body.messages.at(-1)?.role === "tool"
            ? { text: "could not nest" }
            : {
                toolCalls: [
                  { name: "workflow", args: { action: "run", name: "writes", args: { paths: ["nested.txt"] } } },
                ],
              },
      },
    ],
    main: () => ({ text: "main agent here" }),
  };
  await withOpencode(
    {
      model: modelScript,
      env: {
        continuumConfig: { tasks: { gate: false } },
        opencodeConfig: { permission: { edit: { "*": "allow", "asked/*": "ask", "denied/*": "deny" } } },
      },
      install: false,
    },
    async ({ env, model, serve }) => {
      writeWorkflow(
        env,
        "writes",
        `const out = {};\nfor (const p of args.paths) { try { writeFile(p, "planted"); out[p] = "written"; } catch (e) { out[p] = e.message; } }\nreturn out;`,
      );
      writeWorkflow(env, "alloc", `const a = []; for (;;) a.push("y".repeat(1 << 20) + a.length);`);
      writeWorkflow(env, "nest", `return agent("NEST start a workflow from inside");`);
      mkdirSync(join(env.projectDir, "a", ".git", "hooks"), { recursive: true });
      mkdirSync(join(env.root, "elsewhere"));
      symlinkSync(join(env.root, "elsewhere"), join(env.projectDir, "linked"));
      const configBefore = readFileSync(join(env.projectDir, "opencode.json"), "utf8");
      installPack(env);
      const served = await serve();
      const session = await createSession(served);

      // Protected places and a symlinked folder: refused one by one, nothing written.
      const guarded = await runWorkflow(served, env, session, `writes ${JSON.stringify({ paths: PROTECTED })}`);
      assert.equal(guarded.status, "done", guarded.error);
      const out = guarded.result as Record<string, string>;
      assert.match(out[".opencode/plugins/x.ts"]!, /protected, refused: it is inside \.opencode/);
      assert.match(out["opencode.json"]!, /protected, refused: it is an OpenCode config file/);
      assert.match(out["sub/opencode.jsonc"]!, /OpenCode config file/);
      assert.match(out["a/.git/hooks/pre-commit"]!, /inside a \.git folder/);
      assert.match(out["linked/pwned.txt"]!, /linked is a symlink, refused/);
      assert.equal(existsSync(join(env.projectDir, ".opencode", "plugins", "x.ts")), false);
      assert.equal(readFileSync(join(env.projectDir, "opencode.json"), "utf8"), configBefore);
      assert.equal(existsSync(join(env.projectDir, "a", ".git", "hooks", "pre-commit")), false);
      assert.deepEqual(readdirSync(join(env.root, "elsewhere")), []);
      assert.equal(existsSync(join(env.projectDir, "sub")), false);

      // The project's permission.edit: "ask" and "deny" refuse (ask names the key to set), "allow" writes.
      const permitted = await runWorkflow(
        served,
        env,
        session,
        `writes ${JSON.stringify({ paths: ["asked/a.md", "denied/d.md", "free/f.md"] })}`,
      );
      const decided = permitted.result as Record<string, string>;
      assert.match(
        decided["asked/a.md"]!,
        /edit permission is "ask" for it \(rule "asked\/\*"\) and a script cannot ask you\. To let scripts write it, set "permission": \{ "edit": \{ "asked\/a\.md": "allow" \} \}/,
      );
      assert.match(decided["denied/d.md"]!, /edit permission denies it \(rule "denied\/\*"\)/);
      assert.equal(decided["free/f.md"], "written");
      assert.equal(existsSync(join(env.projectDir, "asked")) || existsSync(join(env.projectDir, "denied")), false);

      // The allocation loop: OpenCode keeps answering, the run ends with the memory limit, the memory comes back.
      await sleep(1000);
      const before = rssMiB(served.pid);
      let slowest = 0;
      let polling = true;
      const poll = (async () => {
        while (polling) {
          const started = Date.now();
          const listed = await served!.client.session.list();
          assert.ok(!listed.error);
          slowest = Math.max(slowest, Date.now() - started);
          await sleep(100);
        }
      })();
      let peak = before;
      const alloc = await runWorkflow(served, env, session, "alloc", async () => {
        for (let i = 0; i < 30 && runs(env).some((r) => r.name === "alloc" && r.status === "running"); i++) {
          peak = Math.max(peak, rssMiB(served!.pid));
          await sleep(100);
        }
      });
      await sleep(2000);
      polling = false;
      await poll;
      assert.equal(alloc.status, "failed");
      assert.match(alloc.error!, /ran out of memory \(limit 64 MiB|more than \d+ ms without awaiting/);
      const after = rssMiB(served.pid);
      assert.ok(slowest < 1500, `a session list took ${slowest} ms while the script ran`);
      assert.ok(
        after < before * 1.2,
        `RSS ${Math.round(before)} MiB before, ${Math.round(after)} MiB after (peak ${Math.round(peak)} MiB)`,
      );

      // An agent a workflow started is not offered the workflow tool, and its call of it starts nothing.
      const nest = await runWorkflow(served, env, session, "nest");
      assert.equal(nest.status, "done", nest.error);
      assert.equal(nest.result, "could not nest");
      const nestRequests = model.lane("nest");
      assert.ok(nestRequests.length >= 1);
      assert.ok(
        nestRequests.every((r) => !r.tools.includes("workflow")),
        `the workflow agent's tools: ${nestRequests[0]!.tools.join(", ")}`,
      );
      assert.equal(runs(env).filter((r) => r.name === "writes").length, 2, "no nested run was started");
      assert.equal(existsSync(join(env.projectDir, "nested.txt")), false);
      console.log(
        `[workflow-confinement] session list slowest ${slowest} ms during the allocation loop; RSS ${Math.round(before)} → peak ${Math.round(peak)} → ${Math.round(after)} MiB`,
      );
    },
  );
});
