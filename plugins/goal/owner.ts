// Which process runs a goal's judge. Several OpenCode processes may share the pack's database (a TUI and an
// `opencode run` in another terminal); only a judge whose process is gone is re-run at start-up.
import { hostname } from "node:os";
import { processAlive } from "../core/process-alive.ts";

export const PROCESS_ID = `${hostname()}:${process.pid}`;

/** True when another live process on this machine owns the judge run (owner is "host:pid"). */
export function judgeRunsElsewhere(owner: string | null | undefined, self = PROCESS_ID): boolean {
  if (!owner || owner === self) return false;
  const colon = owner.lastIndexOf(":");
  const host = owner.slice(0, colon);
  const pid = Number(owner.slice(colon + 1));
  if (colon <= 0 || host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  return processAlive(pid);
}
