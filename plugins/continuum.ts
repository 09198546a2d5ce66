// OpenCode entry of opencode-continuum. Export-clean on purpose: OpenCode runs every export of a plugin file,
// so this file exports exactly one thing, the { id, server } module object.
import type { Plugin, PluginInput } from "@opencode-ai/plugin";
import { createReporter, errorText, SERVICE } from "./core/report.ts";
import { bootPack } from "./opencode/boot.ts";
import { createStartGate } from "./opencode/start-toast.ts";

const server: Plugin = async (input: PluginInput) => {
  // Toasts raised during start-up would reach no one: they wait for the first session activity.
  const gate = createStartGate();
  const reporter = createReporter({
    log: (entry) => input.client.app.log({ body: { service: SERVICE, ...entry } }),
    toast: (toast) => gate.toast(() => void input.client.tui.showToast({ body: toast }).catch(() => undefined)),
  });
  try {
    return gate.wrap((await bootPack(input, reporter)).hooks);
  } catch (error) {
    // Nothing the pack does at start-up may stop OpenCode: report and run without the pack.
    reporter.problem("boot", `opencode-continuum could not start and is inactive: ${errorText(error)}`);
    return gate.wrap({});
  }
};

export default { id: "opencode-continuum", server } satisfies { id: string; server: Plugin };
