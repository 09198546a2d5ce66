// Every OpenCode hook and bus event the pack relies on. test/unit/host-contract.test.ts checks that the pack's
// source uses nothing outside these lists and that each hook is declared by the pinned plugin types;
// test/e2e/host-contract.test.ts proves each registered hook is called by the real host with the shape below.
import { z } from "zod";

export const HOST_HOOKS = [
  "event",
  "config",
  "tool",
  "dispose",
  "chat.message",
  "chat.params",
  "chat.headers",
  "command.execute.before",
  "tool.execute.before",
  "tool.execute.after",
  "experimental.chat.system.transform",
  "experimental.chat.messages.transform",
  "experimental.session.compacting",
  "experimental.compaction.autocontinue",
] as const;

export const HOST_EVENTS = [
  "session.created",
  "session.updated",
  "session.deleted",
  "session.status",
  "session.idle",
  "session.compacted",
  "session.error",
  "session.diff",
  "message.updated",
  "message.removed",
  "message.part.updated",
  "message.part.removed",
  "command.executed",
  "todo.updated",
  "permission.asked",
] as const;

/**
 * What the adapter reads from each hook's arguments (input, output), as zod schemas: the first call of each hook in
 * a process is checked against its schema, so a host that changed an argument's shape is logged, and the host
 * contract test (test/e2e/host-contract.test.ts) proves each hook fires in the real host with these shapes.
 */
const sessionID = z.string().min(1);
const list = z.array(z.unknown());
export const HOOK_SHAPES: Record<string, { input: z.ZodType; output?: z.ZodType }> = {
  event: { input: z.object({ event: z.object({ type: z.string(), properties: z.unknown() }) }) },
  config: { input: z.record(z.string(), z.unknown()) },
  "chat.message": {
    input: z.object({ sessionID, agent: z.string().optional(), messageID: z.string().optional() }),
    output: z.object({ message: z.object({ id: z.string().optional(), agent: z.string().optional() }), parts: list }),
  },
  "chat.params": {
    input: z.object({
      sessionID,
      agent: z.string(),
      model: z.object({
        id: z.string(),
        providerID: z.string(),
        limit: z.object({ context: z.number(), output: z.number() }),
      }),
    }),
    output: z.object({ options: z.record(z.string(), z.unknown()) }),
  },
  "chat.headers": {
    input: z.object({ sessionID, model: z.object({ providerID: z.string() }) }),
    output: z.object({ headers: z.record(z.string(), z.unknown()) }),
  },
  "command.execute.before": {
    input: z.object({ command: z.string(), sessionID, arguments: z.string() }),
    output: z.object({ parts: list }),
  },
  "tool.execute.before": {
    input: z.object({ tool: z.string(), sessionID, callID: z.string() }),
    output: z.object({ args: z.unknown() }),
  },
  "experimental.chat.system.transform": {
    input: z.object({ sessionID: z.string().optional(), model: z.object({ providerID: z.string() }) }),
    output: z.object({ system: z.array(z.string()) }),
  },
  "experimental.chat.messages.transform": {
    input: z.object({}),
    output: z.object({
      messages: z.array(z.object({ info: z.object({ sessionID, role: z.string() }), parts: list })).min(1),
    }),
  },
  "experimental.session.compacting": {
    input: z.object({ sessionID }),
    output: z.object({ context: z.array(z.string()), prompt: z.string().optional() }),
  },
  tool: {
    input: z.unknown(),
    output: z.object({ sessionID, messageID: z.string(), agent: z.string(), abort: z.unknown() }),
  },
};

/** The shape check of one hook's first call: "ok", or the first problems zod found (paths and messages only). */
export function checkHookShape(hook: string, input: unknown, output: unknown): string {
  const shape = HOOK_SHAPES[hook.startsWith("tool:") ? "tool" : hook];
  if (!shape) return "no schema";
  const problems = [shape.input.safeParse(input), shape.output?.safeParse(output)]
    .flatMap((result, i) => (result && !result.success ? result.error.issues.map((issue) => ({ i, issue })) : []))
    .slice(0, 3)
    .map(({ i, issue }) => `${i === 0 ? "input" : "output"}.${issue.path.join(".")}: ${issue.message}`);
  return problems.length ? problems.join("; ") : "ok";
}
