import { JsonLogger, ThrottledLog, runDetached } from '#server';

export interface BatchWriterOptions<T> {
  /** Writes one batch; a rejection keeps the batch for the next try. */
  write: (batch: T[]) => Promise<void>;
  /** Write at most this long after the first item of a batch arrives. */
  everyMs: number;
  /** Write at once when this many items wait. */
  atSize: number;
  /** While writes fail, keep at most this many items (the newest). */
  maxBuffered: number;
  /** What the log says when a write fails. */
  what: string;
}

/**
 * Collects items off the hot path and writes them in batches: one write at
 * a time, each taking everything collected so far; a failed batch is kept
 * and tried again.
 */
export class BatchWriter<T> {
  private readonly logger = new ThrottledLog(new JsonLogger('batch-writer'));
  private buffer: T[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatchWriterOptions<T>) {}

  push(item: T): void {
    this.buffer.push(item);
    // A batch belongs to no one call: its write must not log the id of the call that happened to fill it.
    if (this.buffer.length >= this.options.atSize) runDetached(() => void this.flush());
    else this.timer ??= runDetached(() => setTimeout(() => void this.flush(), this.options.everyMs));
  }

  /** Writes everything pushed so far; concurrent callers share the writes. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.options
      .write(batch)
      .catch((error: Error) => {
        this.buffer = [...batch, ...this.buffer].slice(-this.options.maxBuffered);
        this.logger.write('error', `could not write ${this.options.what}; will retry`, {
          error: error.message,
          pending: this.buffer.length,
        });
        this.timer ??= setTimeout(() => void this.flush(), 1000);
      })
      .finally(() => {
        this.writing = undefined;
      });
    await this.writing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    clearTimeout(this.timer);
  }
}
