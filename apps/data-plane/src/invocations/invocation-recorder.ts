import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { InvocationsRepository, type InvocationRecord } from '#storage';
import { JsonLogger } from '#server';
import { BatchWriter } from './batch-writer.js';

/**
 * Writes invocation records off the hot path: the call only appends to a
 * buffer, and one multi-row INSERT every 200 ms (or every 500 records)
 * writes them. What is buffered at shutdown is written before the database
 * closes.
 */
@Injectable()
export class InvocationRecorder implements OnApplicationShutdown {
  private readonly logger = new JsonLogger('invocations');
  private readonly writer: BatchWriter<InvocationRecord>;

  constructor(invocations: InvocationsRepository) {
    this.writer = new BatchWriter({
      write: async (batch) => {
        const written = await invocations.insertBatch(batch);
        if (written < batch.length) {
          this.logger.warn('invocation ids reused by clients; those records were kept once', {
            skipped: batch.length - written,
          });
        }
      },
      everyMs: 200,
      atSize: 500,
      // While the database is unreachable, keep at most this many unwritten records.
      maxBuffered: 100_000,
      what: 'invocation records',
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writer.close();
  }

  record(record: InvocationRecord): void {
    this.writer.push(record);
  }

  /** Writes everything recorded so far, so that a read sees it. */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}
