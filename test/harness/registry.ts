// A private npm registry for the distribution tests: verdaccio on 127.0.0.1 (a free port, storage in a temp dir),
// proxying the public registry for the pack's dependencies, with a user the test publishes as.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../plugins/cli/free-port.ts";
import { REPO_ROOT } from "./env.ts";

export interface Registry {
  url: string;
  /** An auth token of the test's user, for `npm publish`. */
  token: string;
  /** An .npmrc that points npm at this registry with that token. */
  npmrc: string;
  stop(): Promise<void>;
}

const UPLINK = process.env.CONTINUUM_TEST_UPLINK ?? "https://registry.npmjs.org/";

function configYaml(storage: string): string {
  return [
    `storage: ${storage}`,
    "auth:",
    "  htpasswd:",
    `    file: ${join(storage, "htpasswd")}`,
    "    max_users: 10",
    "uplinks:",
    "  npmjs:",
    `    url: ${UPLINK}`,
    "    timeout: 60s",
    "packages:",
    "  'opencode-continuum':",
    "    access: $all",
    "    publish: $authenticated",
    "  '**':",
    "    access: $all",
    "    publish: $authenticated",
    "    proxy: npmjs",
    "log: { type: stdout, format: pretty, level: warn }",
    "",
  ].join("\n");
}

export async function startRegistry(dir: string): Promise<Registry> {
  const storage = join(dir, "storage");
  mkdirSync(storage, { recursive: true });
  const config = join(dir, "verdaccio.yaml");
  writeFileSync(config, configYaml(storage));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules", "verdaccio", "bin", "verdaccio"),
      "--config",
      config,
      "--listen",
      `127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => (output += String(chunk)));
  child.stderr?.on("data", (chunk) => (output += String(chunk)));
  // A test that times out is ended with process.exit: the registry must not outlive it.
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.off("exit", onExit);
    await stopChild(child);
  };
  try {
    await waitUp(url, child, () => output);
    const token = await addUser(url);
    const npmrc = join(dir, ".npmrc");
    writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    return { url, token, npmrc, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited (${child.exitCode}):\n${output()}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`verdaccio did not start within 30 s:\n${output()}`);
}

async function addUser(url: string): Promise<string> {
  const name = "continuum-test";
  const response = await fetch(`${url}-/user/org.couchdb.user:${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password: "continuum-test-password", type: "user", roles: [] }),
  });
  const body = (await response.json()) as { token?: string };
  if (!body.token) throw new Error(`verdaccio refused the test user (${response.status}): ${JSON.stringify(body)}`);
  return body.token;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** `npm pack`s this repository (its prepack builds dist/) into `dir` and publishes the tarball to the registry. */
export function packAndPublish(
  registry: Registry,
  dir: string,
): { tarball: string; packMs: number; publishMs: number } {
  const npm = (args: string[], cwd: string) =>
    execFileSync("npm", args, {
      cwd,
      encoding: "utf8",
      env: { ...process.env, npm_config_userconfig: registry.npmrc, npm_config_update_notifier: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  let started = Date.now();
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], REPO_ROOT)) as { filename: string }[];
  const tarball = join(dir, packed[0]!.filename);
  const packMs = Date.now() - started;
  started = Date.now();
  npm(["publish", tarball, "--registry", registry.url], dir);
  return { tarball, packMs, publishMs: Date.now() - started };
}
