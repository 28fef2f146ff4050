import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { AsyncQueueRepository, type AttemptResult } from '#storage';
import { NovaMetrics, type CounterSeries, type MetricFamily } from '#server';

/**
 * The durable queue: attempts this node ran, by function and result
 * (succeeded, failed and to be retried, dead_letter), and, read from the
 * database when scraped, how many invocations wait and run cluster-wide.
 */
@Injectable()
export class AsyncMetrics {
  private readonly attempts: MetricFamily<CounterSeries>;

  constructor(metrics: NovaMetrics, queue: AsyncQueueRepository) {
    this.attempts = metrics.counter(
      'nova_async_attempts_total',
      'Asynchronous invocation attempts run on this node, by function and result',
      ['function', 'result'],
    );
    new Gauge({
      name: 'nova_async_queue_depth',
      help: 'Asynchronous invocations in the queue (the whole cluster’s), by state: queued, retrying, running',
      labelNames: ['state'],
      registers: [metrics.registry],
      async collect() {
        // Without the database the last figures stay: a scrape must not fail for one gauge.
        const depth = await queue.depth().catch(() => undefined);
        if (!depth) return;
        this.set({ state: 'queued' }, depth.queued);
        this.set({ state: 'retrying' }, depth.retrying);
        this.set({ state: 'running' }, depth.running);
      },
    });
  }

  attempted(functionName: string, status: AttemptResult['status']): void {
    this.attempts.of(functionName, status).inc();
  }
}
