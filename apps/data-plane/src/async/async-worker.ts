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
import { ClaimLoop, JsonLogger, NOVA_CONFIG, NodeMembership, ThrottledLog, type NovaConfig } from '#server';
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
  private readonly results: BatchWriter<AttemptResult>;
  private readonly loop: ClaimLoop<ClaimedInvocation>;

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
    this.loop = new ClaimLoop({
      concurrency: config.instances.asyncConcurrency,
      claim: (room) => this.queue.claim(this.owner, room),
      run: async (invocation) => this.results.push(await this.attempt(invocation)),
      idOf: (invocation) => invocation.id,
      mayClaim: () => !this.membership?.draining,
      pollMs: POLL_MS,
      sweepEveryPolls: SWEEP_EVERY_POLLS,
      sweep: async () => {
        await this.queue.releaseLeasesOfDeadNodes();
        await this.queue.deadLetterExpired();
      },
      onError: (stage, error, invocation) => {
        if (stage === 'claim')
          this.pollFailures.write('warn', 'could not claim async invocations', { error: error.message });
        else if (stage === 'sweep') this.pollFailures.write('warn', 'lease sweep failed', { error: error.message });
        else this.logger.error('async attempt failed unexpectedly', { id: invocation?.id, error: error.stack });
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.instances.asyncConcurrency === 0) return;
    await this.listener.subscribe(notifyChannels.asyncInvocations, () => this.loop.wake());
    this.listener.onReconnect(() => this.loop.wake());
    this.loop.start();
  }

  /** Stops claiming, lets running attempts finish, writes their results. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.loop.stop();
    await this.results.close();
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
