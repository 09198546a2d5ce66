// A toast raised while the plugin starts is published before any TUI or client has subscribed to OpenCode's events,
// so nobody sees it. A start-up message is therefore shown at the first session activity instead, once.
import type { Hooks } from "@opencode-ai/plugin";

const ACTIVITY = /^(session|message|tui|command)\./;

export function withStartToast(hooks: Hooks, message: string | undefined, show: (message: string) => void): Hooks {
  if (!message) return hooks;
  let shown = false;
  const previous = hooks.event;
  return {
    ...hooks,
    event: async (input) => {
      if (!shown && ACTIVITY.test(input.event.type)) {
        shown = true;
        show(message);
      }
      await previous?.(input);
    },
  };
}
