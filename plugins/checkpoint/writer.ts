// One checkpoint writer per main session with a one-slot queue: a request while a writer runs replaces any
// pending one. A run is a background child session; it ends when its session goes idle (stored or not), on
// timeout, or after the first attempt and 3 retries. The host side is injected, so the state machine is testable without OpenCode.

export interface WriterHost {
  /** Creates the child session and sends the first prompt; resolves with the child id. Must not wait for the run. */
  start(mainSessionId: string, reason: string): Promise<{ childId: string; watermark: string | null }>;
  /** Asks the same child to try again, telling it what went wrong. */
  retry(childId: string, problem: string): Promise<void>;
  abort(childId: string): Promise<void>;
  onFailure(mainSessionId: string, reason: string): void;
  log(message: string): void;
}

export interface WriterJob {
  mainSessionId: string;
  childId: string;
  reason: string;
  watermark: string | null;
  attempts: number;
  startedAt: number;
  stored: boolean;
  lastProblem?: string;
  timer?: ReturnType<typeof setTimeout>;
}

export interface WriterStatus {
  state: "idle" | "running" | "starting";
  reason?: string;
  pending?: string;
  attempts?: number;
  runningForMs?: number;
}

/** The first attempt plus up to 3 retries. */
export const MAX_ATTEMPTS = 4;

export class WriterQueue {
  private readonly running = new Map<string, WriterJob>();
  private readonly starting = new Set<string>();
  private readonly pending = new Map<string, string>();
  private readonly byChild = new Map<string, WriterJob>();
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(
    private readonly host: WriterHost,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a writer now, or queues the request (replacing an older queued one) while one runs. */
  request(mainSessionId: string, reason: string): "started" | "queued" {
    if (this.running.has(mainSessionId) || this.starting.has(mainSessionId)) {
      this.pending.set(mainSessionId, reason);
      return "queued";
    }
    void this.launch(mainSessionId, reason);
    return "started";
  }

  jobOfChild(childId: string): WriterJob | undefined {
    return this.byChild.get(childId);
  }

  isWriterSession(childId: string): boolean {
    return this.byChild.has(childId);
  }

  status(mainSessionId: string): WriterStatus {
    const job = this.running.get(mainSessionId);
    const pending = this.pending.get(mainSessionId);
    if (job) return { state: "running", reason: job.reason, attempts: job.attempts, runningForMs: this.now() - job.startedAt, pending };
    if (this.starting.has(mainSessionId)) return { state: "starting", pending };
    return { state: "idle", pending };
  }

  /** The writer's tool stored a checkpoint: the run succeeded. */
  markStored(childId: string): void {
    const job = this.byChild.get(childId);
    if (job) job.stored = true;
  }

  markProblem(childId: string, problem: string): void {
    const job = this.byChild.get(childId);
    if (job) job.lastProblem = problem;
  }

  /** The child session went idle: finish, retry, or give up. */
  async onChildIdle(childId: string, failed: boolean): Promise<void> {
    const job = this.byChild.get(childId);
    if (!job || this.running.get(job.mainSessionId) !== job) return;
    if (job.stored) return this.finish(job, undefined);
    if (job.attempts >= MAX_ATTEMPTS) {
      return this.finish(job, `no valid checkpoint after ${job.attempts} attempts${job.lastProblem ? `: ${job.lastProblem}` : failed ? " (the writer's model call failed)" : " (checkpoint_write was not called)"}`);
    }
    job.attempts++;
    const problem = job.lastProblem
      ? `Your checkpoint_write call was rejected: ${job.lastProblem}. Fix that and call checkpoint_write again with every section.`
      : "You did not store the checkpoint. Call the checkpoint_write tool now, with every section.";
    try {
      await this.host.retry(childId, problem);
    } catch (error) {
      await this.finish(job, `retry failed: ${String(error)}`);
    }
  }

  /** Resolves when no writer runs for the session, or after maxWaitMs (returns false then). */
  async waitIdle(mainSessionId: string, maxWaitMs: number): Promise<boolean> {
    if (!this.running.has(mainSessionId) && !this.starting.has(mainSessionId)) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), maxWaitMs);
      const list = this.waiters.get(mainSessionId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.waiters.set(mainSessionId, list);
    });
  }

  private async launch(mainSessionId: string, reason: string): Promise<void> {
    this.starting.add(mainSessionId);
    let started: { childId: string; watermark: string | null };
    try {
      started = await this.host.start(mainSessionId, reason);
    } catch (error) {
      this.starting.delete(mainSessionId);
      this.host.onFailure(mainSessionId, `could not start the writer: ${error instanceof Error ? error.message : String(error)}`);
      this.next(mainSessionId);
      return;
    }
    this.starting.delete(mainSessionId);
    const job: WriterJob = { mainSessionId, childId: started.childId, reason, watermark: started.watermark, attempts: 1, startedAt: this.now(), stored: false };
    job.timer = setTimeout(() => void this.timeout(job), this.timeoutMs);
    (job.timer as { unref?: () => void }).unref?.();
    this.running.set(mainSessionId, job);
    this.byChild.set(job.childId, job);
  }

  private async timeout(job: WriterJob): Promise<void> {
    if (this.running.get(job.mainSessionId) !== job || job.stored) return;
    await this.host.abort(job.childId).catch(() => undefined);
    await this.finish(job, `timed out after ${Math.round(this.timeoutMs / 1000)} s`);
  }

  private async finish(job: WriterJob, failure: string | undefined): Promise<void> {
    clearTimeout(job.timer);
    if (this.running.get(job.mainSessionId) === job) this.running.delete(job.mainSessionId);
    if (failure) this.host.onFailure(job.mainSessionId, failure);
    else this.host.log(`checkpoint stored for ${job.mainSessionId} (${job.reason}, attempt ${job.attempts})`);
    this.next(job.mainSessionId);
  }

  private next(mainSessionId: string): void {
    const pending = this.pending.get(mainSessionId);
    if (pending !== undefined) {
      this.pending.delete(mainSessionId);
      void this.launch(mainSessionId, pending);
      return;
    }
    for (const wake of this.waiters.get(mainSessionId) ?? []) wake();
    this.waiters.delete(mainSessionId);
  }
}
