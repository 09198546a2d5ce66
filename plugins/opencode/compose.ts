// Composes the feature modules' hooks into the one hook set OpenCode sees. Every call is isolated: an
// exception or a hang inside a feature is logged, shown once, and OpenCode carries on as if the hook were absent.
import type { Hooks } from "@opencode-ai/plugin";
import { errorText, type Reporter } from "../core/report.ts";
import { RefuseToolCall, ToolInputError } from "../core/tool.ts";

export interface FeatureHooks {
  name: string;
  hooks: Hooks;
  /** Per-hook time limits that replace the common one (a hook meant to run long). */
  timeouts?: Partial<Record<string, number>>;
}

export interface ComposeOptions {
  reporter: Reporter;
  timeoutMs: number;
  /** Called once per hook name the first time OpenCode invokes it, with its arguments (the doctor's proof that
   * hooks fire, and the check of their shape). */
  onFirstCall?: (hook: string, input: unknown, output: unknown) => void;
}

type AnyHandler = (input: unknown, output?: unknown) => Promise<void>;
const NON_HANDLER_KEYS = new Set(["tool", "auth", "provider", "dispose"]);

export function composeHooks(features: FeatureHooks[], options: ComposeOptions): Hooks {
  const composed: Record<string, unknown> = {};
  const called = new Set<string>();
  const markCalled = (hook: string, input?: unknown, output?: unknown) => {
    if (called.has(hook) || !options.onFirstCall) return;
    called.add(hook);
    safely(() => options.onFirstCall!(hook, input, output));
  };

  for (const hookName of handlerNames(features)) {
    const handlers = features.flatMap((feature) => {
      const handler = (feature.hooks as Record<string, unknown>)[hookName];
      return typeof handler === "function"
        ? [{ feature: feature.name, handler: handler as AnyHandler, timeoutMs: feature.timeouts?.[hookName] }]
        : [];
    });
    composed[hookName] = async (input: unknown, output?: unknown) => {
      markCalled(hookName, input, output);
      for (const { feature, handler, timeoutMs } of handlers) {
        await runIsolated(
          `${feature}:${hookName}`,
          () => handler(input, output),
          timeoutMs ? { ...options, timeoutMs } : options,
        );
      }
    };
  }

  const tools = composeTools(features, options, markCalled);
  if (Object.keys(tools).length > 0) composed.tool = tools;
  composed.dispose = async () => {
    for (const feature of features) {
      if (feature.hooks.dispose) await runIsolated(`${feature.name}:dispose`, () => feature.hooks.dispose!(), options);
    }
  };
  return composed as Hooks;
}

function handlerNames(features: FeatureHooks[]): string[] {
  const names = new Set<string>();
  for (const feature of features) {
    for (const [key, value] of Object.entries(feature.hooks)) {
      if (!NON_HANDLER_KEYS.has(key) && typeof value === "function") names.add(key);
    }
  }
  return [...names];
}

function composeTools(
  features: FeatureHooks[],
  options: ComposeOptions,
  markCalled: (hook: string, input: unknown, output: unknown) => void,
) {
  const tools: NonNullable<Hooks["tool"]> = {};
  for (const feature of features) {
    for (const [name, definition] of Object.entries(feature.hooks.tool ?? {})) {
      if (tools[name]) {
        options.reporter.problem(`tool-clash:${name}`, `two features define the tool ${name}; keeping the first`);
        continue;
      }
      const execute = definition.execute.bind(definition);
      tools[name] = {
        ...definition,
        execute: async (args, context) => {
          markCalled(`tool:${name}`, args, context);
          try {
            return await execute(args, context);
          } catch (error) {
            if (error instanceof ToolInputError) throw error;
            options.reporter.problem(`${feature.name}:tool:${name}`, `tool ${name} failed: ${errorText(error)}`);
            throw new Error(`${name} failed inside opencode-continuum: ${errorText(error)}`);
          }
        },
      };
    }
  }
  return tools;
}

/** Runs one feature's handler; swallows (after reporting) everything but an intentional tool refusal. */
export async function runIsolated(
  key: string,
  run: () => Promise<unknown> | unknown,
  options: ComposeOptions,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), options.timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(run), timeout]);
    if (outcome === "timeout") {
      options.reporter.problem(
        `${key}:timeout`,
        `${key} took longer than ${options.timeoutMs} ms; the session continues without it`,
      );
    }
  } catch (error) {
    if (error instanceof RefuseToolCall) throw error;
    options.reporter.problem(key, `${key} failed: ${errorText(error)}`, {
      stack: error instanceof Error ? error.stack : undefined,
    });
  } finally {
    clearTimeout(timer);
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    /* diagnostics must never fail a hook */
  }
}
