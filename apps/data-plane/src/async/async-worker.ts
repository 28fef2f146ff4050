import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  AsyncQueueRepository,
  NotificationListener,
  notifyChannels,
  retryDelayMs,
  type AttemptResult,
  type ClaimedInvocation,
} from '#storage';
import { JsonLogger, NOVA_CONFIG, NodeMembership, ThrottledLog, runWithRequestId, type NovaConfig } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRunner, summarize, type RunResult } from '../invoke/invocation-runner.js';
import { BatchWriter } from '../invocations/batch-writer.js';
import { LatestWriter } from './latest-writer.js';
import { AsyncMetrics } from './async-metrics.js';

const POLL_MS = 250;
// Leases run out in seconds, not milliseconds: sweep for dead runners less often.
const SWEEP_EVERY_POLLS = 8;
const FLUSH_MS = 10;
const FLUSH_AT = 200;
/** Progress reports written per running attempt, at most. */
const PROGRESS_EVERY_MS = 250;

/**
 * Runs queued asynchronous invocations on this node: claims what it has room
 * for (at most NOVA_ASYNC_CONCURRENCY at once, so a burst cannot starve
 * synchronous calls), runs each attempt like a sync call, and writes results
 * back in batches. Woken by NOTIFY on enqueue, and by a short poll for
 * retries that came due and leases that ran out.
 */
@Injectable()
export class AsyncWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new JsonLogger('async');
  /** For failures that repeat every poll while the database is down. */
  private readonly pollFailures = new ThrottledLog(this.logger);
  /** Identifies this process's leases: its node id first, so a dead node's leases can be found. */
  private readonly owner: string;
  private running = 0;
  private claiming: Promise<void> | undefined;
  private wantMore = false;
  private stopped = false;
  private readonly results: BatchWriter<AttemptResult>;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly queue: AsyncQueueRepository,
    private readonly catalog: FunctionCatalog,
    private readonly runner: InvocationRunner,
    private readonly listener: NotificationListener,
    private readonly metrics: AsyncMetrics,
    @Optional() private readonly membership?: NodeMembership,
  ) {
    this.owner = `${config.cluster.nodeId}/${randomUUID().slice(0, 8)}`;
    this.results = new BatchWriter({
      write: async (batch) => {
        const written = await this.queue.complete(this.owner, batch);
        if (written < batch.length) {
          this.logger.warn('attempt results dropped: their lease had passed to another runner', {
            dropped: batch.length - written,
          });
        }
      },
      everyMs: FLUSH_MS,
      atSize: FLUSH_AT,
      maxBuffered: 100_000,
      what: 'attempt results',
    });
  }

  private get concurrency(): number {
    return this.config.instances.asyncConcurrency;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.concurrency === 0) return;
    await this.listener.subscribe(notifyChannels.asyncInvocations, () => this.wake());
    this.listener.onReconnect(() => this.wake());
    let polls = 0;
    this.pollTimer = setInterval(() => {
      this.wake();
      if (++polls % SWEEP_EVERY_POLLS !== 0) return;
      void this.queue
        .releaseLeasesOfDeadNodes()
        .then(() => this.queue.deadLetterExpired())
        .catch((error: Error) => this.pollFailures.write('warn', 'lease sweep failed', { error: error.message }));
    }, POLL_MS);
    this.pollTimer.unref();
    this.wake();
  }

  /** Stops claiming, lets running attempts finish, writes their results. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    await this.claiming;
    await Promise.all([...this.inFlight]);
    await this.results.close();
  }

  /** Claims more work when there is room; concurrent wakes share one claim. */
  wake(): void {
    if (this.stopped || this.concurrency === 0) return;
    if (this.claiming) {
      this.wantMore = true;
      return;
    }
    this.claiming = this.claimLoop().finally(() => {
      this.claiming = undefined;
    });
  }

  private async claimLoop(): Promise<void> {
    do {
      this.wantMore = false;
      const room = this.concurrency - this.running;
      // A drained node finishes what it has and takes nothing new.
      if (room <= 0 || this.stopped || this.membership?.draining) return;
      let claimed: ClaimedInvocation[];
      try {
        claimed = await this.queue.claim(this.owner, room);
      } catch (error) {
        this.pollFailures.write('warn', 'could not claim async invocations', { error: (error as Error).message });
        return;
      }
      for (const invocation of claimed) this.start(invocation);
      // A full batch suggests more is waiting.
      if (claimed.length === room) this.wantMore = true;
    } while (this.wantMore);
  }

  private start(invocation: ClaimedInvocation): void {
    this.running += 1;
    // An attempt's log lines carry its invocation id, as a call's carry its request id.
    const done = runWithRequestId(invocation.id, () => this.attempt(invocation))
      .then((result) => this.results.push(result))
      .catch((error: Error) =>
        this.logger.error('async attempt failed unexpectedly', { id: invocation.id, error: error.stack }),
      )
      .finally(() => {
        this.running -= 1;
        this.inFlight.delete(done);
        this.wake();
      });
    this.inFlight.add(done);
  }

  private async attempt(invocation: ClaimedInvocation): Promise<AttemptResult> {
    const startedAt = new Date();
    const latest = await this.catalog.get(invocation.functionName);
    if (!latest) {
      // Retrying cannot help a function that no longer exists.
      return this.result(invocation, startedAt, 0, false, 'dead_letter', {
        error: `FunctionNotFound: function "${invocation.functionName}" no longer exists`,
      });
    }
    const record =
      invocation.pinnedVersion === undefined
        ? latest
        : await this.catalog.resolve(invocation.functionName, invocation.pinnedVersion);
    const progress = new LatestWriter<string>(
      (text) => this.queue.setProgress(this.owner, invocation.id, text),
      PROGRESS_EVERY_MS,
    );
    const run = await this.runner.run(record, {
      requestId: invocation.id,
      payload: invocation.payload,
      metadata: { attempt: String(invocation.attempt) },
      ...(invocation.traceparent ? { traceparent: invocation.traceparent } : {}),
      deadline: Date.now() + record.timeoutS * 1000,
      onProgress: (text) => progress.offer(text),
    });
    // Before the result: once the attempt is written, its progress no longer applies.
    await progress.flush();
    return this.fromRun(invocation, run);
  }

  private fromRun(invocation: ClaimedInvocation, run: RunResult): AttemptResult {
    const { error, output, coldStart, log } = summarize(run);
    if (error === '') {
      return this.result(invocation, run.startedAt, run.durationMs, coldStart, 'succeeded', {
        output,
        log,
        version: run.version,
      });
    }
    if (invocation.attempt >= invocation.maxAttempts) {
      return this.result(invocation, run.startedAt, run.durationMs, coldStart, 'dead_letter', {
        error,
        log,
        version: run.version,
      });
    }
    const delay = retryDelayMs(invocation.attempt, invocation.backoffBaseMs, invocation.backoffMaxMs);
    return this.result(invocation, run.startedAt, run.durationMs, coldStart, 'failed', {
      error,
      log,
      version: run.version,
      nextRunAt: new Date(Date.now() + delay),
    });
  }

  private result(
    invocation: ClaimedInvocation,
    startedAt: Date,
    durationMs: number,
    coldStart: boolean,
    status: AttemptResult['status'],
    rest: { output?: Buffer; error?: string; log?: string; version?: number; nextRunAt?: Date },
  ): AttemptResult {
    this.metrics.attempted(invocation.functionName, status);
    return {
      id: invocation.id,
      attempt: invocation.attempt,
      status,
      version: rest.version ?? 0,
      output: rest.output ?? Buffer.alloc(0),
      error: rest.error ?? '',
      log: rest.log ?? '',
      durationMs,
      coldStart,
      startedAt,
      nextRunAt: rest.nextRunAt,
    };
  }
}
