// `/max` arguments: nothing (the session's Max stats), `stop` alone (cancel the Max turn running in the session),
// `apply N` (apply candidate N's change that Max held back because its checks failed),
// or a task with an optional --plan / --patch before or after it. Flags are read only at the two ends of the line,
// so a task that mentions "--patch" in its middle ("explain what git apply --check does") keeps its words; `--`
// ends the leading flags.

export type MaxMode = "plan" | "patch";

export type MaxArgs =
  | { kind: "stats" }
  | { kind: "stop" }
  | { kind: "apply"; index: number }
  | { kind: "task"; task: string; mode?: MaxMode }
  | { kind: "error"; message: string };

export const MAX_TASK_CHARS = 20_000;
const KNOWN = ["--plan", "--patch"];

export function parseMaxArgs(raw: string): MaxArgs {
  const words = raw
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  if (words.length === 0) return { kind: "stats" };
  // While candidates run the TUI shows the session idle, so its interrupt key does nothing; a command still gets through.
  if (words.length === 1 && /^(--)?stop$/i.test(words[0]!)) return { kind: "stop" };
  // `apply N` exactly: the user takes a change whose checks failed. "apply the fix to x" stays a task.
  if (words.length === 2 && /^apply$/i.test(words[0]!) && /^[1-9]\d{0,1}$/.test(words[1]!))
    return { kind: "apply", index: Number(words[1]) };
  const flags: string[] = [];
  let start = 0;
  while (start < words.length && words[start]!.startsWith("--")) {
    if (words[start] === "--") {
      start++;
      break;
    }
    flags.push(words[start++]!);
  }
  let end = words.length;
  // Trailing flags only when a task sits before them, and never past a `--` separator.
  while (end > start + 1 && KNOWN.includes(words[end - 1]!) && !words.slice(0, start).includes("--"))
    flags.push(words[--end]!);
  const unknown = flags.filter((f) => !KNOWN.includes(f));
  if (unknown.length)
    return {
      kind: "error",
      message: `Unknown option ${unknown.map((f) => `"${f.slice(0, 40)}"`).join(", ")}. /max takes --plan or --patch, then the task: /max [--plan|--patch] <task>.`,
    };
  const modes = new Set(flags.map((f) => f.slice(2) as MaxMode));
  if (modes.size > 1) return { kind: "error", message: "Choose one of --plan and --patch, not both." };
  const task = words.slice(start, end).join(" ");
  const mode = [...modes][0];
  if (!task)
    return {
      kind: "error",
      message:
        `Give the task after the option: /max ${flags[0] ?? ""} <task>. /max alone shows this session's Max stats.`.replace(
          "  ",
          " ",
        ),
    };
  if (task.length > MAX_TASK_CHARS)
    return {
      kind: "error",
      message: `The task is ${task.length.toLocaleString("en-US")} characters; /max takes at most ${MAX_TASK_CHARS.toLocaleString("en-US")}. Put the details in a file and name it in the task.`,
    };
  return mode ? { kind: "task", task, mode } : { kind: "task", task };
}
