// The watch on upstream, inside OpenCode: find the host's version, compare it with the tested range, and when it
// lies outside say so once (a toast and a log line) naming the experimental hooks the pack registered.
import type { Hooks, PluginInput } from "@opencode-ai/plugin";
import { describeVerdict, judgeHost, outsideNotice, type HostVerdict } from "../core/host-range.ts";
import { errorText, type Reporter } from "../core/report.ts";
import { testedOpencodeRange } from "../core/tested-range.ts";

type Client = PluginInput["client"];

/**
 * The host's version. OpenCode 1.18.33 gives a plugin no version field; its in-process client answers
 * GET /global/health with {healthy, version} (checked in the real host). The v1 SDK has no method for that route,
 * so the call goes through the client's underlying request function.
 */
export async function hostVersion(client: Client): Promise<string | undefined> {
  const raw = (client as unknown as { _client?: { get?: (o: { url: string }) => Promise<{ data?: unknown }> } })
    ._client;
  if (typeof raw?.get !== "function") return undefined;
  const answer = await raw.get({ url: "/global/health" });
  const version = (answer.data as { version?: unknown } | undefined)?.version;
  return typeof version === "string" ? version : undefined;
}

/** The hook names the pack registered with OpenCode, as the host sees them (the composed set). */
export function registeredHooks(hooks: Hooks): string[] {
  return Object.entries(hooks)
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
}

/**
 * Judges the host once per process and reports: a log line always, a toast and a warning only when the host is
 * outside the tested range. Never throws: the watch must not stop the pack.
 */
export async function watchUpstream(
  client: Client,
  hooks: Hooks,
  reporter: Reporter,
  range: () => string = testedOpencodeRange,
): Promise<HostVerdict | undefined> {
  try {
    const version = await hostVersion(client).catch(() => undefined);
    const verdict = judgeHost(version, range(), registeredHooks(hooks));
    const notice = outsideNotice(verdict);
    if (notice) reporter.notify(notice, "warning");
    else reporter.log("info", `host: ${describeVerdict(verdict)}`);
    return verdict;
  } catch (error) {
    reporter.log("warn", `could not compare OpenCode's version with the tested range: ${errorText(error)}`);
    return undefined;
  }
}
