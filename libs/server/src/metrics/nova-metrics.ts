import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from a warm call's fraction of a millisecond to a long function's minutes. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/**
 * The process's Prometheus registry, served on NOVA_METRICS_ADDR
 * (metrics-server.ts). The gRPC call metrics live here because every plane
 * has them; each feature defines its own metrics on `registry` (invocations,
 * state, forwarding), with labels that stay bounded: methods, codes,
 * function and node names, never request ids.
 */
export class NovaMetrics {
  readonly registry = new Registry();
  private readonly heartbeatSources: (() => Iterable<[node: string, ageS: number]>)[] = [];
  private readonly callObservers: { prefix: string; observe: (method: string, seconds: number) => void }[] = [];
  private readonly calls: MetricFamily<CounterSeries>;
  private readonly callDurations: MetricFamily<HistogramSeries>;

  constructor(plane: string) {
    this.registry.setDefaultLabels({ plane });
    collectDefaultMetrics({ register: this.registry, prefix: 'nova_' });
    this.calls = this.counter('nova_grpc_calls_total', 'gRPC calls served, by method and status code', [
      'method',
      'code',
    ]);
    this.callDurations = this.histogram(
      'nova_grpc_call_duration_seconds',
      'Time from a call’s headers to its status, by method',
      ['method'],
    );
    const heartbeatSources = this.heartbeatSources;
    new Gauge({
      name: 'nova_node_heartbeat_age_seconds',
      help: 'Seconds since the last heartbeat of each node known here: a node’s own last one the database took, or the last one a router heard (dead after three intervals)',
      labelNames: ['node'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of heartbeatSources) for (const [node, age] of source()) this.set({ node }, age);
      },
    });
  }

  /** A counter on this registry, its series by label values in the order of `labelNames`. */
  counter(name: string, help: string, labelNames: string[]): MetricFamily<CounterSeries> {
    return this.family(new MetricFamily(name, help, 'counter', labelNames, () => new CounterSeries()));
  }

  /** A histogram of seconds (DURATION_BUCKETS) on this registry, its series by label values. */
  histogram(name: string, help: string, labelNames: string[]): MetricFamily<HistogramSeries> {
    return this.family(new MetricFamily(name, help, 'histogram', labelNames, () => new HistogramSeries()));
  }

  private family<T extends CounterSeries | HistogramSeries>(family: MetricFamily<T>): MetricFamily<T> {
    // prom-client reads any object with a name, help, type and getForPromString().
    this.registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
    return family;
  }

  /** One finished call; the method is a path of a served service (grpc-js sees only those), so labels stay bounded. */
  grpcCall(method: string, code: string, seconds: number): void {
    this.calls.of(method, code).inc();
    this.callDurations.of(method).observe(seconds);
    for (const observer of this.callObservers) {
      if (method.startsWith(observer.prefix)) observer.observe(method.slice(observer.prefix.length), seconds);
    }
  }

  /** Calls of one service (`/pkg.Service/`) also go to `observe`, by method name: a feature's own RPC metrics. */
  observeCalls(prefix: string, observe: (method: string, seconds: number) => void): void {
    this.callObservers.push({ prefix, observe });
  }

  /** Where nova_node_heartbeat_age_seconds reads ages from (a node's membership, a router's directory). */
  heartbeatAges(source: () => Iterable<[node: string, ageS: number]>): void {
    this.heartbeatSources.push(source);
  }

  /** The text format Prometheus scrapes. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A counter's series: a number, raised on the call path with nothing else to do. */
export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

/** A histogram's series over DURATION_BUCKETS: a count per bucket, the sum and the count. */
export class HistogramSeries {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    this.counts[bucket]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric's series by label values, each made once and then updated in
 * place: prom-client's own children validate and hash their labels on every
 * inc()/observe(), which a warm call would pay for each metric it counts.
 * The family is a metric of the registry (prom-client reads it through
 * getForPromString() when Prometheus scrapes), so the text format and the
 * registry's default labels are prom-client's.
 */
export class MetricFamily<T extends CounterSeries | HistogramSeries> {
  private readonly series = new Map<string, { labels: Record<string, string>; series: T }>();
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    private readonly make: () => T,
  ) {}

  /** The series of these label values, in the order of the label names. */
  of(...values: string[]): T {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let entry = this.series.get(key);
    if (entry === undefined) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i] ?? '']));
      entry = { labels, series: this.make() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  getForPromString(): { name: string; help: string; type: string; values: ExportedValue[]; aggregator: string } {
    const values: ExportedValue[] = [];
    for (const { labels, series } of this.series.values()) {
      if (series instanceof CounterSeries) {
        values.push({ labels, value: series.value });
        continue;
      }
      let cumulative = 0;
      for (let bucket = 0; bucket <= DURATION_BUCKETS.length; bucket++) {
        cumulative += series.counts[bucket]!;
        const le = bucket < DURATION_BUCKETS.length ? DURATION_BUCKETS[bucket]! : '+Inf';
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The registry's resetMetrics() calls this. */
  reset(): void {
    this.series.clear();
  }
}
