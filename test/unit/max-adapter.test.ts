// Max Mode through the pack's real entry on a fake host: /max runs candidates as helper runs, the judge's pick (or
// the scouts' consensus) becomes one part of the user's turn, /max reports the session's figures, the candidates
// get max.temperature, and failures fall back to a normal turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { withFakeHost, type FakeHost } from "../harness/fake-host.ts";

const plans: Record<number, { summary: string; steps: string[]; files: string[]; risks: string[]; tests: string[] }> = {
  1: {
    summary: "Patch the parser",
    steps: ["Add an empty-input check to parseConfig in src/parse.ts"],
    files: ["src/parse.ts"],
    risks: [],
    tests: ["npm test"],
  },
  2: {
    summary: "Rewrite the tokenizer",
    steps: ["Replace the regex tokenizer with a scanner"],
    files: ["src/tokenize.ts"],
    risks: [],
    tests: [],
  },
  3: {
    summary: "PLAN-THREE test first",
    steps: ["Write a failing test for empty input", "Fix parseConfig"],
    files: ["src/parse.ts", "test/parse.test.ts"],
    risks: ["none"],
    tests: ["npm test"],
  },
};

type Behaviour = {
  plan?: (index: number) => unknown;
  verdict?: unknown;
  candidatePrompts: string[];
  judgePrompts: string[];
};

function onPrompt(b: Behaviour) {
  return async (host: FakeHost, sessionId: string, body: Record<string, any>) => {
    const text = String(body.parts[0].text);
    if (body.agent === "max-candidate") {
      b.candidatePrompts.push(text);
      const index = Number(/candidate (\d) of/.exec(text)![1]);
      const plan = b.plan ? b.plan(index) : plans[index];
      if (plan) await host.callTool("max_plan", plan, sessionId).catch(() => undefined);
      await host.finishCall(sessionId, { input: 1000, output: 100 }, { agent: "max-candidate", finish: "tool-calls" });
      await host.idle(sessionId);
    } else if (body.agent === "max-judge") {
      b.judgePrompts.push(text);
      if (b.verdict) await host.callTool("max_verdict", b.verdict, sessionId).catch(() => undefined);
      await host.finishCall(sessionId, { input: 3000, output: 200 }, { agent: "max-judge", finish: "tool-calls" });
      await host.idle(sessionId);
    }
  };
}

const config = {
  max: { candidates: 3, scouts: 2, temperature: 1.3 },
  agents: { maxConcurrent: 8 },
  checkpoint: { enabled: false },
};
const score = (candidate: number, v: number) => ({
  candidate,
  correct: v,
  grounded: v,
  complete: v,
  safe: v,
  tested: v,
  small: v,
});

test("/max: scouts differ, the judge picks candidate 3, whose plan becomes one part of the user's turn; /max shows the figures", async () => {
  const b: Behaviour = {
    verdict: { winner: 3, scores: [score(1, 2), score(2, 1), score(3, 5)], rationale: "three is grounded and tested" },
    candidatePrompts: [],
    judgePrompts: [],
  };
  await withFakeHost({ continuum: config, onPrompt: onPrompt(b) }, async (host) => {
    const session = await host.createSession();
    const parts = await host.command(session, "max", "--plan make parseConfig refuse empty input");
    assert.equal(parts[0]!.text, "make parseConfig refuse empty input", "the user's turn is the task itself");
    const added = parts.filter((p) => p.synthetic && String(p.text).startsWith("[continuum max]"));
    assert.equal(added.length, 1, JSON.stringify(parts));
    assert.match(
      added[0]!.text,
      /chose the plan of candidate 3 of 3 \(the judge's pick: three is grounded and tested\)/,
    );
    assert.match(added[0]!.text, /PLAN-THREE test first/);
    assert.equal(b.candidatePrompts.length, 3);
    assert.match(b.candidatePrompts[0]!, /approach: minimal/);
    assert.match(b.candidatePrompts[2]!, /approach: test-first/);
    assert.equal(b.judgePrompts.length, 1);
    assert.match(b.judgePrompts[0]!, /<candidate-1>[\s\S]*<candidate-2>[\s\S]*<candidate-3>/);
    const runs = host.context.ledger!.runs({ sessionId: session });
    assert.deepEqual(runs.map((r) => r.agent).sort(), ["max-candidate", "max-candidate", "max-candidate", "max-judge"]);
    assert.ok(runs.every((r) => r.feature === "max" && r.outcome === "ok"));
    assert.ok(
      host.toasts.some((t) => /costs about 2× .* up to 4×/.test(t)),
      "the one-time notice states the multiplier",
    );
    assert.ok(
      host.toasts.some((t) =>
        /candidate 3 of 3 won \(judged\) · 3 candidates run \+ judge · 6,500 tokens · 5\.9× one candidate/.test(t),
      ),
      host.toasts.join("\n"),
    );

    await host.command(session, "max");
    const report = host.reports.at(-1)!;
    assert.match(
      report,
      /Turns: 1 \(1 plan, 0 patch\) · candidates run: 3 \(3 valid\) · consensus exits: 0 · judge runs: 1/,
    );
    assert.match(report, /Ledger \(feature max\): 4 runs · 6,000 in · 500 out/);
  });
});

test("/max: two agreeing scouts take the consensus path (no third candidate, no judge)", async () => {
  const b: Behaviour = {
    plan: (i) => ({ ...plans[1], summary: `scout ${i}` }),
    verdict: undefined,
    candidatePrompts: [],
    judgePrompts: [],
  };
  await withFakeHost({ continuum: config, onPrompt: onPrompt(b) }, async (host) => {
    const session = await host.createSession();
    const parts = await host.command(session, "max", "make parseConfig refuse empty input");
    assert.equal(b.candidatePrompts.length, 2);
    assert.equal(b.judgePrompts.length, 0);
    assert.match(
      parts.at(-1)!.text,
      /candidate 1 of 3 \(scouts 1 and 2 agreed, so the other candidates and the judge were skipped\)/,
    );
    await host.command(session, "max");
    assert.match(host.reports.at(-1)!, /consensus exits: 1 · judge runs: 0/);
  });
});

test("max agent: every person's turn goes through Max Mode; the candidates run at max.temperature; a judge without verdict falls back", async () => {
  const b: Behaviour = { verdict: undefined, candidatePrompts: [], judgePrompts: [] };
  await withFakeHost({ continuum: config, onPrompt: onPrompt(b) }, async (host) => {
    const session = await host.createSession();
    const parts = await host.userMessage(session, "make parseConfig refuse empty input", { agent: "max" });
    assert.match(
      parts.at(-1)!.text,
      /candidate 1 of 3 \(the judge gave no usable verdict \(ended without calling max_verdict\)/,
    );
    const child = host.context.ledger!.runs({ sessionId: session }).find((r) => r.agent === "max-candidate")!
      .childSessionId!;
    const model = {
      providerID: "fake",
      id: "fake-model",
      limit: { context: 32000, output: 4000 },
      capabilities: { temperature: true },
    };
    const output: Record<string, unknown> = {};
    await host.hooks["chat.params"]!({ sessionID: child, agent: "max-candidate", model } as never, output as never);
    assert.equal(output.temperature, 1.3);
    const other: Record<string, unknown> = {};
    await host.hooks["chat.params"]!({ sessionID: session, agent: "max", model } as never, other as never);
    assert.equal(other.temperature, undefined, "the main agent's temperature is its own");
    const fixed: Record<string, unknown> = {};
    await host.hooks["chat.params"]!(
      { sessionID: child, agent: "max-candidate", model: { ...model, capabilities: { temperature: false } } } as never,
      fixed as never,
    );
    assert.equal(fixed.temperature, undefined, "a model that takes no temperature is sent none");
    const plain = await host.userMessage(session, "hello", { agent: "build" });
    assert.equal(plain.length, 1, "other agents' turns are left alone");
  });
});

test("all candidates fail: the turn runs normally with a notice; hostile /max arguments get a report", async () => {
  const b: Behaviour = {
    plan: () => ({ summary: "", steps: [], files: ["/etc/passwd"], risks: [], tests: [] }),
    candidatePrompts: [],
    judgePrompts: [],
  };
  await withFakeHost({ continuum: config, onPrompt: onPrompt(b) }, async (host) => {
    const session = await host.createSession();
    const parts = await host.command(session, "max", "do the thing");
    assert.match(
      parts.at(-1)!.text,
      /Max Mode produced no plan: all 3 candidates failed\. Work on the user's request directly/,
    );
    assert.match(parts.at(-1)!.text, /candidate 1: invalid-result: .*summary: empty/);
    assert.ok(host.toasts.some((t) => /all 3 candidates failed; this turn runs normally/.test(t)));
    for (const [args, expected] of [
      ["--patch", /Give the task after the option: \/max --patch <task>/],
      ["--turbo do it", /Unknown option "--turbo"/],
      ["--plan --patch do it", /Choose one/],
    ] as const) {
      await host.command(session, "max", args);
      assert.match(host.reports.at(-1)!, expected);
    }
    assert.equal(b.candidatePrompts.length, 6, "retries included, no candidate ran for the refused commands");
  });
});

test("patch mode on the fake host: the winner's diff is refused, saved, and not applied when the user changed the same file meanwhile (the file named, a swap file elsewhere no reason)", async () => {
  const { execFileSync } = await import("node:child_process");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const gitEnv = {
    ...process.env,
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@t",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@t",
  };
  let projectDir = "";
  await withFakeHost(
    {
      continuum: { ...config, max: { candidates: 2, consensus: "off", checks: ["test -f value.txt"] } },
      onPrompt: async (host, sessionId, body) => {
        if (body.agent === "max-builder") {
          const dir = host.context.helpers.confinementOf(sessionId)!.dir;
          const index = Number(/builder (\d) of/.exec(String(body.parts[0].text))![1]);
          writeFileSync(join(dir, "value.txt"), `from builder ${index}\n`);
          // The user keeps working while the builders run: on the very file the change touches, and elsewhere.
          writeFileSync(join(projectDir, "value.txt"), "typed meanwhile\n");
          writeFileSync(join(projectDir, ".notes.txt.swp"), "swap\n");
          await host.callTool("max_patch", { summary: `builder ${index}` }, sessionId);
        } else if (body.agent === "max-judge") {
          await host.callTool(
            "max_verdict",
            { winner: 2, scores: [score(1, 1), score(2, 4)], rationale: "two" },
            sessionId,
          );
        } else return;
        await host.finishCall(sessionId, { input: 100, output: 10 }, { agent: body.agent, finish: "tool-calls" });
        await host.idle(sessionId);
      },
    },
    async (host) => {
      projectDir = host.projectDir;
      execFileSync("git", ["init", "-q"], { cwd: projectDir });
      writeFileSync(join(projectDir, "README.md"), "x\n");
      execFileSync("git", ["add", "README.md"], { cwd: projectDir });
      execFileSync("git", ["commit", "-qm", "init"], { cwd: projectDir, env: gitEnv });
      const session = await host.createSession();
      const parts = await host.command(session, "max", "--patch write value.txt");
      const part = String(parts.at(-1)!.text);
      assert.match(
        part,
        /chose the change of candidate 2 of 2 but did NOT apply it: you changed value\.txt since the work started/,
      );
      assert.match(part, /Files in conflict: value\.txt$/m, "only the file both changed is named, not the swap file");
      const saved = /The diff is saved at (\S+)\./.exec(part)![1]!;
      assert.match(readFileSync(saved, "utf8"), /\+from builder 2/);
      assert.equal(readFileSync(join(projectDir, "value.txt"), "utf8"), "typed meanwhile\n", "nothing applied");
      assert.ok(host.toasts.some((t) => /did not apply candidate 2's change/.test(t)));
      await host.command(session, "max");
      assert.match(host.reports.at(-1)!, /Turns: 1 \(0 plan, 1 patch\)/);
    },
  );
});

test("a Max turn may outlast the pack's usual hook time limit: its part still lands in the user's message", async () => {
  const b: Behaviour = {
    verdict: { winner: 2, scores: [score(1, 1), score(2, 5)], rationale: "two" },
    candidatePrompts: [],
    judgePrompts: [],
  };
  const slow = onPrompt(b);
  await withFakeHost(
    {
      continuum: { ...config, hookTimeoutMs: 200, max: { candidates: 2, consensus: "off" } },
      onPrompt: async (host, sessionId, body) => {
        await new Promise((r) => setTimeout(r, 300));
        await slow(host, sessionId, body);
      },
    },
    async (host) => {
      const session = await host.createSession();
      const parts = await host.command(session, "max", "make parseConfig refuse empty input");
      assert.match(String(parts.at(-1)!.text), /chose the plan of candidate 2 of 2/);
      assert.ok(
        !host.logs.some((l) => /max:chat\.message took longer/.test(l.message)),
        "no hook timeout was reported",
      );
    },
  );
});

test("max agent: typing stop while candidates run cancels the Max turn; with nothing running it says so", async () => {
  const b: Behaviour = {
    verdict: { winner: 1, scores: [score(1, 5)], rationale: "one" },
    candidatePrompts: [],
    judgePrompts: [],
  };
  const answer = onPrompt(b);
  let started = 0;
  await withFakeHost(
    {
      continuum: config,
      onPrompt: async (host, sessionId, body) => {
        started++;
        // Candidates take a while, as real ones do; a cancelled run is never answered.
        await new Promise((r) => setTimeout(r, 2000));
        await answer(host, sessionId, body);
      },
    },
    async (host) => {
      const session = await host.createSession();
      await host.userMessage(session, "stop", { agent: "max" });
      // Answered on the local report model: no model call for a typed stop.
      assert.ok(
        host.reports.some((t) => /No Max turn is running in this session/.test(t)),
        host.reports.join("\n"),
      );
      assert.equal(started, 0, "stop is not a task");
      const running = host.userMessage(session, "make parseConfig refuse empty input", { agent: "max" });
      const deadline = Date.now() + 20000;
      while (started < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(started, 2, "both scouts started");
      await host.userMessage(session, "stop", { agent: "max" });
      assert.ok(
        host.reports.some((t) => /Stopping Max Mode/.test(t)),
        host.reports.join("\n"),
      );
      const parts = await running;
      assert.ok(
        parts.every((p) => !/chose the plan/.test(String(p.text))),
        JSON.stringify(parts),
      );
      assert.ok(host.reports.includes("Cancelled."), "the cancelled turn answers Cancelled. with no model call");
      // Unlike an abort, the session is not stopped: the answer to the stop runs in it at the same time.
      const request = { messages: [{ info: { id: "msg_x", sessionID: session, role: "user" }, parts }] };
      await host.hooks["experimental.chat.messages.transform"]!({} as never, request as never);
      assert.ok(
        !host.calls.some((c) => c.method === "abort" && c.sessionId === session),
        "the session itself is not aborted",
      );
      assert.equal(b.judgePrompts.length, 0, "no judge after stop");
      assert.ok(host.context.ledger!.runs({ sessionId: session }).every((r) => r.outcome === "aborted"));
    },
  );
});
