// Generic helpers of the end-to-end tests that drive a served OpenCode: sessions, prompts, waiting, and the
// stored messages a person would see.
import { join } from "node:path";
import type { IsolatedEnv } from "./env.ts";
import type { Served } from "./opencode.ts";

/** OpenCode's own session DB on disk, so a restarted `opencode serve` still knows the session. */
export const persistentDb = (env: IsolatedEnv) => ({ OPENCODE_DB: join(env.root, "opencode.db") });

export async function createSession(served: Served): Promise<string> {
  const created = await served.client.session.create({ body: {} });
  if (!created.data) throw new Error(`session.create failed: ${JSON.stringify(created.error)}`);
  return created.data.id;
}

export async function send(served: Served, sessionId: string, text: string): Promise<void> {
  const sent = await served.client.session.promptAsync({
    path: { id: sessionId },
    body: { parts: [{ type: "text", text }] },
  });
  if (sent.error) throw new Error(`promptAsync failed: ${JSON.stringify(sent.error)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until fn() is truthy, polling; throws with the description on timeout. */
export async function until<T>(fn: () => T | undefined | false, timeoutMs: number, description: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(50);
  }
}

/** The newest message of the session whose text starts with `title` (a /context report shown to the user). */
export async function storedMessage(served: Served, session: string, title: string): Promise<string | undefined> {
  const found = await served.client.session.messages({ path: { id: session } });
  const texts = (found.data ?? []).map((m) => m.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n"));
  return texts.reverse().find((t) => t.startsWith(title));
}
