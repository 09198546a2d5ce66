// The one set-up skeleton of the end-to-end tests: a scripted model, an isolated environment with its project,
// the pack installed as install.sh does, an `opencode serve` when the test asks for one; the test gets the
// handles, and everything is torn down afterwards whether the test passed or threw.
import { createIsolatedEnv, type EnvOptions, type IsolatedEnv } from "./env.ts";
import { installPack, type InstallOptions } from "./install.ts";
import { opencodeServe, type Served, type ServeOptions } from "./opencode.ts";
import { startScriptedModel, type ModelScript, type ScriptedModel } from "./scripted-model.ts";

/** Where the environment points when a test runs no model: a closed port, so a stray call fails fast. */
export const NO_MODEL_URL = "http://127.0.0.1:9/v1";

export type EnvSetup = Omit<EnvOptions, "baseURL">;

export interface OpencodeOptions {
  /** The scripted model's script (default: an empty one); false runs none and points OpenCode at a closed port. */
  model?: ModelScript | false;
  /** The environment's options, or a function of the model's base URL (a provider of the test's own). */
  env?: EnvSetup | ((baseURL: string) => EnvSetup);
  /** Install the pack into the project before the test (default: yes, project scope, no doctor). */
  install?: boolean | InstallOptions;
  /** Start `opencode serve` in the project before the test (default: no); options may depend on the env. */
  serve?: boolean | ServeOptions | ((env: IsolatedEnv) => ServeOptions);
}

export interface Opencode {
  env: IsolatedEnv;
  /** The scripted model; throws when the test asked for none. */
  model: ScriptedModel;
  /** The server started by `serve`; throws when the test asked for none. */
  served: Served;
  /** Starts another `opencode serve` (a restart, another cwd); stopped at the end like the first. */
  serve(options?: ServeOptions): Promise<Served>;
  /** Runs `fn` at tear-down, before the servers stop (last registered first): restore a mode bit, say. */
  defer(fn: () => unknown): void;
}

export async function withOpencode<T>(
  options: OpencodeOptions,
  fn: (opencode: Opencode) => Promise<T> | T,
): Promise<T> {
  const deferred: (() => unknown)[] = [];
  const servers: Served[] = [];
  let model: ScriptedModel | undefined;
  let env: IsolatedEnv | undefined;
  let failed = false;
  try {
    if (options.model !== false) model = await startScriptedModel(options.model ?? {});
    const baseURL = model?.baseURL ?? NO_MODEL_URL;
    const setup = typeof options.env === "function" ? options.env(baseURL) : (options.env ?? {});
    const created = createIsolatedEnv({ baseURL, ...setup });
    env = created;
    if (options.install !== false) installPack(created, options.install === true ? {} : (options.install ?? {}));
    const serve = async (serveOptions?: ServeOptions) => {
      const served = await opencodeServe(created, serveOptions);
      servers.push(served);
      return served;
    };
    const serveOptions = typeof options.serve === "function" ? options.serve(created) : options.serve;
    const first = serveOptions ? await serve(serveOptions === true ? undefined : serveOptions) : undefined;
    return await fn({
      env: created,
      get model() {
        if (!model) throw new Error("withOpencode: this test runs no scripted model (model: false)");
        return model;
      },
      get served() {
        if (!first) throw new Error("withOpencode: no server was asked for (serve: true)");
        return first;
      },
      serve,
      defer: (f) => void deferred.push(f),
    });
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A failing test reports its own error; a tear-down error is reported only when the test passed.
    const problem = await tearDown(deferred, servers, model, env);
    // oxlint-disable-next-line no-unsafe-finally -- the tear-down error must fail a test that passed
    if (problem && !failed) throw problem.error;
  }
}

/** Every step runs even when one before it throws; the first error is returned once all are done. */
async function tearDown(
  deferred: (() => unknown)[],
  servers: Served[],
  model?: ScriptedModel,
  env?: IsolatedEnv,
): Promise<{ error: unknown } | undefined> {
  const steps: (() => unknown)[] = [
    ...deferred.reverse(),
    ...servers.reverse().map((s) => () => s.stop()),
    () => model?.close(),
    () => env?.cleanup(),
  ];
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  return errors.length ? { error: errors[0] } : undefined;
}
