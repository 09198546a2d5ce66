// How the pack speaks to the user and the log: every message goes to OpenCode's log (client.app.log);
// problems are also shown once per kind as a toast, so a failing hook cannot flood the screen.

export type Level = "debug" | "info" | "warn" | "error";
export type ToastVariant = "info" | "success" | "warning" | "error";

/** The two host calls the reporter needs; the SDK client satisfies it, tests pass a recorder. */
export interface ReportSink {
  log(entry: { level: Level; message: string; extra?: Record<string, unknown> }): Promise<unknown> | unknown;
  toast(toast: { message: string; variant: ToastVariant; title?: string }): Promise<unknown> | unknown;
}

export interface Reporter {
  log(level: Level, message: string, extra?: Record<string, unknown>): void;
  /** Shows a toast (always) and logs it. */
  notify(message: string, variant?: ToastVariant): void;
  /** Logs every time, toasts only the first time for this key in this process. */
  problem(key: string, message: string, extra?: Record<string, unknown>): void;
  child(scope: string): Reporter;
}

export const SERVICE = "opencode-continuum";

export function createReporter(sink: ReportSink, scope = "", seen = new Set<string>()): Reporter {
  const prefix = scope ? `[${scope}] ` : "";
  const swallow = (promise: unknown) => {
    // Logging must never become the failure: a broken sink is ignored.
    if (promise && typeof (promise as Promise<unknown>).catch === "function")
      (promise as Promise<unknown>).catch(() => {});
  };
  const log = (level: Level, message: string, extra?: Record<string, unknown>) => {
    try {
      swallow(sink.log({ level, message: prefix + message, extra }));
    } catch {
      /* ignored: see swallow */
    }
  };
  const toast = (message: string, variant: ToastVariant) => {
    try {
      swallow(sink.toast({ message: prefix + message, variant, title: "continuum" }));
    } catch {
      /* ignored */
    }
  };
  return {
    log,
    notify(message, variant = "info") {
      log(variant === "error" ? "error" : variant === "warning" ? "warn" : "info", message);
      toast(message, variant);
    },
    problem(key, message, extra) {
      log("error", message, extra);
      if (seen.has(key)) return;
      seen.add(key);
      toast(message, "error");
    },
    child: (childScope) => createReporter(sink, scope ? `${scope}/${childScope}` : childScope, seen),
  };
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === "string" ? error : JSON.stringify(error);
}
