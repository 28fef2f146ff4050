import { runWithRequestId } from './logging/request-context.js';

export interface ClaimLoopOptions<T> {
  /** Items run at once, at most; 0: the loop claims nothing. */
  concurrency: number;
  /** Leases up to `room` runnable items to this process. */
  claim(room: number): Promise<T[]>;
  /** Runs one claimed item to its end. */
  run(item: T): Promise<void>;
  /** The id an item's log lines carry, as a call's carry its request id. */
  idOf(item: T): string;
  /** False while this node takes no new work (drained): it finishes what it has. */
  mayClaim(): boolean;
  /** Wakes the loop this often, for what no NOTIFY announces (retries come due, leases run out). */
  pollMs: number;
  /** Every this many polls, `sweep` runs (leases of dead nodes, say). */
  sweepEveryPolls: number;
  sweep(): Promise<void>;
  /** A claim or a sweep failed (each poll repeats it while the database is down), or a run threw. */
  onError(stage: 'claim' | 'sweep' | 'run', error: Error, item?: T): void;
}

/**
 * The loop of a worker over a queue in PostgreSQL (async invocations,
 * workflows): claims while it has room, every wake sharing the one claim in
 * flight; counts an item as running from the moment it is claimed, so a
 * claim that follows at once never takes more than the room left; wakes
 * again when an item ends; polls. stop() claims nothing more and waits for
 * the claim in flight and every running item.
 */
export class ClaimLoop<T> {
  private running = 0;
  private claiming: Promise<void> | undefined;
  private wantMore = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: ClaimLoopOptions<T>) {}

  /** Starts polling and claims at once. */
  start(): void {
    let polls = 0;
    this.pollTimer = setInterval(() => {
      this.wake();
      if (++polls % this.options.sweepEveryPolls !== 0) return;
      this.options.sweep().catch((error: Error) => this.options.onError('sweep', error));
    }, this.options.pollMs);
    this.pollTimer.unref();
    this.wake();
  }

  get stopping(): boolean {
    return this.stopped;
  }

  /** Claims more work when there is room; concurrent wakes share one claim. */
  wake(): void {
    if (this.stopped || this.options.concurrency === 0) return;
    if (this.claiming) {
      this.wantMore = true;
      return;
    }
    this.claiming = this.claimWhileRoom().finally(() => {
      this.claiming = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    await this.claiming;
    await Promise.all([...this.inFlight]);
  }

  private async claimWhileRoom(): Promise<void> {
    do {
      this.wantMore = false;
      const room = this.options.concurrency - this.running;
      if (room <= 0 || this.stopped || !this.options.mayClaim()) return;
      let claimed: T[];
      try {
        claimed = await this.options.claim(room);
      } catch (error) {
        this.options.onError('claim', error as Error);
        return;
      }
      for (const item of claimed) this.begin(item);
      // A full batch suggests more is waiting.
      if (claimed.length === room) this.wantMore = true;
    } while (this.wantMore);
  }

  private begin(item: T): void {
    this.running += 1;
    const done = runWithRequestId(this.options.idOf(item), () => this.options.run(item))
      .catch((error: Error) => this.options.onError('run', error, item))
      .finally(() => {
        this.running -= 1;
        this.inFlight.delete(done);
        this.wake();
      });
    this.inFlight.add(done);
  }
}
