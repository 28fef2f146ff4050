import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InvocationsRepository, type InvocationRecord } from '#storage';
import { JsonLogger } from '#server';

const FLUSH_EVERY_MS = 200;
const FLUSH_AT_RECORDS = 500;
// While the database is unreachable, keep at most this many unwritten records.
const MAX_BUFFERED = 100_000;

/**
 * Writes invocation records off the hot path: the call only appends to a
 * buffer, and one multi-row INSERT every 200 ms (or every 500 records)
 * writes them. What is buffered at shutdown is written before the database
 * closes.
 */
@Injectable()
export class InvocationRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new JsonLogger('invocations');
  private buffer: InvocationRecord[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly invocations: InvocationsRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(record: InvocationRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= FLUSH_AT_RECORDS) void this.flush();
  }

  /** Writes everything recorded so far; concurrent callers share one write. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.invocations
      .insertBatch(batch)
      .then((written) => {
        if (written < batch.length) {
          this.logger.warn('invocation ids reused by clients; those records were kept once', {
            skipped: batch.length - written,
          });
        }
      })
      .catch((error: Error) => {
        this.buffer = [...batch, ...this.buffer].slice(-MAX_BUFFERED);
        this.logger.error('could not write invocation records; will retry', {
          error: error.message,
          pending: this.buffer.length,
        });
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }
}
