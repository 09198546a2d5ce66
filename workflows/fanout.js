// Built-in workflow: one agent per item, side by side, answers collected in item order.
// /workflow fanout {"task": "Summarise {item} in one line", "items": ["src/a.ts", "src/b.ts"]}
export const meta = {
  name: "fanout",
  description: "Ask one agent per item in parallel and collect the answers. args: { task, items, schema?, agent? }",
  phases: ["fan out", "collect"],
  args: {
    task: "what to do with each item; {item} is replaced by the item (else the item is appended)",
    items: "array of strings (or JSON values), at most 200",
    schema: "optional JSON Schema each answer must match (answers are then objects)",
    agent: "optional agent name (default: general)",
  },
};

export default async function (args) {
  const { task, items, schema, agent: agentName } = args && typeof args === "object" ? args : {};
  if (typeof task !== "string" || !task.trim()) throw new TypeError('fanout needs args.task, e.g. {"task": "Review {item}", "items": ["a.ts"]}');
  if (!Array.isArray(items) || items.length === 0) throw new TypeError("fanout needs args.items: a non-empty array");
  if (items.length > 200) throw new RangeError(`fanout takes at most 200 items, got ${items.length}`);
  const text = (item) => (typeof item === "string" ? item : JSON.stringify(item));
  const promptFor = (item) => (task.includes("{item}") ? task.split("{item}").join(text(item)) : `${task}\n\nItem: ${text(item)}`);

  phase("fan out");
  const answers = await parallel(
    items.map((item) => () => agent(promptFor(item), { label: text(item).slice(0, 60), ...(schema ? { schema } : {}), ...(agentName ? { agent: agentName } : {}) })),
  );

  phase("collect");
  const failed = answers.filter((a) => a === null).length;
  log(`${items.length - failed} of ${items.length} items answered`);
  return { results: items.map((item, i) => ({ item, answer: answers[i] })), failed };
}
