// OpenCode served for a CLI command that reads what OpenCode stores (sessions, messages), seen through the same
// host API the features use inside OpenCode, so a feature's CLI code never touches the adapter itself.
import type { HostApi } from "../core/host.ts";
import { openCodeHost } from "../opencode/host.ts";
import { findOpencode, startServe } from "./opencode-driver.ts";

export async function serveHost(dir: string): Promise<{ host: HostApi; stop(): Promise<void> }> {
  const server = await startServe({ binary: findOpencode(), cwd: dir, env: process.env, outputLimit: 20000 });
  return { host: openCodeHost(server.client, dir), stop: () => server.stop() };
}
