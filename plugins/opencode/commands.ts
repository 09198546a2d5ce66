// How a command of the pack answers in OpenCode 1.18. A "prompt" reply replaces the command's text and the model
// runs as usual. A "report" is stored in the session as a context-only message the user sees at once, and the
// command's own model call is asked only to point at it.
import type { CommandReply } from "../core/feature.ts";
import type { HostApi } from "../core/host.ts";
import type { Reporter } from "../core/report.ts";

export interface CommandPart {
  type: string;
  text?: string;
}

export interface CommandCall {
  sessionId: string;
  command: string;
  parts: CommandPart[];
  busy: boolean;
  host: HostApi;
  reporter: Reporter;
}

export const reportPointer = (command: string) =>
  `[continuum /${command}] The report is in the previous message. Reply with one short sentence pointing the user to it. Do not call tools.`;

export async function answerCommand(reply: CommandReply, call: CommandCall): Promise<void> {
  if (reply.kind === "prompt") return replaceText(call.parts, reply.text);
  if (reply.variant) call.reporter.notify(reply.text.replace(/^\[continuum [^\]]*\]\s*/, "").split("\n")[0]!, reply.variant);
  const stored = await call.host.showInSession(call.sessionId, reply.text);
  replaceText(
    call.parts,
    stored ? reportPointer(call.command) : `[continuum /${call.command}] Show the user this report exactly as written, in a code block, with no other text:\n\n${reply.text}`,
  );
}

function replaceText(parts: CommandPart[], text: string): void {
  const textPart = parts.find((p) => p.type === "text");
  if (textPart) textPart.text = text;
  else parts.push({ type: "text", text });
}
