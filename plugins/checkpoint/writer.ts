// One checkpoint writer per main session with a one-slot queue: a request while a writer runs replaces any
// pending one. What a run does (a helper agent through the runner) and where a session's job is kept (the
// feature passes the session's slot, so it goes with the session) are injected: the queue is testable alone.

export interface WriterStatus {
  state: "idle" | "running";
  reason?: string;
  pending?: string;
  runningForMs?: number;
  /** Attempts of the running writer so far (filled from the helper runner). */
  attempts?: number;
}

export interface WriterJob {
  reason: string;
  startedAt: number;
  pending?: string;
  waiters: (() => void)[];
}

/** Where the running job of a session is kept. */
export interface WriterJobs {
  get(sessionId: string): WriterJob | undefined;
  set(sessionId: string, job: WriterJob): void;
  delete(sessionId: string): void;
}

export class WriterQueue {
  constructor(
    private readonly runWriter: (mainSessionId: string, reason: string) => Promise<void>,
    private readonly now: () => number = Date.now,
    private readonly jobs: WriterJobs = new Map<string, WriterJob>(),
  ) {}

  /** Starts a writer now, or queues the request (replacing an older queued one) while one runs. */
  request(mainSessionId: string, reason: string): "started" | "queued" {
    const job = this.jobs.get(mainSessionId);
    if (job) {
      job.pending = reason;
      return "queued";
    }
    void this.launch(mainSessionId, reason, []);
    return "started";
  }

  status(mainSessionId: string): WriterStatus {
    const job = this.jobs.get(mainSessionId);
    if (!job) return { state: "idle" };
    return { state: "running", reason: job.reason, pending: job.pending, runningForMs: this.now() - job.startedAt };
  }

  /** Resolves when no writer runs for the session, or after maxWaitMs (false then). */
  async waitIdle(mainSessionId: string, maxWaitMs: number): Promise<boolean> {
    const job = this.jobs.get(mainSessionId);
    if (!job) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), maxWaitMs);
      job.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async launch(mainSessionId: string, reason: string, waiters: (() => void)[]): Promise<void> {
    const job: WriterJob = { reason, startedAt: this.now(), waiters };
    this.jobs.set(mainSessionId, job);
    try {
      await this.runWriter(mainSessionId, reason);
    } catch {
      /* the run reports its own failures */
    }
    this.jobs.delete(mainSessionId);
    if (job.pending !== undefined) return this.launch(mainSessionId, job.pending, job.waiters);
    for (const wake of job.waiters) wake();
  }
}
