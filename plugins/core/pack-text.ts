// The one classifier of "typed by a person or sent by the pack". Every text the pack puts into a user message
// (continuations, gate pushes, command pointers, stored reports) starts with one of these markers.

export const PACK_MARKERS = ["[continuum", "opencode-continuum", "## Memory (opencode-continuum)"] as const;

export const isPackText = (text: string): boolean => {
  const start = text.trimStart();
  return PACK_MARKERS.some((marker) => start.startsWith(marker));
};

export interface TextPartLike {
  type: string;
  text?: string;
  synthetic?: boolean;
  ignored?: boolean;
}

export interface MessageOrigin {
  /** "person": someone typed it (or attached a file); "pack": every typed text is the pack's; "empty": nothing typed. */
  origin: "person" | "pack" | "empty";
  /** The typed text (synthetic and ignored parts left out), trimmed. */
  text: string;
}

export function classifyMessage(parts: readonly TextPartLike[]): MessageOrigin {
  const typed = parts.filter(
    (p) => p.type === "text" && !p.synthetic && !p.ignored && typeof p.text === "string" && p.text.trim(),
  );
  const text = typed
    .map((p) => p.text!)
    .join("\n")
    .trim();
  if (typed.length === 0) return { origin: parts.some((p) => p.type === "file") ? "person" : "empty", text };
  return { origin: typed.every((p) => isPackText(p.text!)) ? "pack" : "person", text };
}
