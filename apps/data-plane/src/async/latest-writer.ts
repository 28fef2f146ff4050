/**
 * Writes the latest of a stream of values at most every `everyMs`, and the
 * last one on flush: a handler that reports progress in a tight loop costs
 * a few UPDATEs, not one per report.
 */
export class LatestWriter<T> {
  private pending: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (value: T) => Promise<void>,
    private readonly everyMs: number,
  ) {}

  offer(value: T): void {
    this.pending = value;
    this.timer ??= setTimeout(() => void this.writeLatest(), this.everyMs);
  }

  /** Writes what is pending now; resolves once every write has settled (failures are dropped: it is advisory). */
  async flush(): Promise<void> {
    await this.writeLatest();
  }

  private async writeLatest(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const value = this.pending;
    this.pending = undefined;
    const previous = this.writing;
    this.writing = (async () => {
      await previous;
      if (value !== undefined) await this.write(value).catch(() => undefined);
    })();
    await this.writing;
  }
}
