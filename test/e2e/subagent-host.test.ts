// Host contract for issue 24 item 1: how a subagent started by OpenCode's own `task` tool looks to a plugin, in the
// real pinned OpenCode. One `opencode serve` with the pack installed and a throwaway probe plugin
// (subagent-probe-plugin.txt) that logs every hook call and event with one sequence number, adds a marked system
// entry to every request. Each fact the subagent design relies on
// is asserted below, so an OpenCode change that breaks one fails this file, not the feature at a user's.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import {
  contentText,
  startScriptedModel,
  type RecordedRequest,
  type ScriptedModel,
  type ScriptedReply,
} from "../harness/scripted-model.ts";
import { createIsolatedEnv, REPO_ROOT, type IsolatedEnv } from "../harness/env.ts";
import { opencodeServe, type BusEvent, type Served } from "../harness/opencode.ts";
import { installPack } from "../harness/install.ts";
import { continuumCliAsync } from "../harness/cli.ts";
import { createSession, send, sleep, storedMessage, until } from "../harness/session.ts";

type Entry = Record<string, unknown> & {
  seq: number;
  kind: string;
  sessionID?: string;
};

const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
});
const taskCall = (args: Record<string, unknown>, prompt: number, completion: number): ScriptedReply => ({
  toolCalls: [{ name: "task", args: { subagent_type: "general", ...args } }],
  usage: usage(prompt, completion),
});
const bashCall = (command: string): ScriptedReply => ({
  toolCalls: [{ name: "bash", args: { command, description: "slow" } }],
});
const says = (marker: string) => (r: Pick<RecordedRequest, "lastUserText">) => r.lastUserText.includes(marker);
// The probe aborts the child running this command; the test aborts the parent while a child runs the other one.
const CHILD_ABORT_SLEEP = "sleep 37.25";
const PARENT_ABORT_SLEEP = "sleep 38.5";

/** What one run of the scenario left behind: the probe's log, the model's requests and the bus events. */
interface Run {
  entries: Entry[];
  requests: RecordedRequest[];
  events: BusEvent[];
  parent: string;
  children: { id: string; parentID?: string; title: string }[];
  sleepsLeft: string[];
  /** What the pack showed while child two ran: /agents, `continuum agents --json`, /agents cancel. */
  agentsReport: string;
  agentsCli: { runs: { runId: string; feature: string; agent: string; state: string; sessionId: string }[] };
  cancelReport: string;
  /** `continuum stats --json` at the end. */
  stats: {
    worker: { calls: number; inputTokens: number; outputTokens: number };
    subagents: { runs: number; calls: number; inputTokens: number; outputTokens: number };
    features: Record<string, unknown>;
  };
}

const RULE = "always run the linter before committing";
const DIRECTIVE = '"never touch the production database"';
const DECISION = "Use pgx for the database layer.";

let model: ScriptedModel;
let env: IsolatedEnv;
let served: Served | undefined;
let run: Run;
let helperId = "";

/**
 * Turn 1: the parent delegates to child one (answers), child two (runs a slow command; the pack's /agents cancel aborts
 * it), then resumes child one by task_id, then ends. Turn 2: the parent delegates to child three (slow command)
 * and the test aborts the parent.
 */
before(async () => {
  let childOne = "";
  model = await startScriptedModel({
    lanes: [
      {
        name: "child-one",
        match: says("CHILD-ONE"),
        replies: [{ text: "child one result", usage: usage(7001, 71) }],
      },
      {
        name: "child-one-again",
        match: says("AGAIN-ONE"),
        replies: [{ text: "child one again", usage: usage(7005, 75) }],
      },
      {
        name: "child-two",
        match: says("CHILD-TWO"),
        replies: [{ ...bashCall(CHILD_ABORT_SLEEP), usage: usage(7002, 72) }],
      },
      {
        name: "child-three",
        match: says("CHILD-THREE"),
        replies: [{ ...bashCall(PARENT_ABORT_SLEEP), usage: usage(7003, 73) }],
      },
    ],
    main: (request, n) => {
      if (n === 0)
        return taskCall(
          {
            description: "probe child one",
            prompt: "CHILD-ONE: answer in one line.",
          },
          1001,
          11,
        );
      if (n === 1)
        return taskCall(
          {
            description: "probe child two",
            prompt: "CHILD-TWO: run the slow command.",
          },
          1002,
          12,
        );
      childOne ||= /<task id="(ses_\w+)"/.exec(request.body.messages.map(contentText).join("\n"))?.[1] ?? "";
      if (n === 2)
        return taskCall(
          {
            description: "resume child one",
            prompt: "AGAIN-ONE: once more.",
            task_id: childOne,
          },
          1003,
          13,
        );
      if (n === 3) return { text: "parent done", usage: usage(1004, 14) };
      if (n === 4)
        return taskCall(
          {
            description: "probe child three",
            prompt: "CHILD-THREE: run the slow command.",
          },
          1006,
          16,
        );
      return { text: "unexpected parent request", usage: usage(1, 1) };
    },
  });
  env = createIsolatedEnv({
    baseURL: model.baseURL,
    opencodeConfig: { permission: { bash: "allow" } },
    // The observer session would start an automatic learning dream over the parent's checkpoint (dream-learn.test.ts),
    // whose requests this scripted model does not play.
    continuumConfig: { dream: { learn: false } },
  });
  installPack(env);
  const plugin = join(env.projectDir, ".opencode", "plugins", "subagent-probe.js");
  copyFileSync(join(REPO_ROOT, "test", "e2e", "subagent-probe-plugin.txt"), plugin);
  const log = join(env.root, "probe.jsonl");
  const projectDir = join(env.packDataDir, "projects", rootCommit(env.projectDir));
  mkdirSync(join(projectDir, "memory"), { recursive: true });
  writeFileSync(join(projectDir, "memory", "MEMORY.md"), `# Project memory\n\n## Rules\n- ${RULE}\n`);
  served = await opencodeServe(env, { extraEnv: { PROBE_LOG: log } });
  const parent = await createSession(served);
  // The main session's latest checkpoint, as the checkpoint writer would have left it: the subagents' brief.
  mkdirSync(join(projectDir, "sessions", parent), { recursive: true });
  writeFileSync(join(projectDir, "sessions", parent, "checkpoint.md"), checkpointText(parent));
  const observer = await createSession(served);
  const command = async (name: string, args: string) => {
    const r = await served!.client.session.command({
      path: { id: observer },
      body: { command: name, arguments: args },
    });
    if (r.error) throw new Error(`/${name} failed: ${JSON.stringify(r.error)}`);
  };
  await send(served, parent, "Delegate the jobs to subagents.");
  // Child two runs its slow command: /agents (and `continuum agents`) list it, and /agents cancel stops it alone.
  await until(() => psLines(CHILD_ABORT_SLEEP).length > 0, 40000, "child two's command running");
  await command("agents", "");
  const agentsReport = await untilAsync(
    () => storedMessage(served!, observer, "opencode-continuum · helper agents"),
    "the /agents report",
  );
  const agentsCli = await continuumCliAsync(env, ["agents", "--json"], 30000);
  const childTwo = /^(sub-\S+)\s+subagent\s+general\s+running/m.exec(agentsReport ?? "")?.[1] ?? "";
  await command("agents", `cancel ${childTwo}`);
  const cancelReport = await untilAsync(
    () => storedMessage(served!, observer, "[continuum /agents]"),
    "the cancel report",
  );
  await served.waitForIdle(parent, 1, 60000);

  await send(served, parent, "Delegate one more job.");
  await until(() => psLines(PARENT_ABORT_SLEEP).length > 0, 30000, "child three's command running");
  await served.client.session.abort({ path: { id: parent } });
  await served.waitForIdle(parent, 2, 30000);
  // A child made the way the pack makes its hidden helpers (session.create with parentID), for contrast.
  const helper = await served.client.session.create({ body: { parentID: parent, title: "a pack-like helper" } });
  helperId = helper.data?.id ?? "";
  await sleep(500);

  const children = (await served.client.session.children({ path: { id: parent } })).data ?? [];
  run = {
    entries: readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Entry),
    requests: model.requests,
    events: served.events,
    parent,
    children: children.map((c) => ({
      id: c.id,
      parentID: c.parentID,
      title: c.title,
    })),
    sleepsLeft: psLines("sleep 3"),
    agentsReport: agentsReport ?? "",
    agentsCli: JSON.parse(agentsCli.stdout || "{}"),
    cancelReport: cancelReport ?? "",
    stats: JSON.parse((await continuumCliAsync(env, ["stats", "--json"], 30000)).stdout || "{}"),
  };
});

async function untilAsync<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = await fn();
    if (found) return found;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function rootCommit(cwd: string): string {
  return execFileSync("git", ["rev-list", "--max-parents=0", "HEAD"], { cwd, encoding: "utf8" }).trim();
}

function checkpointText(session: string): string {
  const sections: [string, string][] = [
    ["1. Active intent", "Move the importer to the new database layer."],
    ["2. Next concrete action", "(none)"],
    ["3. Directives (this session)", DIRECTIVE],
    ["10. Design decisions and discussion outcomes", DECISION],
  ];
  return [
    "# Checkpoint",
    `<!-- opencode-continuum checkpoint 1 · session ${session} · written 2026-12-07T21:00:00Z · covers up to message (none) -->`,
    "",
    ...sections.flatMap(([title, body]) => [`## ${title}`, "", body, ""]),
  ].join("\n");
}

after(async () => {
  await served?.stop();
  await model?.close();
  env?.cleanup();
});

function psLines(needle: string): string[] {
  const lines = execFileSync("ps", ["-eo", "pid,args"], {
    encoding: "utf8",
  }).split("\n");
  return lines.filter((line) => line.includes(needle) && !line.includes("ps -eo"));
}

const find = (predicate: (e: Entry) => boolean) => run.entries.filter(predicate);
const first = (predicate: (e: Entry) => boolean, what: string): Entry => {
  const found = run.entries.find(predicate);
  assert.ok(found, `no probe entry for ${what}`);
  return found;
};
const childByTitle = (description: string) => {
  const created = first(
    (e) => e.type === "session.created" && e.title === `${description} (@general subagent)`,
    description,
  );
  return created.sessionID!;
};
const hooksOf = (sessionID: string, hook: string) =>
  find((e) => e.kind === "hook" && e.hook === hook && e.sessionID === sessionID);
const taskParts = (status: string) =>
  find((e) => e.type === "message.part.updated" && e.tool === "task" && e.status === status);

describe("a `task` subagent as a plugin sees it (OpenCode 1.18.33)", () => {
  it("is announced by session.created with parentID, its agent and '<description> (@agent subagent)'", () => {
    const created = first(
      (e) => e.type === "session.created" && e.parentID === run.parent,
      "a child's session.created",
    );
    assert.equal(created.agent, "general");
    assert.equal(created.title, "probe child one (@general subagent)");
    const ids = new Set(run.children.map((c) => c.id));
    const tasks = [childByTitle("probe child one"), childByTitle("probe child two"), childByTitle("probe child three")];
    assert.deepEqual([...ids].sort(), [...tasks, helperId].sort());
    assert.ok(
      run.children.every((c) => c.parentID === run.parent),
      "session.children lists the task children",
    );
  });

  it("differs from a child made by session.create: that one has no agent at creation and no task part", () => {
    const created = first((e) => e.type === "session.created" && e.sessionID === helperId, "the helper-like child");
    assert.equal(created.parentID, run.parent);
    assert.equal(created.agent, undefined);
    const linked = taskParts("running").map((e) => (e.metadata as { sessionId?: string } | undefined)?.sessionId);
    assert.ok(!linked.includes(helperId));
  });

  it("is linked by the parent's running task part (metadata.sessionId) before the child's first hook runs", () => {
    const child = childByTitle("probe child one");
    const before = first(
      (e) => e.hook === "tool.before" && e.tool === "task" && e.sessionID === run.parent,
      "tool.execute.before of task",
    );
    assert.deepEqual(before.args, {
      subagent_type: "general",
      description: "probe child one",
      prompt: "CHILD-ONE: answer in one line.",
    });
    const linked = first(
      (e) => e.tool === "task" && e.status === "running" && (e.metadata as { sessionId?: string })?.sessionId === child,
      "linking part",
    );
    assert.equal(linked.sessionID, run.parent);
    assert.equal(linked.callID, before.callID);
    assert.equal((linked.metadata as { parentSessionId?: string }).parentSessionId, run.parent);
    const created = first((e) => e.type === "session.created" && e.sessionID === child, "child created");
    const firstHook = first((e) => e.kind === "hook" && e.sessionID === child, "child's first hook");
    assert.equal(firstHook.hook, "chat.message");
    assert.ok(
      before.seq < created.seq && created.seq < linked.seq && linked.seq < firstHook.seq,
      "tool.before < created < linked < chat.message",
    );
  });

  it("runs chat.message, messages.transform, system.transform, chat.params with the child's id and agent", () => {
    const child = childByTitle("probe child one");
    const message = hooksOf(child, "chat.message")[0]!;
    assert.equal(message.agent, "general");
    assert.equal(message.messageAgent, "general");
    assert.equal(message.text, "CHILD-ONE: answer in one line.");
    assert.equal(hooksOf(child, "messages.transform")[0]?.count, 1);
    // One request per prompt here (the child is resumed once): each runs the three request hooks, in this order.
    const order = find((e) => e.kind === "hook" && e.sessionID === child).map((e) => e.hook);
    const request = ["messages.transform", "system.transform", "chat.params"];
    assert.deepEqual(order, ["chat.message", ...request, "chat.message", ...request]);
    assert.deepEqual(
      hooksOf(child, "chat.params").map((e) => e.agent),
      ["general", "general"],
    );
  });

  it("sends a system entry added for the child in its first request, after OpenCode's system[0]", () => {
    const child = childByTitle("probe child one");
    const request = run.requests.find((r) => r.lane === "child-one")!;
    assert.equal(request.system.length, 2);
    assert.match(request.system[0]!, /^You are opencode/);
    // Entries pushed after system[0] reach the provider joined by newlines, as one second system message (here the
    // probe's, then the pack's memory block and brief).
    assert.ok(request.system[1]!.startsWith(`PROBE-SYSTEM-ENTRY for ${child}\n`));
    assert.equal(request.lastUserText, "CHILD-ONE: answer in one line.");
    // The child gets no title request of its own: the only title call is the parent's, under the parent's id.
    assert.deepEqual(
      run.requests.filter((r) => r.lane === "title").map((r) => r.system[1]),
      [`PROBE-SYSTEM-ENTRY for ${run.parent}`],
    );
    assert.deepEqual(hooksOf(run.parent, "chat.params").map((e) => e.agent)[0], "title");
  });

  it("reports the child's spend on the child's messages and session only, never rolled into the parent", () => {
    const child = childByTitle("probe child one");
    const finished = (id: string) =>
      find((e) => e.type === "message.updated" && e.role === "assistant" && Boolean(e.finish) && e.sessionID === id);
    assert.deepEqual(
      [...new Set(finished(child).map((e) => JSON.stringify(e.tokens)))],
      ['{"input":7001,"output":71}', '{"input":7005,"output":75}'],
    );
    assert.ok(finished(child).every((e) => e.agent === "general"));
    const parentInputs = new Set(finished(run.parent).map((e) => (e.tokens as { input: number }).input));
    assert.deepEqual([...parentInputs].sort(), [1001, 1002, 1003, 1004]);
    const sessionTokens = (id: string) =>
      find((e) => e.type === "session.updated" && e.sessionID === id).at(-1)!.tokens as { input: number };
    assert.equal(sessionTokens(child).input, 7001 + 7005, "session info tokens: the child's own calls");
    assert.equal(sessionTokens(run.parent).input, 1001 + 1002 + 1003 + 1004, "the parent's: its own calls only");
  });

  it("loses the usage of a step aborted while its tool runs: the message ends with an error and zero tokens", () => {
    // Tokens land with step-finish, after the step's tools: child two (7002) and the parent's turn-2 step (1006)
    // were answered by the provider, then aborted inside their tool call, and report nothing.
    for (const [id, reported] of [
      [childByTitle("probe child two"), 7002],
      [run.parent, 1006],
    ] as const) {
      const aborted = find(
        (e) =>
          e.type === "message.updated" &&
          e.role === "assistant" &&
          e.error === "MessageAbortedError" &&
          e.sessionID === id,
      );
      assert.ok(aborted.length >= 1, `an aborted assistant message in ${id}`);
      assert.ok(aborted.every((e) => (e.tokens as { input: number }).input === 0));
      assert.ok(
        !find((e) => e.sessionID === id && (e.tokens as { input?: number } | undefined)?.input === reported).length,
      );
    }
  });

  it("answers the parent as <task id=… state=completed> when finished, through tool.execute.after", () => {
    const child = childByTitle("probe child one");
    const afterHook = first(
      (e) => e.hook === "tool.after" && e.tool === "task" && e.sessionID === run.parent,
      "tool.after of task",
    );
    assert.equal(
      afterHook.output,
      `<task id="${child}" state="completed">\n<task_result>\nchild one result\n</task_result>\n</task>`,
    );
    assert.equal((afterHook.metadata as { sessionId: string }).sessionId, child);
  });

  it("resumes a child by task_id in the same session: same id, a second chat.message, no new session", () => {
    const child = childByTitle("probe child one");
    assert.deepEqual(
      hooksOf(child, "chat.message").map((e) => e.text),
      ["CHILD-ONE: answer in one line.", "AGAIN-ONE: once more."],
    );
    assert.equal(find((e) => e.type === "session.created" && e.sessionID === child).length, 1);
    const resumed = taskParts("completed").map((e) => (e.metadata as { sessionId: string }).sessionId);
    assert.deepEqual(resumed, [child, child]);
  });

  it("is cancelled alone when a plugin aborts it: the task call errors 'Task cancelled', the turn goes on", () => {
    const child = childByTitle("probe child two");
    // The pack's /agents cancel aborted it (client.session.abort on the child, from the plugin).
    assert.equal(run.cancelReport, `[continuum /agents] Cancelled sub-${child}.`);
    assert.ok(
      find((e) => e.type === "session.error" && e.sessionID === child && e.error === "MessageAbortedError").length >= 1,
    );
    const failed = taskParts("error").find((e) => (e.metadata as { sessionId: string }).sessionId === child)!;
    assert.equal(failed.error, "Task cancelled");
    assert.equal(
      find((e) => e.hook === "tool.after" && e.callID === failed.callID).length,
      0,
      "no tool.execute.after for it",
    );
    // The parent's next request carries the error as the tool result, and the turn went on to its end.
    const next = run.requests.filter((r) => r.lane === "main")[2]!;
    assert.ok(next.body.messages.some((m) => m.role === "tool" && m.content === "Task cancelled"));
    assert.ok(
      run.requests.some((r) => r.lane === "main" && r.reply !== "unscripted" && r.reply.text === "parent done"),
    );
    assert.equal(
      run.events.filter((e) => e.type === "session.error" && e.properties.sessionID === run.parent).length,
      1,
      "only turn 2's abort",
    );
    // An aborted child can go idle more than once (observed: 3 times); consumers must be idempotent.
    assert.ok(find((e) => e.type === "session.idle" && e.sessionID === child).length >= 1);
  });

  it("ends the command an aborted child was running, and aborting the parent cancels its running child", () => {
    const two = childByTitle("probe child two");
    const three = childByTitle("probe child three");
    const bash = find(
      (e) => e.type === "message.part.updated" && e.tool === "bash" && e.status === "completed" && e.sessionID === two,
    )[0]!;
    assert.match(String(bash.output), /User aborted the command/);
    assert.ok(
      find((e) => e.type === "session.error" && e.sessionID === three && e.error === "MessageAbortedError").length >= 1,
    );
    const failed = taskParts("error").find((e) => (e.metadata as { sessionId: string }).sessionId === three);
    assert.ok(failed, "the parent's task part for child three ends in error");
    assert.deepEqual(run.sleepsLeft, [], "no slow command left running");
  });
});

describe("the pack's subagents feature in the same session", () => {
  const systemOf = (lane: string) => {
    const request = run.requests.find((r) => r.lane === lane);
    assert.ok(request, `a ${lane} request`);
    return request.system;
  };

  it("gives a subagent's first request the memory block and the brief, byte-identical on its resumed request", () => {
    const entries = systemOf("child-one")[1]!;
    const memory = entries.indexOf("<continuum-memory>");
    const brief = entries.indexOf("\nBrief from the session that started you (from its checkpoint of ");
    assert.ok(memory > 0 && brief > memory, "the memory block, then the brief");
    assert.ok(entries.slice(memory, brief).includes(RULE), "the memory block holds the project rule");
    const briefText = entries.slice(brief);
    assert.ok(briefText.includes(DIRECTIVE) && briefText.includes(DECISION));
    assert.ok(briefText.includes("Move the importer to the new database layer."));
    // Resumed by task_id: the same bytes again, so the provider's prefix cache holds.
    assert.deepEqual(systemOf("child-one-again"), systemOf("child-one"));
    // The main session's own requests carry no brief (it is the subagents' only).
    const parentSystem = run.requests.filter((r) => r.lane === "main").flatMap((r) => r.system);
    assert.ok(!parentSystem.some((e) => e.includes("Brief from the session that started you")));
  });

  it("lists a running subagent in /agents and continuum agents, and /agents cancel stops only it", () => {
    const two = childByTitle("probe child two");
    assert.match(run.agentsReport, new RegExp(`^sub-${two}\\s+subagent\\s+general\\s+running .* ${run.parent}$`, "m"));
    const listed = run.agentsCli.runs.find((r) => r.runId === `sub-${two}`);
    assert.deepEqual(listed && [listed.feature, listed.agent, listed.state, listed.sessionId], [
      "subagent",
      "general",
      "running",
      run.parent,
    ]);
    // Only the child stopped: the parent's turn went on to its end (asserted with F10 above).
    assert.ok(
      run.requests.some((r) => r.lane === "main" && r.reply !== "unscripted" && r.reply.text === "parent done"),
    );
  });

  it("shows the subagents' tokens apart from the worker's in continuum stats --json", () => {
    // Child one's two calls (7001 + 7005 in); the aborted steps report nothing (F7).
    assert.deepEqual(run.stats.subagents, { runs: 4, calls: 2, inputTokens: 14006, outputTokens: 146, cost: 0 });
    assert.equal(run.stats.worker.inputTokens, 1001 + 1002 + 1003 + 1004);
    assert.equal(run.stats.features.subagent, undefined, "not counted as the pack's overhead");
  });
});
