// A toast raised while the plugin starts is published before any TUI or client has subscribed to OpenCode's events,
// so nobody would see it. Every toast raised during start-up (config problems, a recovered database, a feature that
// could not start) therefore waits for the first session activity, and is shown then, in order.
import type { Hooks } from "@opencode-ai/plugin";

const ACTIVITY = /^(session|message|tui|command)\./;

export interface StartGate {
  /** Runs `show` now once the gate is open, or queues it until then. */
  toast(show: () => void): void;
  /** The hooks with an event handler that opens the gate at the first session activity. */
  wrap(hooks: Hooks): Hooks;
}

export function createStartGate(): StartGate {
  let open = false;
  const queued: (() => void)[] = [];
  return {
    toast(show) {
      if (open) show();
      else queued.push(show);
    },
    wrap(hooks) {
      const previous = hooks.event;
      return {
        ...hooks,
        event: async (input) => {
          if (!open && ACTIVITY.test(input.event.type)) {
            open = true;
            for (const show of queued.splice(0)) show();
          }
          await previous?.(input);
        },
      };
    },
  };
}
