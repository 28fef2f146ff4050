import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { NovaMetrics, type CounterSeries, type HistogramSeries, type MetricFamily } from '#server';
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
  private readonly count: MetricFamily<CounterSeries>;
  private readonly duration: MetricFamily<HistogramSeries>;

  constructor(metrics: NovaMetrics, pools: InstancePoolService) {
    this.count = metrics.counter(
      'nova_invocations_total',
      'Function invocations (every attempt: sync, stream, async, workflow step), by function, outcome and cold start',
      ['function', 'outcome', 'cold_start'],
    );
    this.duration = metrics.histogram(
      'nova_invocation_duration_seconds',
      'Time from asking for an instance to the answer, by function and outcome',
      ['function', 'outcome'],
    );
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
    const outcome = outcomeOf(run);
    this.count.of(functionName, outcome, cold ? 'true' : 'false').inc();
    this.duration.of(functionName, outcome).observe(run.durationMs / 1000);
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
