import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DURATION_BUCKETS, NovaMetrics, SeriesCache } from '#server';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import type { RunResult } from './invocation-runner.js';

/** How an attempt ended, as a label: the outcome's kind, or why it never ran. */
export function outcomeOf(run: RunResult): string {
  return run.kind === 'outcome' ? run.outcome.kind : run.kind;
}

/**
 * Invocations by function, outcome (ok, function_error, crashed, timeout,
 * memory, output_too_large, load_failure, rejected) and cold start, with
 * their durations; and, read when scraped, each function's instances
 * (idle, busy, starting) and the calls waiting for one.
 */
@Injectable()
export class InvocationMetrics {
  private readonly series: SeriesCache<{ count: Counter.Internal; duration: Histogram.Internal<string> }>;

  constructor(metrics: NovaMetrics, pools: InstancePoolService) {
    const count = new Counter({
      name: 'nova_invocations_total',
      help: 'Function invocations (every attempt: sync, stream, async, workflow step), by function, outcome and cold start',
      labelNames: ['function', 'outcome', 'cold_start'],
      registers: [metrics.registry],
    });
    const duration = new Histogram({
      name: 'nova_invocation_duration_seconds',
      help: 'Time from asking for an instance to the answer, by function and outcome',
      labelNames: ['function', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers: [metrics.registry],
    });
    this.series = new SeriesCache(([fn, outcome, cold]) => ({
      count: count.labels(fn!, outcome!, cold!),
      duration: duration.labels(fn!, outcome!),
    }));
    new Gauge({
      name: 'nova_instances',
      help: 'Function instances on this node, by function and state (idle: warm and free; busy; starting)',
      labelNames: ['function', 'state'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const [fn, counts] of countsByFunction(pools)) {
          this.set({ function: fn, state: 'idle' }, counts.idle);
          this.set({ function: fn, state: 'busy' }, counts.busy);
          this.set({ function: fn, state: 'starting' }, counts.starting);
        }
      },
    });
    new Gauge({
      name: 'nova_waiting_calls',
      help: 'Calls waiting for an instance of the function (the queue NOVA_QUEUE_LIMIT bounds)',
      labelNames: ['function'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const [fn, counts] of countsByFunction(pools)) this.set({ function: fn }, counts.queued);
      },
    });
  }

  finished(functionName: string, run: RunResult): void {
    const cold = run.kind === 'outcome' ? run.coldStart : run.kind === 'load_failure';
    const series = this.series.get(functionName, outcomeOf(run), cold ? 'true' : 'false');
    series.count.inc();
    series.duration.observe(run.durationMs / 1000);
  }
}

/** A function's pools (one per version in use) summed. */
function countsByFunction(
  pools: InstancePoolService,
): Map<string, { idle: number; busy: number; starting: number; queued: number }> {
  const byName = new Map<string, { idle: number; busy: number; starting: number; queued: number }>();
  for (const pool of pools.all()) {
    const counts = pool.counts();
    const sum = byName.get(pool.name) ?? { idle: 0, busy: 0, starting: 0, queued: 0 };
    sum.idle += counts.idle;
    sum.busy += counts.busy;
    sum.starting += counts.starting;
    sum.queued += counts.queued;
    byName.set(pool.name, sum);
  }
  return byName;
}
